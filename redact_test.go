package trellis

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// Secret link paths are redacted in records, in attributes bound with
// With, and inside groups; other paths and attributes pass unchanged.
func TestRedactedPaths(t *testing.T) {
	var buf bytes.Buffer
	l := withRedactedPaths(slog.New(slog.NewTextHandler(&buf, nil)), []string{"/password/reset/"})
	l.Info("request", "path", "/password/reset/SECRET1", "status", 303)
	l.With("path", "/password/reset/SECRET2").Info("bound")
	l.WithGroup("g").Info("grouped", "path", "/password/reset/SECRET3")
	l.Info("plain", "path", "/password/reset", "other", "/password/reset/kept-not-a-path-attr")
	out := buf.String()
	for _, s := range []string{"SECRET1", "SECRET2", "SECRET3"} {
		if strings.Contains(out, s) {
			t.Errorf("%s leaked:\n%s", s, out)
		}
	}
	for _, want := range []string{"path=/password/reset/[redacted] status=303", "path=/password/reset other=", "g.path=/password/reset/[redacted]"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

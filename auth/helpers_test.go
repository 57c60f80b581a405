package auth_test

import (
	"html"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
)

func templRaw(s string) templ.Component { return templ.Raw(s) }

func htmlEscape(s string) string { return html.EscapeString(s) }

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("condition not met within 5s")
}

// visitor is another browser on the same app.
func (e *env) visitor() *env { return &env{Server: e.AsNewVisitor(), app: e.app} }

// testLog sends app logs to the test log (shown for failing tests with -v).
func testLog(t *testing.T) io.Writer { return tWriter{t} }

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

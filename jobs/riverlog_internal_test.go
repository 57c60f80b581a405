package jobs

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestRiverLoggerKeepsWarnings(t *testing.T) {
	var out bytes.Buffer
	app := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l := riverLogger(app, false).WithGroup("river").With("svc", "producer")
	l.Debug("fetched")
	l.Info("started")
	l.Warn("slow")
	l.Error("broken")
	got := out.String()
	if strings.Contains(got, "fetched") || strings.Contains(got, "started") ||
		!strings.Contains(got, `level=WARN msg=slow river.svc=producer`) || !strings.Contains(got, "broken") {
		t.Errorf("filtered log:\n%s", got)
	}
	if riverLogger(app, true) != app {
		t.Error("jobs.debug with a debug app logger should pass River's logs through")
	}
}

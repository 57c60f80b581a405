package auth_test

import (
	"html"
	"strings"
	"sync"
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
func (e *env) visitor() *env {
	return &env{Server: e.AsNewVisitor(), app: e.app, ta: e.ta, logs: e.logs}
}

// testLog collects app logs and prints them if the test fails.
func testLog(t *testing.T) *logBuffer {
	w := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(w.String())
		}
	})
	return w
}

type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *logBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *logBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// Package bench holds Trellis's benchmarks. Each compares Trellis against a
// baseline measured in the same run and prints the ratio.
//
//	go test -bench . -benchmem ./bench/            # per-request overhead
//	TRELLIS_BENCH=1 go test -run Report -v ./bench/ # loopback load, start-up, RSS
//
// The TestReport* functions are reports, not tests: they print measurements
// and ratios for a person to read and assert nothing about them (timing
// never decides pass or fail). They fail only when the setup itself breaks
// (a build, a request, a job that never finishes), and are skipped unless
// TRELLIS_BENCH=1.
package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/ui"
)

// page is the content both servers render inside the same layout.
func page() templ.Component {
	return templ.Raw(`<h1>Benchmark</h1><p>A typical page body with a list:</p><ul>` +
		`<li>one</li><li>two</li><li>three</li><li>four</li><li>five</li></ul>`)
}

// newTrellis builds an app with the production middleware stack (access log
// as JSON to io.Discard) serving the page at /.
func newTrellis(tb testing.TB) *trellis.App {
	tb.Helper()
	cfg := config.Default(config.Production)
	cfg.App.DataDir = tb.TempDir()
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard), trellis.WithoutDatabase())
	if err != nil {
		tb.Fatal(err)
	}
	content := page()
	app.Get("/", func(w http.ResponseWriter, r *http.Request) {
		app.Render.Page(w, r, "Bench", content)
	})
	return app
}

// newBare serves the same layout and page with plain net/http.
func newBare(app *trellis.App) http.Handler {
	mux := http.NewServeMux()
	content := page()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = ui.Page(app.Site, "Bench").Render(templ.WithChildren(r.Context(), content), w)
	})
	return mux
}

// discardWriter is a minimal ResponseWriter: like net/http's, it has a
// fresh header map per response and does not keep the body.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}

func benchHandler(b *testing.B, h http.Handler) {
	base := httptest.NewRequest("GET", "/", nil)
	base.Header.Set("User-Agent", "bench")
	base.Header.Set("Accept", "text/html")
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{h: make(http.Header)}
		h.ServeHTTP(w, base.Clone(context.Background()))
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}

// BenchmarkPage measures one request in-process: bare net/http versus the
// full Trellis stack rendering the same templ page.
func BenchmarkPage(b *testing.B) {
	app := newTrellis(b)
	b.Run("bare", func(b *testing.B) { benchHandler(b, newBare(app)) })
	b.Run("trellis", func(b *testing.B) { benchHandler(b, app) })
}

// TestReportOverhead prints the per-request overhead and ratio.
func TestReportOverhead(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	app := newTrellis(t)
	bare := testing.Benchmark(func(b *testing.B) { benchHandler(b, newBare(app)) })
	full := testing.Benchmark(func(b *testing.B) { benchHandler(b, app) })
	bareNs, fullNs := float64(bare.NsPerOp()), float64(full.NsPerOp())
	fmt.Printf("in-process, one request at a time:\n")
	fmt.Printf("  bare net/http   %8.0f ns  %4d allocs\n", bareNs, bare.AllocsPerOp())
	fmt.Printf("  trellis stack   %8.0f ns  %4d allocs\n", fullNs, full.AllocsPerOp())
	fmt.Printf("  added           %8.0f ns  (%.2fx)\n", fullNs-bareNs, fullNs/bareNs)
}

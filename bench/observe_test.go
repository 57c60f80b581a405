package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/observe"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// observed is a variant of the production stack for the observability
// benchmark.
type observed struct {
	name    string
	metrics bool    // serve metrics, so the request histogram is fed
	ratio   float64 // trace sample ratio; < 0 means tracing off
}

var observedVariants = []observed{
	{"stack (metrics off, tracing off)", false, -1},
	{"+ request metrics", true, -1},
	{"+ metrics, tracing 1%", true, 0.01},
	{"+ metrics, tracing 100%", true, 1},
}

// newObserved builds the benchmark app of newTrellis with v's metrics and
// tracing. Spans go through the SDK's batch processor to an exporter that
// drops them, so the cost measured is the app's and the SDK's, not a
// network's.
func newObserved(tb testing.TB, v observed) *trellis.App {
	tb.Helper()
	cfg := config.Default(config.Production)
	cfg.App.DataDir = tb.TempDir()
	cfg.Metrics.Enabled, cfg.Metrics.AllowPublic = v.metrics, true
	opts := []trellis.Option{trellis.WithLogOutput(io.Discard), trellis.WithoutDatabase()}
	if v.ratio >= 0 {
		tr := observe.NewTracingWith(sdktrace.NewBatchSpanProcessor(tracetest.NewNoopExporter()),
			config.Telemetry{SampleRatio: v.ratio}, "bench", "dev")
		tb.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
		opts = append(opts, trellis.WithTracerProvider(tr.Provider))
	}
	app, err := trellis.New(context.Background(), cfg, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	content := page()
	app.Get("/", func(w http.ResponseWriter, r *http.Request) {
		app.Render.Page(w, r, "Bench", content)
	})
	return app
}

// BenchmarkObserve measures one request through the production stack
// with request metrics and tracing off and on.
func BenchmarkObserve(b *testing.B) {
	for _, v := range observedVariants {
		app := newObserved(b, v)
		b.Run(v.name, func(b *testing.B) { benchHandler(b, app) })
	}
}

// TestReportObserve prints the per-request cost of the request metrics
// and of tracing at 1% and 100%, against the stack without them, in one
// run.
func TestReportObserve(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	// The variants take turns, five rounds, and each keeps its best
	// round: on a loaded machine that is fairer than running each once.
	apps := make([]*trellis.App, len(observedVariants))
	best := make([]testing.BenchmarkResult, len(observedVariants))
	for i, v := range observedVariants {
		apps[i] = newObserved(t, v)
	}
	for range 5 {
		for i, app := range apps {
			r := testing.Benchmark(func(b *testing.B) { benchHandler(b, app) })
			if best[i].N == 0 || r.NsPerOp() < best[i].NsPerOp() {
				best[i] = r
			}
		}
	}
	fmt.Printf("in-process, one request at a time (best of 5 interleaved rounds):\n")
	base := float64(best[0].NsPerOp())
	for i, v := range observedVariants {
		ns := float64(best[i].NsPerOp())
		fmt.Printf("  %-34s %8.0f ns  %4d allocs  %+6.0f ns  (%.2fx)\n", v.name, ns, best[i].AllocsPerOp(), ns-base, ns/base)
	}
}

// TestReportObserveMiddleware isolates the observing middleware around a
// chi router with one trivial route, where its cost is not lost in the
// noise of a whole page render.
func TestReportObserveMiddleware(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	newRouter := func() *chi.Mux {
		r := chi.NewRouter()
		r.Get("/", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
		return r
	}
	tracing := func(ratio float64) *observe.Tracing {
		tr := observe.NewTracingWith(sdktrace.NewBatchSpanProcessor(tracetest.NewNoopExporter()), config.Telemetry{SampleRatio: ratio}, "bench", "dev")
		t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
		return tr
	}
	plain := newRouter()
	withMetrics := newRouter()
	with1, with100 := newRouter(), newRouter()
	variants := []struct {
		name string
		h    http.Handler
	}{
		{"chi router alone", plain},
		{"+ request metrics", observe.Middleware(withMetrics, observe.NewRequestMetrics(), nil)(withMetrics)},
		{"+ metrics, tracing 1%", observe.Middleware(with1, observe.NewRequestMetrics(), tracing(0.01).Provider)(with1)},
		{"+ metrics, tracing 100%", observe.Middleware(with100, observe.NewRequestMetrics(), tracing(1).Provider)(with100)},
	}
	best := make([]testing.BenchmarkResult, len(variants))
	for range 7 {
		for i, v := range variants {
			r := testing.Benchmark(func(b *testing.B) { benchHandler(b, v.h) })
			if best[i].N == 0 || r.NsPerOp() < best[i].NsPerOp() {
				best[i] = r
			}
		}
	}
	fmt.Printf("observing middleware alone (best of 7 interleaved rounds):\n")
	base := float64(best[0].NsPerOp())
	for i, v := range variants {
		ns := float64(best[i].NsPerOp())
		fmt.Printf("  %-26s %7.0f ns  %3d allocs  %+6.0f ns\n", v.name, ns, best[i].AllocsPerOp(), ns-base)
	}
}

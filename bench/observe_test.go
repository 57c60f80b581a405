package bench

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/observe"
	"github.com/trellis-go/trellis/ui"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
)

// observed is a variant of the production stack for the observability
// benchmark.
type observed struct {
	name    string
	metrics bool    // serve metrics, so the request histogram is fed
	ratio   float64 // trace sample ratio; < 0 means tracing off
}

var observedVariants = []observed{
	{"stack, metrics off, tracing off", false, -1},
	{"stack + request metrics", true, -1},
	{"stack + tracing 1%", false, 0.01},
	{"stack + tracing 100%", false, 1},
	{"stack + metrics + tracing 1%", true, 0.01},
	{"stack + metrics + tracing 100%", true, 1},
}

// seedNotes creates the table the benchmark page reads, with 100 rows.
func seedNotes(tb testing.TB, d *db.DB) {
	tb.Helper()
	ctx := context.Background()
	if _, err := d.SQL.ExecContext(ctx, `CREATE TABLE bench_notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL)`); err != nil {
		tb.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		if _, err := d.SQL.ExecContext(ctx, d.Rebind(`INSERT INTO bench_notes (id, title, body) VALUES (?, ?, ?)`),
			i, fmt.Sprintf("Note %d", i), strings.Repeat("A line of the note's body. ", 8)); err != nil {
			tb.Fatal(err)
		}
	}
}

// notePage serves a page that reads one note from d and renders it with
// render: the same handler on bare net/http and on Trellis.
func notePage(d *db.DB, render func(w http.ResponseWriter, r *http.Request, c templ.Component)) http.HandlerFunc {
	query := d.Rebind(`SELECT title, body FROM bench_notes WHERE id = ?`)
	return func(w http.ResponseWriter, r *http.Request) {
		var title, body string
		if err := d.SQL.QueryRowContext(r.Context(), query, 42).Scan(&title, &body); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		render(w, r, templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
			_, err := io.WriteString(w, "<h1>"+html.EscapeString(title)+"</h1><p>"+html.EscapeString(body)+"</p>")
			return err
		}))
	}
}

// newObserved builds the production stack on its own SQLite database
// with v's metrics and tracing, serving the note page at /. Spans go
// through the SDK's batch processor to an exporter that drops them, so
// the cost measured is the app's and the SDK's, not a network's. With
// tracing on, the page's query gets a database span.
func newObserved(tb testing.TB, v observed) *trellis.App {
	tb.Helper()
	cfg := config.Default(config.Production)
	cfg.App.DataDir = tb.TempDir()
	cfg.App.BaseURL = "https://bench.example.com"
	cfg.Metrics.Enabled, cfg.Metrics.AllowPublic = v.metrics, true
	opts := []trellis.Option{trellis.WithLogOutput(io.Discard)}
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
	tb.Cleanup(func() { _ = app.Close(context.Background()) })
	seedNotes(tb, app.DB)
	app.Get("/", notePage(app.DB, func(w http.ResponseWriter, r *http.Request, c templ.Component) {
		app.Render.Page(w, r, "Bench", c)
	}))
	return app
}

// newBareNotes serves the same note page, layout and query with plain
// net/http on a database of its own opened without tracing.
func newBareNotes(tb testing.TB, site *ui.Site) http.Handler {
	tb.Helper()
	d, err := db.Open(context.Background(), config.Default(config.Production).Database, tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = d.Close() })
	seedNotes(tb, d)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", notePage(d, func(w http.ResponseWriter, r *http.Request, c templ.Component) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = ui.Page(site, "Bench").Render(templ.WithChildren(r.Context(), c), w)
	}))
	return mux
}

// BenchmarkObserve measures one request to the note page through the
// production stack with request metrics and tracing off and on.
func BenchmarkObserve(b *testing.B) {
	for _, v := range observedVariants {
		app := newObserved(b, v)
		b.Run(v.name, func(b *testing.B) { benchHandler(b, app) })
	}
}

// measured is one variant's figures from interleaved rounds.
type measured struct {
	cpu, wall spread // ns per request, one figure per round
	allocs    float64
}

// serveN serves n requests to h, failing on any answer but 200.
func serveN(tb testing.TB, h http.Handler, n int) {
	base := httptest.NewRequest("GET", "/", nil)
	base.Header.Set("User-Agent", "bench")
	base.Header.Set("Accept", "text/html")
	for range n {
		w := &discardWriter{h: make(http.Header)}
		h.ServeHTTP(w, base.Clone(context.Background()))
		if w.status != http.StatusOK {
			tb.Fatalf("status %d", w.status)
		}
	}
}

// interleaved serves each handler in turn, a batch of about 100ms of
// requests at a time, rounds times, so that drift in the machine's load
// touches them all alike. Each round yields the process's CPU time per
// request (user+system, which other processes' load distorts far less
// than wall time, but which includes GC and the span exporter) and the
// wall time per request.
func interleaved(tb testing.TB, rounds int, hs []http.Handler) []measured {
	out := make([]measured, len(hs))
	batch := make([]int, len(hs))
	for i, h := range hs {
		serveN(tb, h, 50) // warm up: connections, statement caches
		t0 := time.Now()
		serveN(tb, h, 200)
		batch[i] = max(50, int(100*time.Millisecond/(time.Since(t0)/200)))
		out[i].allocs = testing.AllocsPerRun(200, func() { serveN(tb, h, 1) })
	}
	for range rounds {
		for i, h := range hs {
			runtime.GC()
			cpu0, t0 := cpuTime(), time.Now()
			serveN(tb, h, batch[i])
			wall, cpu := time.Since(t0), cpuTime()-cpu0
			out[i].cpu = append(out[i].cpu, float64(cpu)/float64(batch[i]))
			out[i].wall = append(out[i].wall, float64(wall.Nanoseconds())/float64(batch[i]))
		}
	}
	return out
}

// quartiles returns the first and third quartiles of s.
func (s spread) quartiles() (float64, float64) {
	v := slices.Clone(s)
	slices.Sort(v)
	return v[len(v)/4], v[(3*len(v))/4]
}

// printInterleaved prints each variant's CPU median and quartiles, wall
// median and quartiles, and its CPU median's difference from the first
// row's and from row ref's.
func printInterleaved(names []string, ms []measured, ref int) {
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	fmt.Printf("  %-*s  %24s  %24s  %6s  %10s  %10s\n", width, "ns per request", "CPU median [p25–p75]", "wall median [p25–p75]", "allocs", "CPU vs 1", fmt.Sprintf("CPU vs %d", ref+1))
	base, refNs := ms[0].cpu.median(), ms[ref].cpu.median()
	for i, n := range names {
		m := ms[i]
		c25, c75 := m.cpu.quartiles()
		w25, w75 := m.wall.quartiles()
		fmt.Printf("%d %-*s  %7.0f [%6.0f–%6.0f]  %7.0f [%6.0f–%6.0f]  %6.0f  %+10.0f  %+10.0f\n",
			i+1, width, n, m.cpu.median(), c25, c75, m.wall.median(), w25, w75, m.allocs, m.cpu.median()-base, m.cpu.median()-refNs)
	}
}

// loadAverage is the first line of /proc/loadavg, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// TestReportObserve prints, in one run, the per-request cost of the
// request metrics and of tracing at 1% and 100% (the page's database
// query traced too) on a page that reads the database, against the same
// page on bare net/http and against the stack without them.
func TestReportObserve(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	const rounds = 21
	names := []string{"bare net/http, same query and page"}
	hs := []http.Handler{nil}
	for _, v := range observedVariants {
		app := newObserved(t, v)
		names, hs = append(names, v.name), append(hs, app)
		if hs[0] == nil {
			hs[0] = newBareNotes(t, app.Site)
		}
	}
	fmt.Printf("note page with one SQLite read, in-process, one request at a time, %d interleaved rounds of ~100ms each;\nload average before: %s\n", rounds, loadAverage())
	printInterleaved(names, interleaved(t, rounds, hs), 1)
	fmt.Printf("  load average after: %s\n", loadAverage())
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
	const rounds = 21
	var names []string
	var hs []http.Handler
	for _, v := range variants {
		names, hs = append(names, v.name), append(hs, v.h)
	}
	fmt.Printf("observing middleware alone, %d interleaved rounds of ~100ms each; load average before: %s\n", rounds, loadAverage())
	printInterleaved(names, interleaved(t, rounds, hs), 0)
	fmt.Printf("  load average after: %s\n", loadAverage())
}

// TestReportObserveDB isolates the database spans: one point query
// through database/sql on SQLite, on the bare driver and on the driver
// wrapped for tracing, with no span in the context (queries outside a
// trace), inside an unsampled span (most requests at a low ratio) and
// inside a sampled one (a span is recorded for the query).
func TestReportObserveDB(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	tracing := func(ratio float64) *observe.Tracing {
		tr := observe.NewTracingWith(sdktrace.NewBatchSpanProcessor(tracetest.NewNoopExporter()), config.Telemetry{SampleRatio: ratio}, "bench", "dev")
		t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
		return tr
	}
	unsampled, sampled := tracing(0), tracing(1)
	open := func(opts ...db.Option) *db.DB {
		d, err := db.Open(context.Background(), config.Default(config.Production).Database, t.TempDir(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		seedNotes(t, d)
		return d
	}
	bare, wrapped := open(), open(db.WithTracerProvider(sampled.Provider))
	// query serves one query on d, inside a span from tp when tp is set.
	query := func(d *db.DB, tp *observe.Tracing) http.Handler {
		q := d.Rebind(`SELECT title, body FROM bench_notes WHERE id = ?`)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			if tp != nil {
				var span oteltrace.Span
				ctx, span = tp.Provider.Tracer("bench").Start(ctx, "request")
				defer span.End()
			}
			var title, body string
			if err := d.SQL.QueryRowContext(ctx, q, 42).Scan(&title, &body); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusOK)
		})
	}
	names := []string{
		"bare driver, no span",
		"traced driver, no span in context",
		"bare driver, in an unsampled span",
		"traced driver, in an unsampled span",
		"bare driver, in a sampled span",
		"traced driver, in a sampled span (+ DB span)",
	}
	hs := []http.Handler{
		query(bare, nil), query(wrapped, nil),
		query(bare, unsampled), query(wrapped, unsampled),
		query(bare, sampled), query(wrapped, sampled),
	}
	const rounds = 21
	fmt.Printf("one point query on SQLite through database/sql, %d interleaved rounds of ~100ms each; load average before: %s\n", rounds, loadAverage())
	ms := interleaved(t, rounds, hs)
	printInterleaved(names, ms, 0)
	for i := 1; i < len(ms); i += 2 {
		fmt.Printf("  the traced driver adds %+6.0f ns CPU, %+4.0f allocs per query (row %d vs %d)\n",
			ms[i].cpu.median()-ms[i-1].cpu.median(), ms[i].allocs-ms[i-1].allocs, i+1, i)
	}
	fmt.Printf("  load average after: %s\n", loadAverage())
}

package observe

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/session"
)

func TestTracingOffWithoutEndpoint(t *testing.T) {
	tr, err := NewTracing(context.Background(), config.Telemetry{SampleRatio: 1}, "app", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Provider != nil {
		t.Fatalf("Provider = %T, want nil: tracing must be off without an endpoint", tr.Provider)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestTracesURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:4318":              "http://127.0.0.1:4318/v1/traces",
		"http://127.0.0.1:4318/":             "http://127.0.0.1:4318/v1/traces",
		"https://otel.example.com/v1/traces": "https://otel.example.com/v1/traces",
		"https://otel.example.com/custom":    "https://otel.example.com/custom",
	} {
		got, err := tracesURL(in)
		if err != nil || got != want {
			t.Errorf("tracesURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"127.0.0.1:4318", "grpc://x:4317", "http://"} {
		if _, err := tracesURL(bad); !errors.Is(err, ErrEndpoint) {
			t.Errorf("tracesURL(%q): %v, want ErrEndpoint", bad, err)
		}
	}
}

// TestHeadThroughMiddleware: chi's GetHead looks routes up through the
// route context the middleware hands the router, so HEAD requests to GET
// routes still work and are labelled by their pattern.
func TestHeadThroughMiddleware(t *testing.T) {
	r := chi.NewRouter()
	r.Use(chimw.GetHead)
	r.Get("/items/{id}", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("item")) })
	m := NewRequestMetrics()
	h := Middleware(r, m, nil)(r)
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, "/items/9", nil))
		if w.Code != http.StatusOK {
			t.Errorf("%s: %d", method, w.Code)
		}
	}
	if n := testCount(m, "/items/{id}", "HEAD", "2xx"); n != 1 {
		t.Errorf("HEAD samples under the pattern: %d, want 1", n)
	}
}

func testCount(m *RequestMetrics, labels ...string) uint64 {
	h, err := m.duration.GetMetricWithLabelValues(labels...)
	if err != nil {
		return 0
	}
	var out dtoMetric
	_ = h.(interface{ Write(*dtoMetric) error }).Write(&out)
	return out.GetHistogram().GetSampleCount()
}

// TestSessionTimingIsTransparent: the manager reports the store itself,
// not the timer around it, and the timer records each operation.
func TestSessionTimingIsTransparent(t *testing.T) {
	mem := session.NewMemory()
	timed := NewSessionTiming(mem)
	m := session.New(config.Default(config.Test).Session, timed, nil, nil)
	if got, ok := m.Backend().(*session.Memory); !ok || got != mem {
		t.Fatalf("Backend() = %T, want the *session.Memory inside the timer", m.Backend())
	}
	if _, _, _, err := timed.Load(context.Background(), "token"); err != nil {
		t.Fatal(err)
	}
	h, _ := timed.hist.GetMetricWithLabelValues("load", "ok")
	var out dtoMetric
	_ = h.(interface{ Write(*dtoMetric) error }).Write(&out)
	if out.GetHistogram().GetSampleCount() != 1 {
		t.Errorf("load samples: %d, want 1", out.GetHistogram().GetSampleCount())
	}
}

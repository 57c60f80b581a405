package observe

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/trellis-go/trellis/middleware"
	"github.com/trellis-go/trellis/telemetry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// UnmatchedRoute is the route label and span name of requests no route
// matched (404s, 405s): every unknown path shares it, so scanners cannot
// grow the metrics without bound.
const UnmatchedRoute = "unmatched"

// OtherMethod is the method label of requests with a method outside the
// standard set.
const OtherMethod = "_OTHER"

// RequestMetrics are the HTTP request metrics: a duration histogram
// (trellis_http_request_duration_seconds, labelled route, method and code
// class) and the in-flight gauge (trellis_http_requests_in_flight). It is a
// prometheus.Collector; register it on the app's registry.
type RequestMetrics struct {
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// NewRequestMetrics creates the request metrics.
func NewRequestMetrics() *RequestMetrics {
	return &RequestMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trellis_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by route pattern, method and status class.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trellis_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
}

// Describe implements prometheus.Collector.
func (m *RequestMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.duration.Describe(ch)
	m.inFlight.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *RequestMetrics) Collect(ch chan<- prometheus.Metric) {
	m.duration.Collect(ch)
	m.inFlight.Collect(ch)
}

// Middleware observes every request: it counts it in flight, opens a span
// (when tp is not nil) continuing a W3C trace context the client sent,
// and when the handler returns names the span and labels the duration by
// the chi route pattern that served it ("GET /notes/{id}", never the raw
// path), with the status code. It must wrap the app's root chi router:
// it hands the router the route context to fill, because chi knows the
// pattern only after routing, and reads the pattern from it afterwards.
// routes is that router (route contexts need it for look-ups such as
// chi's GetHead). Either m or tp may be nil.
func Middleware(routes chi.Routes, m *RequestMetrics, tp trace.TracerProvider) func(http.Handler) http.Handler {
	var tracer trace.Tracer
	if tp != nil {
		tracer = telemetry.Tracer(tp)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			if m != nil {
				m.inFlight.Inc()
				defer m.inFlight.Dec()
			}
			rctx := chi.NewRouteContext()
			rctx.Routes = routes
			ctx := r.Context()
			method := normalMethod(r.Method)
			var span trace.Span
			if tracer != nil {
				ctx = telemetry.Propagator().Extract(ctx, propagationHeader(r.Header))
				ctx, span = tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer),
					trace.WithAttributes(attribute.String("http.request.method", method)))
			}
			mw := middleware.NewResponseMeter(w)
			defer func() {
				route := rctx.RoutePattern()
				if route == "" {
					route = UnmatchedRoute
				}
				status := mw.Status()
				if status == 0 {
					status = http.StatusOK
				}
				if m != nil {
					m.duration.WithLabelValues(route, method, codeClass(status)).Observe(time.Since(start).Seconds())
				}
				if span != nil {
					span.SetName(method + " " + route)
					span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
					if status >= 500 {
						span.SetStatus(codes.Error, http.StatusText(status))
					}
					span.End()
				}
			}()
			ctx = contextWithRoute(ctx, rctx)
			next.ServeHTTP(mw, r.WithContext(ctx))
		})
	}
}

// normalMethod collapses methods outside the standard set.
func normalMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return OtherMethod
}

// codeClass is "2xx" for 200 and so on.
func codeClass(status int) string {
	switch {
	case status >= 100 && status < 600:
		return strconv.Itoa(status/100) + "xx"
	}
	return "other"
}

// Package observe makes a Trellis app observable: the OpenTelemetry
// tracer provider built from the [telemetry] config section, the request
// middleware that opens a span per request and feeds the request metrics,
// and Prometheus collectors for the database pools and the session store.
// Every metric name starts with trellis_.
//
// Span helpers with no HTTP in them (for jobs and mail) are in package
// telemetry.
package observe

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/trellis-go/trellis/config"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracing is an app's tracer provider and how to stop it.
type Tracing struct {
	// Provider makes the tracers; nil when tracing is off, so callers can
	// skip all tracing work with one comparison.
	Provider trace.TracerProvider
	// Shutdown flushes the spans still buffered and stops the exporter.
	// It is never nil.
	Shutdown func(context.Context) error
}

// NewTracing builds the tracer provider the [telemetry] section asks for.
// With no otlp_endpoint, tracing is off: no exporter, no provider, no
// work per request. Otherwise spans are batched and posted over OTLP/HTTP
// to the endpoint (its /v1/traces when the URL has no path), sampled by
// sample_ratio for new traces and following the caller's decision for
// requests that arrive with a trace context. serviceName is used when the
// section names none. The exporter connects lazily, so an unreachable
// collector does not stop start-up; spans it cannot take are dropped.
func NewTracing(ctx context.Context, cfg config.Telemetry, serviceName, version string) (*Tracing, error) {
	off := &Tracing{Shutdown: func(context.Context) error { return nil }}
	if cfg.OTLPEndpoint == "" {
		return off, nil
	}
	endpoint, err := tracesURL(cfg.OTLPEndpoint)
	if err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, fmt.Errorf("observe: telemetry.otlp_endpoint: %w", err)
	}
	return NewTracingWith(sdktrace.NewBatchSpanProcessor(exp), cfg, serviceName, version), nil
}

// NewTracingWith builds a tracer provider that hands spans to processor,
// sampled like NewTracing's: tests pass a processor around an in-memory
// exporter (sdktrace.NewSimpleSpanProcessor(tracetest.NewInMemoryExporter())).
func NewTracingWith(processor sdktrace.SpanProcessor, cfg config.Telemetry, serviceName, version string) *Tracing {
	if cfg.ServiceName != "" {
		serviceName = cfg.ServiceName
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(processor),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
		sdktrace.WithResource(resource.NewSchemaless(
			attribute.String("service.name", serviceName),
			attribute.String("service.version", version),
		)),
	)
	return &Tracing{Provider: tp, Shutdown: tp.Shutdown}
}

// ErrEndpoint is wrapped by errors about a malformed OTLP endpoint.
var ErrEndpoint = errors.New("observe: invalid OTLP endpoint")

// tracesURL appends the OTLP traces path to an endpoint given without one.
func tracesURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: telemetry.otlp_endpoint %q: use a URL such as http://127.0.0.1:4318", ErrEndpoint, endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

package telemetry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/trellis-go/trellis/telemetry"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestStartWithoutTraceIsFree: outside a trace Start returns the context
// it was given and a span that records nothing.
func TestStartWithoutTraceIsFree(t *testing.T) {
	ctx := context.Background()
	got, span := telemetry.Start(ctx, "work")
	if got != ctx || span.IsRecording() {
		t.Fatalf("Start outside a trace made a new context or a recording span")
	}
	span.End()
	if telemetry.Inject(ctx) != nil {
		t.Error("Inject outside a trace returned values")
	}
	if allocs := testing.AllocsPerRun(100, func() { _, s := telemetry.Start(ctx, "work"); s.End() }); allocs != 0 {
		t.Errorf("Start outside a trace allocates %v times", allocs)
	}
}

// TestStartChildAndPropagation: Start makes a child of the span in the
// context, from its provider; Inject and Extract carry it across.
func TestStartChildAndPropagation(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	ctx, parent := telemetry.Tracer(tp).Start(context.Background(), "parent")
	_, child := telemetry.Start(ctx, "child")
	telemetry.Fail(child, errors.New("broken"))
	child.End()

	values := telemetry.Inject(ctx)
	if values["traceparent"] == "" {
		t.Fatalf("Inject: %v", values)
	}
	remote := trace.SpanContextFromContext(telemetry.Extract(context.Background(), values))
	if remote.TraceID() != parent.SpanContext().TraceID() || remote.SpanID() != parent.SpanContext().SpanID() || !remote.IsRemote() {
		t.Errorf("Extract: %v, want the parent %v", remote, parent.SpanContext())
	}
	if got := trace.SpanContextFromContext(telemetry.Extract(context.Background(), map[string]string{"traceparent": "garbage"})); got.IsValid() {
		t.Error("a malformed traceparent was accepted")
	}
	parent.End()
	spans := exp.GetSpans()
	if len(spans) != 2 || spans[0].Name != "child" || spans[0].Parent.SpanID() != parent.SpanContext().SpanID() || spans[0].Status.Description != "broken" {
		t.Fatalf("spans: %+v", spans)
	}
}

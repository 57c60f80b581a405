// Package telemetry holds the tracing helpers every layer of a Trellis app
// shares, with no HTTP in it, so background jobs and mail use it as
// freely as handlers do.
//
// A span always starts from the span already in the context: the request's
// span in a handler, the job's span in a job worker. With tracing off (the
// default) the context holds no recording span, every helper here returns
// at once with a no-op span and nothing is allocated for export. Adding a
// span to any code that has a context is one call:
//
//	ctx, span := telemetry.Start(ctx, "mail.deliver", attribute.String("mail.template", name))
//	defer span.End()
//
// Trace context crosses process boundaries (the job queue) as W3C
// traceparent/tracestate values in a string map: Inject writes them,
// Extract reads them back.
package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// InstrumentationName names the tracer Trellis's spans come from.
const InstrumentationName = "github.com/trellis-go/trellis"

// propagator carries trace context as W3C Trace Context headers. It is
// stateless, so sharing it is safe.
var propagator propagation.TraceContext

// Tracer returns Trellis's tracer from tp; a nil tp gives a no-op tracer.
func Tracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		return noopTracer
	}
	return tp.Tracer(InstrumentationName)
}

// Start starts a span named name as a child of the span in ctx, from the
// same tracer provider, and returns the context holding it. Without a
// span in ctx (tracing off, or code outside a request or job) the span is
// a no-op. End the span when the work is done; record a failure with
// Fail.
func Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.SpanContext().IsValid() {
		return ctx, parent
	}
	return parent.TracerProvider().Tracer(InstrumentationName).Start(ctx, name, trace.WithAttributes(attrs...))
}

// Fail records err on span and marks it failed; a nil err does nothing.
func Fail(span trace.Span, err error) {
	if err == nil || !span.IsRecording() {
		return
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}

// Inject returns the trace context of the span in ctx as W3C header
// values ("traceparent", and "tracestate" when there is one), or nil when
// ctx holds no valid span.
func Inject(ctx context.Context) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	carrier := propagation.MapCarrier{}
	propagator.Inject(ctx, carrier)
	return carrier
}

// Extract returns ctx with the remote span context carried by values (as
// written by Inject) as its parent; ctx is returned unchanged when values
// carry none or a malformed one.
func Extract(ctx context.Context, values map[string]string) context.Context {
	if len(values) == 0 {
		return ctx
	}
	return propagator.Extract(ctx, propagation.MapCarrier(values))
}

// Propagator returns the propagator Trellis uses for incoming and
// outgoing trace context: W3C Trace Context.
func Propagator() propagation.TextMapPropagator { return propagator }

package telemetry

import "go.opentelemetry.io/otel/trace/noop"

// noopTracer is the tracer used when no provider is given.
var noopTracer = noop.NewTracerProvider().Tracer(InstrumentationName)

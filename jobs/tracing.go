package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/trellis-go/trellis/telemetry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// metaTrace is the metadata key of the enqueuer's W3C trace context.
const metaTrace = "trellis_trace"

// SetTracerProvider makes the engine trace: a span around every enqueue
// made with a traced context, and a span per job run that continues the
// enqueuer's trace (its context travels in the job's metadata). Call it
// before Start; nil (the default) turns tracing off. trellis.New calls it
// with the app's provider.
func (e *Engine) SetTracerProvider(tp trace.TracerProvider) {
	if tp == nil {
		e.tracer.Store(nil)
		return
	}
	t := telemetry.Tracer(tp)
	e.tracer.Store(&t)
}

// tracerOrNil returns the engine's tracer, or nil when tracing is off.
func (e *Engine) tracerOrNil() trace.Tracer {
	if t := e.tracer.Load(); t != nil {
		return *t
	}
	return nil
}

// noEnd is enqueueSpan's end function when nothing is traced.
func noEnd(*Result, error) {}

// enqueueSpan starts a producer span for inserting n jobs of kind, when
// the engine traces and ctx is part of a trace; otherwise it returns ctx
// and a no-op end. Enqueue outside a trace (a cron schedule, a script)
// starts no trace of its own.
func (e *Engine) enqueueSpan(ctx context.Context, kind string, n int) (context.Context, func(*Result, error)) {
	t := e.tracerOrNil()
	if t == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, noEnd
	}
	ctx, span := t.Start(ctx, "enqueue "+kind, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("job.kind", kind), attribute.Int("job.count", n)))
	return ctx, func(r *Result, err error) {
		if r != nil {
			span.SetAttributes(attribute.Int64("job.id", r.ID), attribute.Bool("job.duplicate", r.Duplicate))
		}
		telemetry.Fail(span, err)
		span.End()
	}
}

// runSpan starts the consumer span of one job attempt, as a child of the
// enqueuer's span when the job's metadata carries one. The returned end
// records the attempt's outcome.
func (e *Engine) runSpan(ctx context.Context, row jobRow) (context.Context, func(error)) {
	t := e.tracerOrNil()
	if t == nil {
		return ctx, func(error) {}
	}
	var meta struct {
		Trace map[string]string `json:"trellis_trace"`
	}
	if len(row.metadata) > 0 && json.Unmarshal(row.metadata, &meta) == nil {
		ctx = telemetry.Extract(ctx, meta.Trace)
	}
	ctx, span := t.Start(ctx, "job "+row.kind, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("job.kind", row.kind),
			attribute.Int64("job.id", row.id),
			attribute.Int("job.attempt", row.attempt),
			attribute.Int("job.max_attempts", row.maxAttempts),
			attribute.String("job.queue", row.queue),
		))
	return ctx, func(err error) {
		outcome := "completed"
		switch {
		case err == nil:
		case errors.Is(err, snoozed):
			// Put off, not failed: River does not count it as an attempt.
			span.SetAttributes(attribute.String("job.outcome", "snoozed"))
			span.End()
			return
		case errors.Is(err, context.Canceled) && e.stopping.Load():
			outcome = "interrupted"
		case IsPermanent(err) || row.attempt >= row.maxAttempts:
			outcome = "dead"
		default:
			outcome = "retry"
		}
		span.SetAttributes(attribute.String("job.outcome", outcome))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "job attempt "+strconv.Itoa(row.attempt)+" "+outcome+": "+err.Error())
		}
		span.End()
	}
}

// jobRow is what runSpan needs of a job.
type jobRow struct {
	id                   int64
	kind, queue          string
	attempt, maxAttempts int
	metadata             []byte
}

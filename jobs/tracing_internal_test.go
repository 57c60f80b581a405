package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestRunSpanOutcomes: each way an attempt ends names its span's outcome;
// only failures mark the span as an error — a snooze, even on the last
// attempt, is neither a retry nor a death.
func TestRunSpanOutcomes(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	e := &Engine{}
	e.SetTracerProvider(tp)
	for _, c := range []struct {
		err     error
		attempt int
		outcome string
		failed  bool
	}{
		{nil, 1, "completed", false},
		{errors.New("boom"), 1, "retry", true},
		{errors.New("boom"), 3, "dead", true},
		{Permanent(errors.New("bad input")), 1, "dead", true},
		{river.JobSnooze(time.Minute), 3, "snoozed", false},
	} {
		exp.Reset()
		_, end := e.runSpan(context.Background(), jobRow{kind: "k", attempt: c.attempt, maxAttempts: 3})
		end(c.err)
		spans := exp.GetSpans()
		if len(spans) != 1 {
			t.Fatalf("%v: %d spans", c.err, len(spans))
		}
		var outcome string
		for _, kv := range spans[0].Attributes {
			if kv.Key == "job.outcome" {
				outcome = kv.Value.AsString()
			}
		}
		if outcome != c.outcome || (spans[0].Status.Code == codes.Error) != c.failed {
			t.Errorf("%v on attempt %d: outcome %q, status %v; want %q, failed %v", c.err, c.attempt, outcome, spans[0].Status.Code, c.outcome, c.failed)
		}
	}
}

package jobs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/trellis-go/trellis/jobs"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TestEnqueueManyTx: the jobs exist only if the transaction commits, with
// their own options, and a request's Trace replaces the enqueuer's trace
// context in the job's metadata.
func TestEnqueueManyTx(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		e, d := newEngine(t, dialect)
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
		t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		e.SetTracerProvider(tp)
		ctx, span := tp.Tracer("test").Start(context.Background(), "request")
		defer span.End()
		enqueuer := span.SpanContext().TraceID().String()
		const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
		reqs := []jobs.Request{
			{Args: noteArgs{N: 1}},
			{Args: noteArgs{N: 2}, Opts: &jobs.Opts{Priority: jobs.PriorityHigh}, Trace: map[string]string{"traceparent": parent}},
		}
		for _, commit := range []bool{false, true} {
			tx, err := d.SQL.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.EnqueueManyTx(ctx, tx, reqs)
			if err != nil || len(res) != 2 {
				t.Fatalf("EnqueueManyTx = %v, %v", res, err)
			}
			if commit {
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
			} else {
				_ = tx.Rollback()
				if _, err := e.Get(ctx, res[0].ID); err == nil {
					t.Fatal("a job of a rolled-back transaction exists")
				}
				continue
			}
			first, err := e.Get(ctx, res[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			second, err := e.Get(ctx, res[1].ID)
			if err != nil {
				t.Fatal(err)
			}
			if first.Priority != jobs.PriorityDefault || second.Priority != jobs.PriorityHigh {
				t.Fatalf("priorities %d, %d", first.Priority, second.Priority)
			}
			if !strings.Contains(string(first.Metadata), enqueuer) || strings.Contains(string(first.Metadata), parent) ||
				!strings.Contains(string(second.Metadata), parent) || strings.Contains(string(second.Metadata), enqueuer) {
				t.Fatalf("metadata %s / %s: want the enqueuer's trace %s in the first, the request's %s in the second", first.Metadata, second.Metadata, enqueuer, parent)
			}
		}
	})
}

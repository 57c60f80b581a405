package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Args are a job's arguments: a JSON-serialisable struct with a Kind
// method naming the job type, e.g.
//
//	type WelcomeEmail struct{ UserID int64 `json:"user_id"` }
//	func (WelcomeEmail) Kind() string { return "welcome_email" }
type Args = river.JobArgs

// Job is a job being worked: its Args plus River's row (ID, Attempt,
// MaxAttempts, Errors, Metadata …).
type Job[T Args] = river.Job[T]

// Worker works jobs of one kind. Embed WorkerDefaults to get the optional
// methods (Timeout, NextRetry, Middleware).
type Worker[T Args] = river.Worker[T]

// WorkerDefaults provides default optional Worker methods.
type WorkerDefaults[T Args] = river.WorkerDefaults[T]

// Register adds a worker for T's kind. Call it before the app starts.
func Register[T Args](e *Engine, w Worker[T]) {
	var args T
	river.AddWorker[T](e.workers, &wrapped[T]{inner: w, e: e, obs: e.metrics.observers(args.Kind())})
	e.mu.Lock()
	e.kinds = append(e.kinds, args.Kind())
	e.mu.Unlock()
}

// RegisterFunc adds a worker from a function.
func RegisterFunc[T Args](e *Engine, fn func(ctx context.Context, job *Job[T]) error) {
	Register(e, river.WorkFunc(fn))
}

// permanentError marks an error that must not be retried.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying: the job goes straight to the
// dead letter queue, where it can still be retried by hand.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked by
// Permanent.
func IsPermanent(err error) bool {
	var perm *permanentError
	return errors.As(err, &perm)
}

// metaTimeout is the metadata key of a per-job timeout in milliseconds.
const metaTimeout = "trellis_timeout_ms"

// wrapped adds per-job timeouts, permanent errors and the run-time
// histograms to a worker.
type wrapped[T Args] struct {
	inner Worker[T]
	e     *Engine // its stopping flag is set while Stop runs
	obs   observers
}

func (w *wrapped[T]) Middleware(row *rivertype.JobRow) []rivertype.WorkerMiddleware {
	return w.inner.Middleware(row)
}

func (w *wrapped[T]) NextRetry(job *Job[T]) time.Time { return w.inner.NextRetry(job) }

// Timeout prefers a timeout given at enqueue time, then the worker's own,
// then the engine default (0).
func (w *wrapped[T]) Timeout(job *Job[T]) time.Duration {
	var meta map[string]json.RawMessage
	if json.Unmarshal(job.Metadata, &meta) == nil {
		var ms int64
		if raw, ok := meta[metaTimeout]; ok && json.Unmarshal(raw, &ms) == nil && ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	return w.inner.Timeout(job)
}

// Work runs the worker. A Permanent error ends the job's attempts, so River
// moves it to the dead letter queue instead of retrying. Any error from a
// job whose context was cancelled by shutdown carries the cancellation's
// cause, so River returns the job to the queue with its attempt given
// back even when the worker reports the interruption in its own words (a
// driver's "interrupted", a wrapped error that dropped context.Canceled).
//
// When the engine traces, each attempt runs in a span that continues the
// enqueuer's trace; telemetry.Start(ctx, ...) inside the worker adds child
// spans to it.
func (w *wrapped[T]) Work(ctx context.Context, job *Job[T]) (err error) {
	start := time.Now()
	ctx, end := w.e.runSpan(ctx, jobRow{id: job.ID, kind: job.Kind, queue: job.Queue, attempt: job.Attempt,
		maxAttempts: job.MaxAttempts, metadata: job.Metadata})
	returned, interrupted := false, false
	defer func() {
		if !returned {
			// The worker panicked; River recovers and fails the attempt.
			err = errors.New("jobs: worker panicked")
		}
		w.obs.observe(start, job.ScheduledAt, err, interrupted)
		end(err)
	}()
	err = w.inner.Work(ctx, job)
	returned = true
	if err != nil && ctx.Err() != nil && w.e.stopping.Load() {
		err = errors.Join(err, context.Cause(ctx))
		interrupted = true
	}
	if IsPermanent(err) {
		// River discards a failed job whose attempt reached max_attempts;
		// the row is this attempt's, so lowering the limit here affects
		// only this decision.
		job.JobRow.MaxAttempts = job.JobRow.Attempt
	}
	return err
}

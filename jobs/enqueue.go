package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/trellis-go/trellis/telemetry"
)

// Priorities, 1 running first.
const (
	PriorityHigh    = 1
	PriorityDefault = 2
	PriorityLow     = 4
)

// Opts adjusts one enqueued job; the zero value uses the defaults.
type Opts struct {
	// Queue defaults to "default".
	Queue string
	// Priority is 1 (first) to 4 (last); 0 means 2.
	Priority int
	// MaxRetries overrides jobs.max_retries when not nil.
	MaxRetries *int
	// Timeout overrides the worker's and jobs.timeout when positive.
	Timeout time.Duration
	// RunAt delays the job until then.
	RunAt time.Time
	// Unique skips the insert when an equal job already exists.
	Unique Unique
	// Tags label the job for filtering.
	Tags []string
}

// Unique says which jobs count as duplicates: same kind, plus the same
// args, queue and/or time period, among jobs not yet finished or cancelled.
// The zero value disables uniqueness.
type Unique struct {
	ByArgs   bool
	ByQueue  bool
	ByPeriod time.Duration
}

// Retries returns a pointer for Opts.MaxRetries.
func Retries(n int) *int { return &n }

// Result describes an enqueued job.
type Result struct {
	// ID is the job's id (the existing job's for a duplicate).
	ID int64
	// Duplicate is true when Unique skipped the insert.
	Duplicate bool
}

// ErrInvalidOpts is wrapped by errors about bad options.
var ErrInvalidOpts = errors.New("jobs: invalid options")

// insertOpts converts o to River's options; traceCtx, when not nil, is the
// enqueuer's trace context (see telemetry.Inject), carried in the job's
// metadata so its run continues the trace.
func (e *Engine) insertOpts(o *Opts, traceCtx map[string]string) (*river.InsertOpts, error) {
	meta := map[string]any{}
	if traceCtx != nil {
		meta[metaTrace] = traceCtx
	}
	if o == nil {
		o = &Opts{}
	}
	ro := &river.InsertOpts{Queue: o.Queue, Priority: o.Priority, ScheduledAt: o.RunAt, Tags: o.Tags}
	if ro.Priority == 0 {
		ro.Priority = PriorityDefault
	}
	if ro.Priority < 1 || ro.Priority > 4 {
		return nil, fmt.Errorf("%w: priority %d is not 1 to 4", ErrInvalidOpts, o.Priority)
	}
	if o.MaxRetries != nil {
		if *o.MaxRetries < 0 {
			return nil, fmt.Errorf("%w: negative MaxRetries", ErrInvalidOpts)
		}
		ro.MaxAttempts = *o.MaxRetries + 1
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("%w: negative Timeout", ErrInvalidOpts)
	}
	if o.Timeout > 0 {
		meta[metaTimeout] = o.Timeout.Milliseconds()
	}
	if len(meta) > 0 {
		ro.Metadata, _ = json.Marshal(meta)
	}
	if o.Unique != (Unique{}) {
		ro.UniqueOpts = river.UniqueOpts{ByArgs: o.Unique.ByArgs, ByQueue: o.Unique.ByQueue, ByPeriod: o.Unique.ByPeriod}
	}
	return ro, nil
}

func result(r *rivertype.JobInsertResult) *Result {
	return &Result{ID: r.Job.ID, Duplicate: r.UniqueSkippedAsDuplicate}
}

// Enqueue inserts a job. When ctx carries a trace (a request's span), the
// insert gets a span of its own and the job's run continues the trace.
func (e *Engine) Enqueue(ctx context.Context, args Args, o *Opts) (res *Result, err error) {
	c, _, err := e.clients()
	if err != nil {
		return nil, err
	}
	ctx, end := e.enqueueSpan(ctx, args.Kind(), 1)
	defer func() { end(res, err) }()
	ro, err := e.insertOpts(o, telemetry.Inject(ctx))
	if err != nil {
		return nil, err
	}
	r, err := c.Insert(ctx, args, ro)
	if err != nil {
		return nil, fmt.Errorf("jobs: enqueueing %s: %w", args.Kind(), err)
	}
	return result(r), nil
}

// EnqueueTx inserts a job inside the app's transaction tx: the job exists
// only if tx commits.
func (e *Engine) EnqueueTx(ctx context.Context, tx *sql.Tx, args Args, o *Opts) (res *Result, err error) {
	_, ins, err := e.clients()
	if err != nil {
		return nil, err
	}
	ctx, end := e.enqueueSpan(ctx, args.Kind(), 1)
	defer func() { end(res, err) }()
	ro, err := e.insertOpts(o, telemetry.Inject(ctx))
	if err != nil {
		return nil, err
	}
	r, err := ins.InsertTx(ctx, tx, args, ro)
	if err != nil {
		return nil, fmt.Errorf("jobs: enqueueing %s: %w", args.Kind(), err)
	}
	return result(r), nil
}

// Request is one job for EnqueueMany and EnqueueManyTx.
type Request struct {
	Args Args
	Opts *Opts
	// Trace, when not nil, is the trace context (see telemetry.Inject) the
	// job's run continues instead of the enqueuer's: work enqueued on
	// behalf of an earlier request (the mailer's relay) stays in that
	// request's trace.
	Trace map[string]string
}

// params converts reqs to River's; traceCtx is the enqueuer's trace.
func (e *Engine) params(reqs []Request, traceCtx map[string]string) ([]river.InsertManyParams, error) {
	params := make([]river.InsertManyParams, len(reqs))
	for i, r := range reqs {
		tc := traceCtx
		if r.Trace != nil {
			tc = r.Trace
		}
		ro, err := e.insertOpts(r.Opts, tc)
		if err != nil {
			return nil, err
		}
		params[i] = river.InsertManyParams{Args: r.Args, InsertOpts: ro}
	}
	return params, nil
}

// batchKind names a batch for its span: the first job's kind.
func batchKind(reqs []Request) string {
	if len(reqs) > 0 && reqs[0].Args != nil {
		return reqs[0].Args.Kind()
	}
	return "batch"
}

// EnqueueManyTx inserts several jobs in one batch inside the app's
// transaction tx: they exist only if tx commits.
func (e *Engine) EnqueueManyTx(ctx context.Context, tx *sql.Tx, reqs []Request) ([]*Result, error) {
	_, ins, err := e.clients()
	if err != nil {
		return nil, err
	}
	return e.enqueueMany(ctx, reqs, func(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
		return ins.InsertManyTx(ctx, tx, params)
	})
}

// EnqueueMany inserts several jobs in one batch.
func (e *Engine) EnqueueMany(ctx context.Context, reqs []Request) ([]*Result, error) {
	c, _, err := e.clients()
	if err != nil {
		return nil, err
	}
	return e.enqueueMany(ctx, reqs, c.InsertMany)
}

// enqueueMany inserts reqs with insert, in an enqueue span whose trace
// context the jobs carry.
func (e *Engine) enqueueMany(ctx context.Context, reqs []Request, insert func(context.Context, []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)) (_ []*Result, err error) {
	ctx, end := e.enqueueSpan(ctx, batchKind(reqs), len(reqs))
	defer func() { end(nil, err) }()
	params, err := e.params(reqs, telemetry.Inject(ctx))
	if err != nil {
		return nil, err
	}
	res, err := insert(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("jobs: enqueueing %d jobs: %w", len(reqs), err)
	}
	out := make([]*Result, len(res))
	for i, r := range res {
		out[i] = result(r)
	}
	return out, nil
}

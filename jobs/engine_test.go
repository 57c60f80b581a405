package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/trellistest"
)

// newEngine opens a migrated database of the given dialect and an engine
// on it; mutate adjusts the jobs configuration.
func newEngine(t *testing.T, dialect string, mutate ...func(*config.Jobs)) (*jobs.Engine, *db.DB) {
	t.Helper()
	cfg := config.Default(config.Test)
	if dialect == "postgres" {
		cfg.Database.URL = trellistest.PostgresURL(t)
	}
	jc := cfg.Jobs
	jc.PollInterval = 50 * time.Millisecond
	jc.RetryBase = 50 * time.Millisecond
	for _, m := range mutate {
		m(&jc)
	}
	ctx := context.Background()
	d, err := db.Open(ctx, cfg.Database, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Migrate(ctx, nil, db.Framework()); err != nil {
		t.Fatal(err)
	}
	e, err := jobs.New(jc, d, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Stop(ctx)
		_ = d.Close()
	})
	return e, d
}

func dialects(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}

type noteArgs struct {
	N int `json:"n"`
}

func (noteArgs) Kind() string { return "note" }

type failArgs struct{}

func (failArgs) Kind() string { return "fail" }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestRunsJobsAndCountsThem(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		e, _ := newEngine(t, dialect)
		var mu sync.Mutex
		seen := map[int]bool{}
		jobs.RegisterFunc(e, func(ctx context.Context, j *jobs.Job[noteArgs]) error {
			mu.Lock()
			seen[j.Args.N] = true
			mu.Unlock()
			return nil
		})
		var attempts atomic.Int32
		jobs.RegisterFunc(e, func(ctx context.Context, j *jobs.Job[failArgs]) error {
			attempts.Add(1)
			return errors.New("always fails")
		})
		ctx := context.Background()
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			if _, err := e.Enqueue(ctx, noteArgs{N: i}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.Enqueue(ctx, failArgs{}, &jobs.Opts{MaxRetries: jobs.Retries(2)}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "20 notes", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 20 })
		waitFor(t, "the failing job in the dead letter queue", func() bool {
			s, err := e.Stats(ctx)
			return err == nil && s.Total.DeadLetter == 1
		})
		time.Sleep(1100 * time.Millisecond) // stats cache
		s, err := e.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tot := s.Total
		if tot.Enqueued != 21 || tot.Completed != 20 || tot.Failed != 1 || tot.Retried != 2 || tot.DeadLetter != 1 || attempts.Load() != 3 {
			t.Errorf("totals %+v, attempts %d", tot, attempts.Load())
		}
		if tot.SuccessRate != 95.24 {
			t.Errorf("success rate %v", tot.SuccessRate)
		}
		if tot.Execution.Count != 20 || tot.Execution.P99 < tot.Execution.P50 {
			t.Errorf("execution distribution %+v", tot.Execution)
		}
		list, err := e.List(ctx, jobs.ListParams{Status: jobs.StatusDead})
		if err != nil || list.Total != 1 || len(list.Jobs) != 1 || list.Jobs[0].Kind != "fail" {
			t.Fatalf("dead list %+v %v", list, err)
		}
		d, err := e.Get(ctx, list.Jobs[0].ID)
		if err != nil || len(d.Errors) != 3 || d.Errors[0].Error != "always fails" {
			t.Fatalf("detail %+v %v", d, err)
		}
		t.Logf("exec %+v wait %+v", tot.Execution, tot.QueueWait)
	})
}

type recArgs struct {
	Label string `json:"label"`
}

func (recArgs) Kind() string { return "rec" }

type flakyArgs struct{}

func (flakyArgs) Kind() string { return "flaky" }

type sleepArgs struct {
	MS int `json:"ms"`
}

func (sleepArgs) Kind() string { return "sleep" }

type permArgs struct{}

func (permArgs) Kind() string { return "perm" }

// recorder collects the order in which rec jobs ran.
type recorder struct {
	mu    sync.Mutex
	order []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.order = append(r.order, s)
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.order...)
}

func TestPriorityOrder(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		e, _ := newEngine(t, dialect, func(c *config.Jobs) { c.Queues = []string{"default:1"} })
		rec := &recorder{}
		jobs.RegisterFunc(e, func(ctx context.Context, j *jobs.Job[recArgs]) error { rec.add(j.Args.Label); return nil })
		ctx := context.Background()
		for i, p := range []int{jobs.PriorityLow, jobs.PriorityDefault, jobs.PriorityHigh, jobs.PriorityLow, jobs.PriorityHigh} {
			if _, err := e.Enqueue(ctx, recArgs{Label: fmt.Sprintf("p%d-%d", p, i)}, &jobs.Opts{Priority: p}); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "five jobs", func() bool { return len(rec.snapshot()) == 5 })
		got := rec.snapshot()
		want := []string{"p1-2", "p1-4", "p2-1", "p4-0", "p4-3"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("order %v, want %v", got, want)
		}
	})
}

func TestRetryBackoffTimeoutPermanentAndDeadLetterRetry(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		e, _ := newEngine(t, dialect)
		var flaky atomic.Int32
		jobs.RegisterFunc(e, func(ctx context.Context, j *jobs.Job[flakyArgs]) error {
			if flaky.Add(1) < 3 {
				return errors.New("not yet")
			}
			return nil
		})
		jobs.RegisterFunc(e, func(ctx context.Context, j *jobs.Job[sleepArgs]) error {
			select {
			case <-time.After(time.Duration(j.Args.MS) * time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		var permRuns atomic.Int32
		jobs.RegisterFunc(e, func(ctx context.Context, j *jobs.Job[permArgs]) error {
			if permRuns.Add(1) > 1 {
				return nil // fixed: a retry from the dead letter queue succeeds
			}
			return jobs.Permanent(errors.New("bad input"))
		})
		ctx := context.Background()
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		fl, _ := e.Enqueue(ctx, flakyArgs{}, nil)
		slow, _ := e.Enqueue(ctx, sleepArgs{MS: 5000}, &jobs.Opts{Timeout: 100 * time.Millisecond, MaxRetries: jobs.Retries(0)})
		perm, _ := e.Enqueue(ctx, permArgs{}, &jobs.Opts{MaxRetries: jobs.Retries(5)})

		waitFor(t, "flaky job to succeed", func() bool {
			d, err := e.Get(ctx, fl.ID)
			return err == nil && d.Status == jobs.StatusCompleted
		})
		d, _ := e.Get(ctx, fl.ID)
		if d.Attempt != 3 || len(d.Errors) != 2 || !d.Errors[1].At.After(d.Errors[0].At) {
			t.Errorf("flaky: attempt %d errors %+v", d.Attempt, d.Errors)
		}

		waitFor(t, "timed-out job in the dead letter queue", func() bool {
			d, err := e.Get(ctx, slow.ID)
			return err == nil && d.Status == jobs.StatusDead
		})
		d, _ = e.Get(ctx, slow.ID)
		if len(d.Errors) != 1 || !strings.Contains(d.Errors[0].Error, "deadline exceeded") {
			t.Errorf("timeout error: %+v", d.Errors)
		}

		waitFor(t, "permanent failure in the dead letter queue", func() bool {
			d, err := e.Get(ctx, perm.ID)
			return err == nil && d.Status == jobs.StatusDead
		})
		if d, _ := e.Get(ctx, perm.ID); d.Attempt != 1 || permRuns.Load() != 1 {
			t.Errorf("permanent error retried: attempt %d runs %d", d.Attempt, permRuns.Load())
		}
		if _, err := e.Retry(ctx, perm.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "dead job retried to completion", func() bool {
			d, err := e.Get(ctx, perm.ID)
			return err == nil && d.Status == jobs.StatusCompleted
		})
	})
}

func TestCancelPendingAndRunning(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		e, _ := newEngine(t, dialect)
		started := make(chan struct{}, 1)
		var stoppedByCancel atomic.Bool
		jobs.RegisterFunc(e, func(ctx context.Context, j *jobs.Job[sleepArgs]) error {
			started <- struct{}{}
			select {
			case <-time.After(time.Duration(j.Args.MS) * time.Millisecond):
				return nil
			case <-ctx.Done():
				stoppedByCancel.Store(true)
				return ctx.Err()
			}
		})
		ctx := context.Background()
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		later, _ := e.Enqueue(ctx, sleepArgs{MS: 1}, &jobs.Opts{RunAt: time.Now().Add(time.Hour)})
		if d, err := e.Cancel(ctx, later.ID); err != nil || d.Status != jobs.StatusCancelled {
			t.Fatalf("cancel pending: %+v %v", d, err)
		}
		running, _ := e.Enqueue(ctx, sleepArgs{MS: 30000}, nil)
		<-started
		if _, err := e.Cancel(ctx, running.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "running job cancelled", func() bool {
			d, err := e.Get(ctx, running.ID)
			return err == nil && d.Status == jobs.StatusCancelled
		})
		if !stoppedByCancel.Load() {
			t.Error("the worker's context was not cancelled")
		}
		time.Sleep(300 * time.Millisecond)
		if d, _ := e.Get(ctx, running.ID); d.Status != jobs.StatusCancelled || d.Attempt != 1 {
			t.Errorf("cancelled job was retried: %+v", d)
		}
		if _, err := e.Cancel(ctx, 999999); !errors.Is(err, jobs.ErrNotFound) {
			t.Errorf("missing job: %v", err)
		}
		if st, err := e.Stats(ctx); err != nil || st.Total.Cancelled != 2 {
			t.Errorf("stats count %+v cancelled jobs (%v), want 2", st.Total, err)
		}
	})
}

func TestUniqueAndTransactionalEnqueue(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		e, d := newEngine(t, dialect)
		ctx := context.Background()
		u := &jobs.Opts{Unique: jobs.Unique{ByArgs: true}}
		a, err := e.Enqueue(ctx, recArgs{Label: "same"}, u)
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.Enqueue(ctx, recArgs{Label: "same"}, u)
		if err != nil || !b.Duplicate || b.ID != a.ID {
			t.Fatalf("duplicate: %+v %v", b, err)
		}
		c, _ := e.Enqueue(ctx, recArgs{Label: "other"}, u)
		if c.Duplicate {
			t.Fatal("different args counted as duplicate")
		}

		tx, err := d.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		rolled, err := e.EnqueueTx(ctx, tx, recArgs{Label: "rolled back"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = tx.Rollback()
		if _, err := e.Get(ctx, rolled.ID); !errors.Is(err, jobs.ErrNotFound) {
			t.Errorf("job from a rolled-back transaction exists: %v", err)
		}
		tx, _ = d.SQL.BeginTx(ctx, nil)
		kept, err := e.EnqueueTx(ctx, tx, recArgs{Label: "committed"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Get(ctx, kept.ID); err != nil {
			t.Errorf("committed job missing: %v", err)
		}
		if _, err := e.Enqueue(ctx, recArgs{}, &jobs.Opts{Priority: 9}); !errors.Is(err, jobs.ErrInvalidOpts) {
			t.Errorf("priority 9: %v", err)
		}
	})
}

func TestCronFiresOnceAcrossClientsAndRestarts(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		e1, d := newEngine(t, dialect)
		cfg := config.Default(config.Test).Jobs
		cfg.PollInterval, cfg.FetchCooldown = 50*time.Millisecond, 10*time.Millisecond
		e2, err := jobs.New(cfg, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e2.Stop(context.Background()) })
		var runs atomic.Int32
		for _, e := range []*jobs.Engine{e1, e2} {
			jobs.RegisterFunc(e, func(ctx context.Context, j *jobs.Job[recArgs]) error { runs.Add(1); return nil })
			if err := e.Schedule("tick", "* * * * * *", func() jobs.Args { return recArgs{Label: "tick"} }, nil); err != nil {
				t.Fatal(err)
			}
		}
		ctx := context.Background()
		start := time.Now()
		for _, e := range []*jobs.Engine{e1, e2} {
			if err := e.Start(ctx); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(4200 * time.Millisecond)
		_ = e1.Stop(ctx)
		_ = e2.Stop(ctx)
		elapsed := time.Since(start)
		n := enqueuedTicks(t, e1)
		// One fire per second, claimed once, whichever process saw it first.
		if max := int(elapsed.Seconds()) + 1; n < 3 || n > max {
			t.Fatalf("%d ticks enqueued in %v with two schedulers (want 3 to %d)", n, elapsed, max)
		}
		// Both stopped for ~2.5s: a new process catches up on the latest
		// missed fire once, not once per missed second.
		time.Sleep(2500 * time.Millisecond)
		e3, err := jobs.New(cfg, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e3.Stop(context.Background()) })
		jobs.RegisterFunc(e3, func(ctx context.Context, j *jobs.Job[recArgs]) error { return nil })
		_ = e3.Schedule("tick", "* * * * * *", func() jobs.Args { return recArgs{Label: "tick"} }, nil)
		if err := e3.Start(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		_ = e3.Stop(ctx)
		if got := enqueuedTicks(t, e1) - n; got != 1 {
			t.Errorf("after a restart: %d catch-up fires, want 1", got)
		}
		if _, err := jobs.ParseSchedule("61 * * * *"); err == nil {
			t.Error("bad cron accepted")
		}
		for _, ok := range []string{"*/5 * * * *", "0 9 * * 1-5", "30 0 9 * * *", "CRON_TZ=Europe/Berlin 0 9 * * *", "@every 90s", "@daily"} {
			if _, err := jobs.ParseSchedule(ok); err != nil {
				t.Errorf("%q: %v", ok, err)
			}
		}
	})
}

func enqueuedTicks(t *testing.T, e *jobs.Engine) int {
	t.Helper()
	l, err := e.List(context.Background(), jobs.ListParams{Kind: "rec"})
	if err != nil {
		t.Fatal(err)
	}
	return l.Total
}

func TestGracefulStopReturnsUnfinishedJobs(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		e, d := newEngine(t, dialect)
		var finished atomic.Int32
		started := make(chan int, 10)
		work := func(ctx context.Context, j *jobs.Job[sleepArgs]) error {
			started <- j.Args.MS
			select {
			case <-time.After(time.Duration(j.Args.MS) * time.Millisecond):
				finished.Add(1)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		jobs.RegisterFunc(e, work)
		ctx := context.Background()
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		quick, _ := e.Enqueue(ctx, sleepArgs{MS: 200}, nil)
		long, _ := e.Enqueue(ctx, sleepArgs{MS: 10000}, nil)
		<-started
		<-started
		stopCtx, cancel := context.WithTimeout(ctx, 800*time.Millisecond)
		defer cancel()
		_ = e.Stop(stopCtx)
		// The next process sees the quick job done and runs the long one.
		cfg := config.Default(config.Test).Jobs
		cfg.PollInterval, cfg.FetchCooldown = 50*time.Millisecond, 10*time.Millisecond
		next, _ := jobs.New(cfg, d, nil)
		t.Cleanup(func() { _ = next.Stop(context.Background()) })
		if q, err := next.Get(ctx, quick.ID); err != nil || q.Status != jobs.StatusCompleted {
			t.Fatalf("job inside the grace period: %+v %v", q, err)
		}
		l, err := next.Get(ctx, long.ID)
		if err != nil || l.Status != jobs.StatusPending || len(l.Errors) != 0 {
			t.Fatalf("job cut off by shutdown: %+v %v", l, err)
		}
		jobs.RegisterFunc(next, func(ctx context.Context, j *jobs.Job[sleepArgs]) error { finished.Add(1); return nil })
		if err := next.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the interrupted job to complete", func() bool {
			j, err := next.Get(ctx, long.ID)
			return err == nil && j.Status == jobs.StatusCompleted
		})
		if finished.Load() != 2 {
			t.Errorf("finished %d times", finished.Load())
		}
	})
}

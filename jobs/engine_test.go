package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
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

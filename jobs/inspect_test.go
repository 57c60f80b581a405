package jobs_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/trellis-go/trellis/jobs"
)

// TestRetryRunningAndRetryAllDead: a running job cannot be retried, and
// retry-all makes every dead job run again.
func TestRetryRunningAndRetryAllDead(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		e, _ := newEngine(t, dialect)
		started, release := make(chan struct{}, 1), make(chan struct{})
		jobs.RegisterFunc(e, func(ctx context.Context, j *jobs.Job[sleepArgs]) error {
			started <- struct{}{}
			<-release
			return nil
		})
		jobs.RegisterFunc(e, func(ctx context.Context, j *jobs.Job[failArgs]) error { return errors.New("still broken") })
		ctx := context.Background()
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		running, _ := e.Enqueue(ctx, sleepArgs{}, nil)
		<-started
		d, err := e.Retry(ctx, running.ID)
		if !errors.Is(err, jobs.ErrRunning) || d == nil || d.Status != jobs.StatusRunning {
			t.Errorf("retrying a running job: %+v %v", d, err)
		}
		close(release)
		if _, err := e.Retry(ctx, 999999); !errors.Is(err, jobs.ErrNotFound) {
			t.Errorf("retrying a missing job: %v", err)
		}

		var dead []int64
		for range 3 {
			r, _ := e.Enqueue(ctx, failArgs{}, &jobs.Opts{MaxRetries: jobs.Retries(0), Tags: []string{"broken"}})
			dead = append(dead, r.ID)
		}
		waitFor(t, "three dead jobs", func() bool {
			l, err := e.List(ctx, jobs.ListParams{Status: jobs.StatusDead})
			return err == nil && l.Total == 3
		})
		n, err := e.RetryAllDead(ctx)
		if err != nil || n != 3 {
			t.Fatalf("retry-all: %d %v", n, err)
		}
		// Each ran once more and died again: two attempts, two errors.
		waitFor(t, "every retried job to run again", func() bool {
			for _, id := range dead {
				d, err := e.Get(ctx, id)
				if err != nil || d.Status != jobs.StatusDead || d.Attempt != 2 || len(d.Errors) != 2 {
					return false
				}
			}
			return true
		})

		// Filters and paging over River's JobList.
		for name, c := range map[string]struct {
			p    jobs.ListParams
			want int
		}{
			"tag":        {jobs.ListParams{Tag: "broken"}, 3},
			"other tag":  {jobs.ListParams{Tag: "nope"}, 0},
			"kind":       {jobs.ListParams{Kind: "fail"}, 3},
			"queue":      {jobs.ListParams{Queue: "default", Status: jobs.StatusCompleted}, 1},
			"search":     {jobs.ListParams{Q: "fai"}, 3},
			"search id":  {jobs.ListParams{Q: itoa(running.ID)}, 1},
			"wildcard":   {jobs.ListParams{Q: "%"}, 0},
			"scheduled":  {jobs.ListParams{Status: jobs.StatusScheduled}, 0},
			"everything": {jobs.ListParams{}, 4},
		} {
			l, err := e.List(ctx, c.p)
			if err != nil || l.Total != c.want || len(l.Jobs) != c.want {
				t.Errorf("%s: total %v, %d listed, %v; want %d", name, l, len(l.Jobs), err, c.want)
			}
		}
		page1, err := e.List(ctx, jobs.ListParams{Limit: 3})
		if err != nil || len(page1.Jobs) != 3 || page1.NextCursor != itoa(page1.Jobs[2].ID) || page1.Jobs[0].ID != dead[2] {
			t.Fatalf("page 1: %+v %v", page1, err)
		}
		page2, err := e.List(ctx, jobs.ListParams{Limit: 3, Cursor: page1.NextCursor})
		if err != nil || len(page2.Jobs) != 1 || page2.Jobs[0].ID != running.ID || page2.NextCursor != "" || page2.Total != 4 {
			t.Fatalf("page 2: %+v %v", page2, err)
		}
		if _, err := e.List(ctx, jobs.ListParams{Cursor: "x"}); !errors.Is(err, jobs.ErrBadCursor) {
			t.Errorf("bad cursor: %v", err)
		}

		cleared, err := e.ClearDead(ctx)
		if err != nil || cleared != 3 {
			t.Fatalf("clear: %d %v", cleared, err)
		}
		if l, _ := e.List(ctx, jobs.ListParams{}); l.Total != 1 {
			t.Errorf("%d jobs left after clearing, want 1", l.Total)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestRetryAllDeadReportsAFailedRetry: when retrying one dead job fails
// (here a trigger refuses the update), retry-all stops with the error and
// does not count the job as retried.
func TestRetryAllDeadReportsAFailedRetry(t *testing.T) {
	e, d := newEngine(t, "sqlite")
	jobs.RegisterFunc(e, func(ctx context.Context, j *jobs.Job[failArgs]) error { return errors.New("still broken") })
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := e.Enqueue(ctx, failArgs{}, &jobs.Opts{MaxRetries: jobs.Retries(0)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "two dead jobs", func() bool {
		l, err := e.List(ctx, jobs.ListParams{Status: jobs.StatusDead})
		return err == nil && l.Total == 2
	})
	if _, err := d.SQL.ExecContext(ctx, `CREATE TRIGGER refuse_retry BEFORE UPDATE ON river_job
		WHEN OLD.state = 'discarded' BEGIN SELECT RAISE(ABORT, 'retries refused'); END`); err != nil {
		t.Fatal(err)
	}
	n, err := e.RetryAllDead(ctx)
	if err == nil || n != 0 {
		t.Fatalf("retry-all with every retry failing: %d retried, error %v; want 0 and the error", n, err)
	}
	if l, _ := e.List(ctx, jobs.ListParams{Status: jobs.StatusDead}); l.Total != 2 {
		t.Errorf("%d dead jobs after a failed retry-all, want 2", l.Total)
	}
}

package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/jobs"
)

// TestPrometheusHistograms: every attempt lands in the run-time histogram
// under its outcome, and every start in the queue-wait histogram.
func TestPrometheusHistograms(t *testing.T) {
	e, _ := newEngine(t, "sqlite")
	jobs.RegisterFunc(e, func(context.Context, *jobs.Job[noteArgs]) error { return nil })
	jobs.RegisterFunc(e, func(context.Context, *jobs.Job[failArgs]) error { return errors.New("broken") })
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Enqueue(ctx, noteArgs{N: 1}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Enqueue(ctx, failArgs{}, &jobs.Opts{MaxRetries: jobs.Retries(0)}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(e); err != nil {
		t.Fatal(err)
	}
	counts := func() map[string]uint64 {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		c := map[string]uint64{}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				if h := m.GetHistogram(); h != nil {
					key := f.GetName()
					for _, l := range m.GetLabel() {
						key += " " + l.GetName() + "=" + l.GetValue()
					}
					c[key] = h.GetSampleCount()
				}
			}
		}
		return c
	}
	want := map[string]uint64{
		"trellis_job_run_seconds kind=note outcome=completed": 1,
		"trellis_job_run_seconds kind=fail outcome=failed":    1,
		"trellis_job_queue_wait_seconds kind=note":            1,
		"trellis_job_queue_wait_seconds kind=fail":            1,
	}
	waitFor(t, "both attempts in the histograms", func() bool {
		c := counts()
		for k, n := range want {
			if c[k] != n {
				return false
			}
		}
		return true
	})
}

// TestEnqueueTxRefusesBadOptions: EnqueueTx checks options like Enqueue
// and inserts nothing.
func TestEnqueueTxRefusesBadOptions(t *testing.T) {
	e, d := newEngine(t, "sqlite")
	ctx := context.Background()
	tx, err := d.SQL.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	for name, o := range map[string]*jobs.Opts{
		"priority": {Priority: 9}, "retries": {MaxRetries: jobs.Retries(-1)}, "timeout": {Timeout: -1},
	} {
		if r, err := e.EnqueueTx(ctx, tx, noteArgs{}, o); !errors.Is(err, jobs.ErrInvalidOpts) || r != nil {
			t.Errorf("%s: %+v %v, want ErrInvalidOpts", name, r, err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job`).Scan(&n); err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d jobs inserted with bad options", n)
	}
}

// TestStatsStatesAndResetCounters: River's pending state counts as
// pending, and a kind whose counters were deleted (by hand, say) still
// shows with its durations instead of breaking the stats.
func TestStatsStatesAndResetCounters(t *testing.T) {
	e, d := newEngine(t, "sqlite")
	jobs.RegisterFunc(e, func(context.Context, *jobs.Job[noteArgs]) error { return nil })
	jobs.RegisterFunc(e, func(context.Context, *jobs.Job[sleepArgs]) error { return nil })
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done, err := e.Enqueue(ctx, noteArgs{N: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job to complete", func() bool {
		j, err := e.Get(ctx, done.ID)
		return err == nil && j.Status == jobs.StatusCompleted
	})
	later, err := e.Enqueue(ctx, sleepArgs{}, &jobs.Opts{RunAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.SQL.ExecContext(ctx, `UPDATE river_job SET state = 'pending' WHERE id = ?`, later.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SQL.ExecContext(ctx, `DELETE FROM trellis_job_counters`); err != nil {
		t.Fatal(err)
	}
	st, err := e.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Total.Pending != 1 || st.Total.Scheduled != 0 {
		t.Errorf("a pending job counted as %d pending, %d scheduled; want 1 and 0", st.Total.Pending, st.Total.Scheduled)
	}
	if len(st.Kinds) != 2 || st.Kinds[0].Kind != "note" || st.Kinds[0].Completed != 0 {
		t.Errorf("kinds after the counters were reset: %+v", st.Kinds)
	}
}

// TestListLimitAndDefaultRetries: a limit of one lists one job, and a
// failing job without options runs jobs.max_retries + 1 times before it is
// dead.
func TestListLimitAndDefaultRetries(t *testing.T) {
	e, _ := newEngine(t, "sqlite", func(c *config.Jobs) { c.MaxRetries = 1 })
	jobs.RegisterFunc(e, func(context.Context, *jobs.Job[failArgs]) error { return errors.New("broken") })
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	first, err := e.Enqueue(ctx, failArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job to be dead", func() bool {
		d, err := e.Get(ctx, first.ID)
		return err == nil && d.Status == jobs.StatusDead
	})
	if d, _ := e.Get(ctx, first.ID); d.Attempt != 2 || len(d.Errors) != 2 {
		t.Errorf("with max_retries 1 the job ran %d times (%d errors), want 2", d.Attempt, len(d.Errors))
	}
	if _, err := e.Enqueue(ctx, failArgs{}, &jobs.Opts{RunAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if l, err := e.List(ctx, jobs.ListParams{Limit: 1}); err != nil || len(l.Jobs) != 1 || l.NextCursor == "" {
		t.Errorf("limit 1: %+v %v", l, err)
	}
}

// TestStatsWithoutRiverTable: a failing count is an error, not a panic or
// zeros.
func TestStatsWithoutRiverTable(t *testing.T) {
	e, d := newEngine(t, "sqlite")
	ctx := context.Background()
	if _, err := d.SQL.ExecContext(ctx, `DROP TABLE river_job`); err != nil {
		t.Fatal(err)
	}
	if st, err := e.Stats(ctx); err == nil {
		t.Errorf("stats without river_job: %+v, want an error", st)
	}
}

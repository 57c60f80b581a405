package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/jobs"
)

// mixArgs is a job whose worker behaves as Mode says (see mixWorker).
type mixArgs struct {
	Mode string `json:"mode"`
	N    int    `json:"n"`
}

func (mixArgs) Kind() string { return "mix" }

// mixWorker: ok completes; flaky fails its first attempt and then
// completes; snooze snoozes its first attempt and then completes; dead
// always fails; perm fails permanently; cancelself cancels itself; block
// runs until its context ends (cancelled from outside); parked fails and
// is retried only an hour later, so it waits as retryable.
type mixWorker struct {
	jobs.WorkerDefaults[mixArgs]
	started chan<- int64
	snoozed sync.Map
}

func (w *mixWorker) NextRetry(j *jobs.Job[mixArgs]) time.Time {
	if j.Args.Mode == "parked" {
		return time.Now().Add(time.Hour)
	}
	return time.Time{} // the engine's backoff
}

func (w *mixWorker) Work(ctx context.Context, j *jobs.Job[mixArgs]) error {
	switch j.Args.Mode {
	case "flaky":
		if j.Attempt == 1 {
			return errors.New("flaky")
		}
	case "snooze":
		// A snooze gives the attempt back, so Attempt stays 1.
		if _, again := w.snoozed.LoadOrStore(j.ID, true); !again {
			return river.JobSnooze(10 * time.Millisecond)
		}
	case "dead", "parked":
		return errors.New(j.Args.Mode)
	case "perm":
		return jobs.Permanent(errors.New("perm"))
	case "cancelself":
		return river.JobCancel(errors.New("cancel myself"))
	case "block":
		w.started <- j.ID
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// counters reads the durable counters of kind straight from their table.
func counters(t *testing.T, d *db.DB, kind string) map[string]int64 {
	t.Helper()
	rows, err := d.SQL.Query(d.Rebind(`SELECT metric, n FROM trellis_job_counters WHERE kind = ?`), kind)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	c := map[string]int64{}
	for rows.Next() {
		var m string
		var n int64
		if err := rows.Scan(&m, &n); err != nil {
			t.Fatal(err)
		}
		c[m] = n
	}
	return c
}

// unfinished counts jobs not yet in a final state (scheduled jobs
// included, so a snoozed or retried job counts until it ran again).
func unfinished(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.SQL.QueryRow(`SELECT COUNT(*) FROM river_job WHERE state NOT IN ('completed', 'discarded', 'cancelled')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// runHistograms sums the run-time histogram counts of the engines by
// outcome.
func runHistograms(t *testing.T, engines ...*jobs.Engine) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, e := range engines {
		reg := prometheus.NewRegistry()
		if err := reg.Register(e); err != nil {
			t.Fatal(err)
		}
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				if h := m.GetHistogram(); h != nil {
					key := f.GetName()
					for _, l := range m.GetLabel() {
						if l.GetName() == "outcome" {
							key += " " + l.GetValue()
						}
					}
					out[key] += h.GetSampleCount()
				}
			}
		}
	}
	return out
}

// TestCountersExactUnderConcurrentMixedLoad: two engines on one database
// work a mix of jobs enqueued concurrently — completed, failed and
// retried, snoozed, dead, permanently failed, cancelled by themselves,
// cancelled while running and while scheduled — and the durable counters
// come out exact (a retry waiting as retryable, then cancelled, too); retrying the dead letter queue by hand counts only the
// new failures, and deleting finished jobs changes no counter. The
// run-time histograms hold every attempt but the snoozes.
func TestCountersExactUnderConcurrentMixedLoad(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e1, d := newEngine(t, dialect, func(c *config.Jobs) { c.Queues = []string{"default:8"} })
		jc := config.Default(config.Test).Jobs
		jc.PollInterval, jc.RetryBase, jc.Queues = 50*time.Millisecond, 50*time.Millisecond, []string{"default:8"}
		e2, err := jobs.New(jc, d, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = e2.Stop(ctx)
		})
		started := make(chan int64, 64)
		w := &mixWorker{started: started}
		for _, e := range []*jobs.Engine{e1, e2} {
			jobs.Register(e, w)
			if err := e.Start(ctx); err != nil {
				t.Fatal(err)
			}
		}

		// Each mode's count; "dead" jobs get one retry, the others the
		// default (3).
		modes := map[string]int{"ok": 60, "flaky": 12, "snooze": 8, "dead": 10, "perm": 7, "cancelself": 5, "block": 3}
		const scheduled = 6 // enqueued for later and cancelled while waiting
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for mode, n := range modes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var o *jobs.Opts
				if mode == "dead" {
					o = &jobs.Opts{MaxRetries: jobs.Retries(1)}
				}
				// Half one by one, half in one batch.
				for i := range n / 2 {
					if _, err := e1.Enqueue(ctx, mixArgs{Mode: mode, N: i}, o); err != nil {
						errs <- err
						return
					}
				}
				var reqs []jobs.Request
				for i := n / 2; i < n; i++ {
					reqs = append(reqs, jobs.Request{Args: mixArgs{Mode: mode, N: i}, Opts: o})
				}
				if _, err := e2.EnqueueMany(ctx, reqs); err != nil {
					errs <- err
				}
			}()
		}
		var later []int64
		for i := range scheduled {
			r, err := e2.Enqueue(ctx, mixArgs{Mode: "ok", N: 1000 + i}, &jobs.Opts{RunAt: time.Now().Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			later = append(later, r.ID)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, id := range later {
			if _, err := e1.Cancel(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		for range modes["block"] {
			id := <-started
			if _, err := e2.Cancel(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "every job finished", func() bool { return unfinished(t, d) == 0 })

		// Jobs whose retry waits an hour, failing alone (on PostgreSQL, a
		// completion batch of retries only), are cancelled while they
		// wait as retryable.
		const parked = 4
		for i := range parked {
			if _, err := e1.Enqueue(ctx, mixArgs{Mode: "parked", N: i}, nil); err != nil {
				t.Fatal(err)
			}
		}
		var retryable []int64
		waitFor(t, "the parked jobs retryable", func() bool {
			retryable = nil
			rows, err := d.SQL.Query(`SELECT id FROM river_job WHERE state = 'retryable'`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				_ = rows.Scan(&id)
				retryable = append(retryable, id)
			}
			return len(retryable) == parked
		})
		for _, id := range retryable {
			if _, err := e2.Cancel(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		modes["parked"] = parked

		total := scheduled
		for _, n := range modes {
			total += n
		}
		dead := modes["dead"] + modes["perm"]
		want := map[string]int64{
			"enqueued":  int64(total),
			"completed": int64(modes["ok"] + modes["flaky"] + modes["snooze"]),
			"retried":   int64(modes["flaky"] + modes["dead"] + modes["parked"]),
			"failed":    int64(dead),
			"cancelled": int64(modes["cancelself"] + modes["block"] + modes["parked"] + scheduled),
		}
		check := func(when string) {
			t.Helper()
			got := counters(t, d, "mix")
			for m, n := range want {
				if got[m] != n {
					t.Errorf("%s: counter %s = %d, want %d (all: %v)", when, m, got[m], n, got)
				}
			}
		}
		check("after the mix")
		failedAttempts := modes["flaky"] + 2*modes["dead"] + modes["perm"] + modes["cancelself"] + modes["block"] + modes["parked"]
		hist := func(when string) {
			t.Helper()
			h := runHistograms(t, e1, e2)
			wantOK := uint64(want["completed"])
			if h["trellis_job_run_seconds completed"] != wantOK || h["trellis_job_run_seconds failed"] != uint64(failedAttempts) {
				t.Errorf("%s: run histograms %v, want %d completed and %d failed attempts", when, h, wantOK, failedAttempts)
			}
		}
		hist("after the mix")

		// Retrying the dead letter queue by hand: each job runs once more
		// and fails again — a new failure, not a retry of a failed attempt.
		if n, err := e1.RetryAllDead(ctx); err != nil || n != dead {
			t.Fatalf("retried %d dead jobs (%v), want %d", n, err, dead)
		}
		waitFor(t, "the retried dead jobs finished", func() bool { return unfinished(t, d) == 0 })
		want["failed"] += int64(dead)
		check("after retrying the dead")
		failedAttempts += dead
		hist("after retrying the dead")

		// Deleting finished jobs leaves the counters alone.
		if n, err := e2.ClearDead(ctx); err != nil || n != dead {
			t.Fatalf("cleared %d dead jobs (%v), want %d", n, err, dead)
		}
		if _, err := d.SQL.Exec(`DELETE FROM river_job WHERE state IN ('completed', 'cancelled')`); err != nil {
			t.Fatal(err)
		}
		check("after deleting finished jobs")
		time.Sleep(1100 * time.Millisecond) // past the Stats cache
		s, err := e1.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(s.Total.Enqueued, s.Total.Completed, s.Total.Failed, s.Total.Retried, s.Total.Cancelled, s.Total.DeadLetter)
		if w := fmt.Sprint(want["enqueued"], want["completed"], want["failed"], want["retried"], want["cancelled"], 0); got != w {
			t.Errorf("Stats totals %s, want %s", got, w)
		}
	})
}

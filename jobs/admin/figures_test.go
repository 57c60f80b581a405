package admin_test

import (
	"context"
	"testing"
	"time"

	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/jobs"
)

// TestRetryRunningIsConflict: retrying a running job answers 409 and
// leaves it running.
func TestRetryRunningIsConflict(t *testing.T) {
	e := newAdminApp(t, "sqlite")
	ctx := context.Background()
	r, err := e.app.Jobs.Enqueue(ctx, okArgs{Note: "x"}, &jobs.Opts{RunAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// Make the job look running, as a worker elsewhere holds it.
	if _, err := e.app.DB.SQL.Exec(e.app.DB.Rebind(`UPDATE river_job SET state = 'running', attempt = 1, attempted_at = ? WHERE id = ?`), time.Now().UTC(), r.ID); err != nil {
		t.Fatal(err)
	}
	res := e.Do("POST", "/admin/jobs/"+itoa(r.ID)+"/retry", nil, api)
	if b := jsonBody(t, res); res.StatusCode != 409 || b["success"] != false || b["message"] == "" {
		t.Errorf("retrying a running job: %d %v", res.StatusCode, b)
	}
	if d, _ := e.app.Jobs.Get(ctx, r.ID); d.Status != jobs.StatusRunning {
		t.Errorf("after a refused retry the job is %s", d.Status)
	}
}

// TestStatsFigures checks the statistics API on jobs with known run times
// and waits: 10, 20, … 100 ms of run time after 5 ms of waiting.
func TestStatsFigures(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		e := newAdminApp(t, dialect)
		ctx := context.Background()
		base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		for i := 1; i <= 10; i++ {
			r, err := e.app.Jobs.Enqueue(ctx, okArgs{}, &jobs.Opts{RunAt: time.Now().Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			attempted := base.Add(5 * time.Millisecond)
			finalized := attempted.Add(time.Duration(i*10) * time.Millisecond)
			q := `UPDATE river_job SET state = 'completed', attempt = 1, scheduled_at = ?, attempted_at = ?, finalized_at = ? WHERE id = ?`
			args := []any{base, attempted, finalized, r.ID}
			if e.app.DB.Dialect == db.SQLite {
				// River's SQLite schema stores times as text in this format.
				const layout = "2006-01-02 15:04:05.999999999"
				args = []any{base.Format(layout), attempted.Format(layout), finalized.Format(layout), r.ID}
			}
			if _, err := e.app.DB.SQL.Exec(e.app.DB.Rebind(q), args...); err != nil {
				t.Fatal(err)
			}
		}
		dead, _ := e.app.Jobs.Enqueue(ctx, deadArgs{}, &jobs.Opts{MaxRetries: jobs.Retries(0)})
		waitFor(t, "the dead job", func() bool {
			d, err := e.app.Jobs.Get(ctx, dead.ID)
			return err == nil && d.Status == jobs.StatusDead
		})
		time.Sleep(1100 * time.Millisecond) // statistics cache
		s := jsonBody(t, e.Get("/admin/jobs/stats", api))
		for k, want := range map[string]float64{
			"total_enqueued": 11, "completed": 10, "failed": 1, "dead_letter": 1, "pending": 0, "running": 0,
			"success_rate": 90.91, "avg_execution_ms": 55, "p50_execution_ms": 50, "p95_execution_ms": 100, "p99_execution_ms": 100,
		} {
			if s[k] != want {
				t.Errorf("%s = %v, want %v", k, s[k], want)
			}
		}
		if w := s["queue_wait"].(map[string]any); w["p50_ms"] != float64(5) || w["count"] != float64(10) {
			t.Errorf("queue wait %v", w)
		}
	})
}

package demo_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/examples/demo"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/trellistest"
)

// TestPlaygroundCannotStarveTheWorkers: a user who floods the playground
// with slow jobs is refused with 429 after the rate limit, while another
// user still may enqueue; the flood fills only the playground queue's
// workers, and a job in the default queue runs while it is saturated.
func TestPlaygroundCannotStarveTheWorkers(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			cfg := trellistest.Config(t)
			if dialect == "postgres" {
				cfg.Database.URL = trellistest.PostgresURL(t)
			}
			cfg.Jobs.PollInterval, cfg.Jobs.FetchCooldown = 100*time.Millisecond, 10*time.Millisecond
			app, err := demo.New(context.Background(), cfg, adminPassword, trellis.WithLogOutput(io.Discard))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				// The slow jobs are cut off and returned at once.
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer cancel()
				_ = app.Close(ctx)
			})
			if err := app.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			s := trellistest.NewServer(t, app)
			flooder := signedIn(t, s, "flooder@example.com")
			slow := url.Values{"kind": {"slow"}, "count": {"100"}}
			var limited *trellistest.Response
			accepted, start := 0, time.Now()
			for range 30 {
				res := flooder.PostForm("/demo/jobs", slow)
				if res.StatusCode == http.StatusTooManyRequests {
					limited = res
					break
				}
				if res.StatusCode != http.StatusSeeOther {
					t.Fatalf("enqueue %d: %d %.200s", accepted+1, res.StatusCode, res.Body)
				}
				accepted++
			}
			// 10 a minute: a token comes back every 6 s, which a slow
			// (loaded) run may see.
			if most := 10 + int(time.Since(start)/(6*time.Second)); limited == nil || accepted < 10 || accepted > most {
				t.Fatalf("accepted %d floods in %v (want 10, at most %d) and was refused: %v", accepted, time.Since(start).Round(time.Millisecond), most, limited != nil)
			}
			if !strings.Contains(limited.Body, "try again in") || limited.Header.Get("Retry-After") == "" {
				t.Errorf("429 without an explanation or Retry-After: %v %.300s", limited.Header, limited.Body)
			}
			// The limit is per user.
			other := signedIn(t, s, "other@example.com")
			if res := other.PostForm("/demo/jobs", url.Values{"kind": {"succeed"}, "count": {"1"}}); res.StatusCode != http.StatusSeeOther {
				t.Errorf("another user's enqueue: %d", res.StatusCode)
			}

			ctx := context.Background()
			waitFor(t, "the playground queue to fill its workers", func() bool {
				l, err := app.Jobs.List(ctx, jobs.ListParams{Status: jobs.StatusRunning, Kind: "demo_slow", Limit: 50})
				return err == nil && len(l.Jobs) == 2
			})
			r, err := app.Jobs.Enqueue(ctx, demo.SucceedArgs{N: 1}, nil)
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "a default-queue job during the flood", func() bool {
				d, err := app.Jobs.Get(ctx, r.ID)
				return err == nil && d.Status == jobs.StatusCompleted
			})
			d, _ := app.Jobs.Get(ctx, r.ID)
			if d.Queue != "default" {
				t.Errorf("the app's job ran in %q", d.Queue)
			}
			running, _ := app.Jobs.List(ctx, jobs.ListParams{Status: jobs.StatusRunning, Kind: "demo_slow", Limit: 50})
			pending, _ := app.Jobs.List(ctx, jobs.ListParams{Status: jobs.StatusPending, Kind: "demo_slow", Limit: 1})
			if len(running.Jobs) != 2 || pending.Total < 900 {
				t.Errorf("the playground queue was not saturated: %d running, %d pending", len(running.Jobs), pending.Total)
			}
			for _, j := range running.Jobs {
				if j.Queue != demo.PlaygroundQueue {
					t.Errorf("slow job %d ran in %q", j.ID, j.Queue)
				}
			}
		})
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

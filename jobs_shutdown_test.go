package trellis_test

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/trellistest"
)

// napArgs jobs sleep for MS milliseconds, giving up when their context ends.
type napArgs struct {
	MS int `json:"ms"`
}

func (napArgs) Kind() string { return "nap" }

// napApp builds an app on cfg whose nap worker reports each start on
// started and counts each finished run in runs.
func napApp(t *testing.T, cfg *config.Config, started chan<- int64, runs *sync.Map) *trellis.App {
	t.Helper()
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close(context.Background()) })
	jobs.RegisterFunc(app.Jobs, func(ctx context.Context, j *jobs.Job[napArgs]) error {
		if started != nil {
			started <- j.ID
		}
		select {
		case <-time.After(time.Duration(j.Args.MS) * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		n, _ := runs.LoadOrStore(j.ID, new(int))
		*n.(*int)++ // one worker per job at a time; Load after Serve returns
		return nil
	})
	return app
}

func shutdownConfig(t *testing.T, dialect string, grace time.Duration) *config.Config {
	cfg := trellistest.Config(t)
	if dialect == "postgres" {
		cfg.Database.URL = trellistest.PostgresURL(t)
	}
	cfg.Server.ShutdownTimeout = grace
	cfg.Jobs.PollInterval, cfg.Jobs.FetchCooldown = 50*time.Millisecond, 10*time.Millisecond
	return cfg
}

func eachJobsDialect(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}

// TestShutdownLetsRunningJobsFinish is the SIGTERM case: the serve context
// ends while jobs run; within server.shutdown_timeout every job completes,
// once, on its first attempt, with no error.
func TestShutdownLetsRunningJobsFinish(t *testing.T) {
	eachJobsDialect(t, func(t *testing.T, dialect string) {
		cfg := shutdownConfig(t, dialect, 10*time.Second)
		const n = 6
		started := make(chan int64, n)
		var runs sync.Map
		app := napApp(t, cfg, started, &runs)
		_, cancel, done := serve(t, app)
		ctx := context.Background()
		ids := make([]int64, n)
		for i := range ids {
			r, err := app.Jobs.Enqueue(ctx, napArgs{MS: 1500}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = r.ID
		}
		for range n {
			<-started
		}
		cancel() // what SIGTERM does to Run's context
		if err := <-done; err != nil {
			t.Fatal(err)
		}

		after := napApp(t, cfg, nil, &runs)
		for _, id := range ids {
			d, err := after.Jobs.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != jobs.StatusCompleted || d.Attempt != 1 || len(d.Errors) != 0 {
				t.Errorf("job %d after shutdown: %s, attempt %d, errors %+v", id, d.Status, d.Attempt, d.Errors)
			}
			if c, _ := runs.Load(id); c == nil || *c.(*int) != 1 {
				t.Errorf("job %d ran to the end %v times, want once", id, c)
			}
		}
	})
}

// TestShutdownReturnsJobsLongerThanTheGrace: a job still running when
// server.shutdown_timeout ends is cancelled and returned to the queue
// without an error and without using up an attempt; the next process runs
// it to completion on attempt 1.
func TestShutdownReturnsJobsLongerThanTheGrace(t *testing.T) {
	eachJobsDialect(t, func(t *testing.T, dialect string) {
		cfg := shutdownConfig(t, dialect, 500*time.Millisecond)
		started := make(chan int64, 1)
		var runs sync.Map
		app := napApp(t, cfg, started, &runs)
		_, cancel, done := serve(t, app)
		ctx := context.Background()
		r, err := app.Jobs.Enqueue(ctx, napArgs{MS: 1500}, nil)
		if err != nil {
			t.Fatal(err)
		}
		<-started
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}

		next := napApp(t, cfg, nil, &runs)
		d, err := next.Jobs.Get(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != jobs.StatusPending || d.Attempt != 0 || len(d.Errors) != 0 {
			t.Fatalf("job cut off by shutdown: %s, attempt %d, errors %+v; want pending, attempt 0, no error", d.Status, d.Attempt, d.Errors)
		}
		if c, _ := runs.Load(r.ID); c != nil {
			t.Fatalf("job finished %d times before the restart", *c.(*int))
		}
		_, cancelNext, doneNext := serve(t, next)
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			d, err = next.Jobs.Get(ctx, r.ID)
			if err == nil && d.Status == jobs.StatusCompleted {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job not completed after the restart: %+v %v", d, err)
			}
		}
		cancelNext()
		if err := <-doneNext; err != nil {
			t.Fatal(err)
		}
		if d.Attempt != 1 || len(d.Errors) != 0 {
			t.Errorf("after the restart: attempt %d, errors %+v; want attempt 1 and no error", d.Attempt, d.Errors)
		}
		if c, _ := runs.Load(r.ID); c == nil || *c.(*int) != 1 {
			t.Errorf("job ran to the end %v times, want once", c)
		}
	})
}

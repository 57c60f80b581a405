package jobs_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/trellistest"
)

// crashArgs jobs take a while and record each completion.
type crashArgs struct {
	N int `json:"n"`
}

func (crashArgs) Kind() string { return "crash" }

// TestMain lets the crash test run this binary as a worker process.
func TestMain(m *testing.M) {
	if os.Getenv("TRELLIS_TEST_CRASH_WORKER") == "1" {
		os.Exit(runCrashWorker())
	}
	os.Exit(m.Run())
}

func crashConfig() (config.Database, config.Jobs) {
	cfg := config.Default(config.Test)
	cfg.Database.URL = os.Getenv("TRELLIS_TEST_CRASH_DB")
	j := cfg.Jobs
	j.Queues = []string{"default:20"}
	j.Timeout = 2 * time.Second // jobs.rescue_after unset: derived, 4s
	j.PollInterval = 100 * time.Millisecond
	j.FetchCooldown = 10 * time.Millisecond
	return cfg.Database, j
}

// runCrashWorker works crash jobs until killed.
func runCrashWorker() int {
	dbc, jc := crashConfig()
	ctx := context.Background()
	d, err := db.Open(ctx, dbc, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	e, err := jobs.New(jc, d, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	jobs.RegisterFunc(e, func(ctx context.Context, j *jobs.Job[crashArgs]) error {
		select {
		case <-time.After(150 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		_, err := d.SQL.ExecContext(ctx, d.Rebind(`INSERT INTO crash_done (n) VALUES (?)`), j.Args.N)
		return err
	})
	if err := e.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	select {} // until killed
}

// TestCrashLosesNoJobs kills a worker process with jobs in flight (kill -9),
// starts another, and checks every job completes.
func TestCrashLosesNoJobs(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		dsn := "sqlite:" + filepath.Join(t.TempDir(), "crash.db")
		if dialect == "postgres" {
			dsn = trellistest.PostgresURL(t)
		}
		t.Setenv("TRELLIS_TEST_CRASH_DB", dsn)
		dbc, jc := crashConfig()
		ctx := context.Background()
		d, err := db.Open(ctx, dbc, "")
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if _, err := d.Migrate(ctx, nil, db.Framework()); err != nil {
			t.Fatal(err)
		}
		e, err := jobs.New(jc, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Stop(ctx)
		if err := e.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := d.SQL.ExecContext(ctx, `CREATE TABLE crash_done (n INTEGER NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		const total = 300
		reqs := make([]jobs.Request, total)
		for i := range reqs {
			reqs[i] = jobs.Request{Args: crashArgs{N: i}}
		}
		if _, err := e.EnqueueMany(ctx, reqs); err != nil {
			t.Fatal(err)
		}
		done := func() (rows, distinct int) {
			_ = d.SQL.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT n) FROM crash_done`).Scan(&rows, &distinct)
			return rows, distinct
		}
		worker := func() *exec.Cmd {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "TRELLIS_TEST_CRASH_WORKER=1")
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			return cmd
		}
		first := worker()
		waitFor(t, "the first worker to finish some jobs", func() bool { _, n := done(); return n >= 40 })
		_ = first.Process.Signal(syscall.SIGKILL)
		_ = first.Wait()
		killed := time.Now()
		var running int
		_ = d.SQL.QueryRow(`SELECT COUNT(*) FROM river_job WHERE state = 'running'`).Scan(&running)
		_, before := done()
		t.Logf("killed the worker after %d jobs with %d in flight", before, running)

		second := worker()
		defer func() { _ = second.Process.Signal(syscall.SIGKILL); _ = second.Wait() }()
		deadline := time.Now().Add(90 * time.Second)
		for {
			rows, distinct := done()
			if distinct == total {
				t.Logf("all %d jobs done %v after the kill (rescue delay %v); %d ran twice (at-least-once delivery after the crash)",
					total, time.Since(killed).Round(100*time.Millisecond), jc.RescueDelay(), rows-distinct)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d jobs done after the restart: jobs were lost", distinct, total)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if running == 0 {
			t.Log("note: no job was in flight at the kill")
		}
	})
}

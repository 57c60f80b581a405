package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mikestefanello/backlite"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/trellistest"
)

// Shared settings for every queue in the drain comparison.
const (
	drainWorkers  = 100
	fetchCooldown = 5 * time.Millisecond
	pollInterval  = 100 * time.Millisecond
)

type noopArgs struct {
	N int `json:"n"`
}

func (noopArgs) Kind() string { return "noop" }

type latencyArgs struct {
	At int64 `json:"at"`
}

func (latencyArgs) Kind() string { return "latency" }

func drainCount() int {
	if n, err := strconv.Atoi(os.Getenv("TRELLIS_BENCH_JOBS")); err == nil && n > 0 {
		return n
	}
	return 50000
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// openDB opens a fresh, migrated database of the dialect.
func openDB(t *testing.T, dialect string) *db.DB {
	t.Helper()
	cfg := config.Default(config.Test).Database
	if dialect == "postgres" {
		cfg.URL = trellistest.PostgresURL(t)
		cfg.MaxOpenConns = 40
	}
	d, err := db.Open(context.Background(), cfg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if _, err := d.Migrate(context.Background(), nil, db.Framework()); err != nil {
		t.Fatal(err)
	}
	return d
}

// waitDrained polls until no job is left waiting or running, and returns
// when that happened.
func waitDrained(t *testing.T, d *db.DB, table, where string, n int) time.Time {
	t.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		var left int
		if err := d.SQL.QueryRow(`SELECT COUNT(*) FROM ` + table + ` WHERE ` + where).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			return time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%d jobs not drained in 10 minutes", n)
	return time.Time{}
}

const riverLeft = "state IN ('available', 'running', 'retryable', 'scheduled', 'pending')"

// profileDrain starts a CPU profile of a drain when TRELLIS_BENCH_CPUPROFILE
// names a file prefix, and returns the function that ends it.
func profileDrain(t *testing.T, name string) func() {
	prefix := os.Getenv("TRELLIS_BENCH_CPUPROFILE")
	if prefix == "" {
		return func() {}
	}
	f, err := os.CreateTemp(filepath.Dir(prefix), filepath.Base(prefix)+"-"+name+"-*.pprof")
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

// drainTrellis measures Trellis working n no-op jobs.
func drainTrellis(t *testing.T, dialect string, n int) drained {
	return drainTrellisProbe(t, dialect, n, nil)
}

// drainTrellisProbe is drainTrellis with probe, when not nil, run on the
// migrated database before the drain (to measure what a change to the
// schema costs).
func drainTrellisProbe(t *testing.T, dialect string, n int, probe func(*db.DB)) drained {
	d := openDB(t, dialect)
	cfg := config.Default(config.Test).Jobs
	cfg.Queues = []string{"default:" + strconv.Itoa(drainWorkers)}
	cfg.FetchCooldown, cfg.PollInterval = fetchCooldown, pollInterval
	e, err := jobs.New(cfg, d, quiet)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	jobs.RegisterFunc(e, func(context.Context, *jobs.Job[noopArgs]) error { return nil })
	for i := 0; i < n; i += 5000 {
		reqs := make([]jobs.Request, min(5000, n-i))
		for j := range reqs {
			reqs[j] = jobs.Request{Args: noopArgs{N: i + j}}
		}
		if _, err := e.EnqueueMany(ctx, reqs); err != nil {
			t.Fatal(err)
		}
	}
	if probe != nil {
		probe(d)
	}
	stopProfile := profileDrain(t, dialect+"-trellis")
	cpu := cpuTime()
	start := time.Now()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	end := waitDrained(t, d, "river_job", riverLeft, n)
	cpu = cpuTime() - cpu
	stopProfile()
	_ = e.Stop(ctx)
	var completed int
	_ = d.SQL.QueryRow(`SELECT n FROM trellis_job_counters WHERE kind = 'noop' AND metric = 'completed'`).Scan(&completed)
	if probe == nil && completed != n {
		t.Errorf("trellis counted %d completions of %d", completed, n)
	}
	return drained{rate: float64(n) / end.Sub(start).Seconds(), cpuPerJob: cpu / time.Duration(n)}
}

// drainRiver measures River used directly, with the same pool and settings.
func drainRiver(t *testing.T, dialect string, n int) drained {
	d := openDB(t, dialect)
	ctx := context.Background()
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(context.Context, *river.Job[noopArgs]) error { return nil }))
	rc := &river.Config{
		Logger: quiet, Workers: workers, Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: drainWorkers}},
		FetchCooldown: fetchCooldown, FetchPollInterval: pollInterval,
	}
	insert := func(c interface {
		InsertManyFast(context.Context, []river.InsertManyParams) (int, error)
	}) {
		for i := 0; i < n; i += 5000 {
			params := make([]river.InsertManyParams, min(5000, n-i))
			for j := range params {
				params[j] = river.InsertManyParams{Args: noopArgs{N: i + j}}
			}
			if _, err := c.InsertManyFast(ctx, params); err != nil {
				t.Fatal(err)
			}
		}
	}
	var start time.Time
	var cpu time.Duration
	var stop, stopProfile func()
	if dialect == "postgres" {
		driver := riverpgxv5.New(d.Pool)
		if _, err := must(rivermigrate.New(driver, nil)).Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			t.Fatal(err)
		}
		c := must(river.NewClient(driver, rc))
		insert(c)
		stopProfile = profileDrain(t, dialect+"-river")
		cpu = cpuTime()
		start = time.Now()
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		stop = func() { _ = c.Stop(ctx) }
	} else {
		pool, err := d.OpenSQLitePool(1)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		driver := riversqlite.New(pool)
		if _, err := must(rivermigrate.New(driver, nil)).Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			t.Fatal(err)
		}
		c := must(river.NewClient(driver, rc))
		insert(c)
		stopProfile = profileDrain(t, dialect+"-river")
		cpu = cpuTime()
		start = time.Now()
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		stop = func() { _ = c.Stop(ctx) }
	}
	end := waitDrained(t, d, "river_job", riverLeft, n)
	cpu = cpuTime() - cpu
	stopProfile()
	stop()
	return drained{rate: float64(n) / end.Sub(start).Seconds(), cpuPerJob: cpu / time.Duration(n)}
}

type backliteTask struct {
	N int
}

func (backliteTask) Config() backlite.QueueConfig {
	return backlite.QueueConfig{Name: "noop", MaxAttempts: 3, Timeout: time.Minute}
}

// drainBacklite measures backlite on its own SQLite file, opened like
// Trellis's (WAL, busy timeout, statement cache).
func drainBacklite(t *testing.T, n int) drained {
	cfg := config.Default(config.Test).Database
	cfg.URL = "sqlite:" + filepath.Join(t.TempDir(), "backlite.db")
	d, err := db.Open(context.Background(), cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.SQL.SetMaxOpenConns(1)
	c, err := backlite.NewClient(backlite.ClientConfig{DB: d.SQL, NumWorkers: drainWorkers, ReleaseAfter: time.Hour, CleanupInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Install(); err != nil {
		t.Fatal(err)
	}
	c.Register(backlite.NewQueue[backliteTask](func(context.Context, backliteTask) error { return nil }))
	ctx := context.Background()
	for i := 0; i < n; i += 5000 {
		tasks := make([]backlite.Task, min(5000, n-i))
		for j := range tasks {
			tasks[j] = backliteTask{N: i + j}
		}
		if _, err := c.Add(tasks...).Ctx(ctx).Save(); err != nil {
			t.Fatal(err)
		}
	}
	cpu := cpuTime()
	start := time.Now()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.Start(runCtx)
	end := waitDrained(t, d, "backlite_tasks", "1 = 1", n)
	cpu = cpuTime() - cpu
	stopCtx, stopCancel := context.WithTimeout(ctx, 10*time.Second)
	defer stopCancel()
	c.Stop(stopCtx)
	return drained{rate: float64(n) / end.Sub(start).Seconds(), cpuPerJob: cpu / time.Duration(n)}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func drainRounds() int {
	if n, err := strconv.Atoi(os.Getenv("TRELLIS_BENCH_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// dropUpdateTriggers drops the counter triggers that run on River's
// updates, for TRELLIS_BENCH_PROBE=notriggers.
func dropUpdateTriggers(d *db.DB) {
	stmts := []string{`DROP TRIGGER IF EXISTS trellis_job_finished`, `DROP TRIGGER IF EXISTS trellis_job_retried`, `DROP TRIGGER IF EXISTS trellis_job_state`}
	if d.Dialect == db.Postgres {
		stmts = []string{`DROP TRIGGER IF EXISTS trellis_job_state ON river_job`}
	}
	for _, s := range stmts {
		if _, err := d.SQL.Exec(s); err != nil {
			panic(err)
		}
	}
}

// drained is one drain's throughput and the test process's CPU time per
// job while it ran.
type drained struct {
	rate      float64
	cpuPerJob time.Duration
}

// drainDialects are the databases the drain report runs on:
// TRELLIS_BENCH_DIALECTS (comma-separated), by default sqlite,postgres.
func drainDialects() []string {
	if v := os.Getenv("TRELLIS_BENCH_DIALECTS"); v != "" {
		return strings.Split(v, ",")
	}
	return []string{"sqlite", "postgres"}
}

// spread is a set of jobs-per-second figures from repeated runs.
type spread []float64

func (s spread) median() float64 {
	v := slices.Clone(s)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func (s spread) String() string {
	return fmt.Sprintf("median %6.0f jobs/s (%6.0f–%6.0f)", s.median(), slices.Min(s), slices.Max(s))
}

// TestReportJobDrain drains the same no-op jobs through raw River, Trellis
// and (on SQLite) backlite, interleaving the contenders round by round so
// that drift in the machine's load affects them alike, and prints the
// median and spread of each and the ratios of the medians.
func TestReportJobDrain(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	n, rounds := drainCount(), drainRounds()
	fmt.Printf("drain %d no-op jobs, %d workers, fetch cooldown %v, %d interleaved rounds:\n", n, drainWorkers, fetchCooldown, rounds)
	for _, dialect := range drainDialects() {
		var raw, trellis, bl, probed spread
		var rawCPU, trellisCPU, blCPU, probedCPU spread
		probe := os.Getenv("TRELLIS_BENCH_PROBE") == "notriggers"
		add := func(rates, cpus *spread, r drained) {
			*rates = append(*rates, r.rate)
			*cpus = append(*cpus, float64(r.cpuPerJob.Microseconds()))
		}
		for range rounds {
			add(&raw, &rawCPU, drainRiver(t, dialect, n))
			add(&trellis, &trellisCPU, drainTrellis(t, dialect, n))
			if dialect == "sqlite" {
				add(&bl, &blCPU, drainBacklite(t, n))
			}
			if probe {
				add(&probed, &probedCPU, drainTrellisProbe(t, dialect, n, dropUpdateTriggers))
			}
		}
		// Process CPU time per job during the drain (every goroutine of
		// the test process, the polling included): less sensitive than
		// wall time to other processes loading the machine.
		fmt.Printf("  %-8s CPU µs/job median: raw River %.0f, Trellis %.0f", dialect, rawCPU.median(), trellisCPU.median())
		if dialect == "sqlite" {
			fmt.Printf(", backlite %.0f", blCPU.median())
		}
		if probe {
			fmt.Printf(", Trellis without update triggers %.0f", probedCPU.median())
		}
		fmt.Println()
		if probe {
			fmt.Printf("  %-8s no triggers %s   /River %.2fx\n", dialect, probed, probed.median()/raw.median())
		}
		fmt.Printf("  %-8s raw River  %s\n", dialect, raw)
		fmt.Printf("  %-8s Trellis    %s   Trellis/River %.2fx (rounds:", dialect, trellis, trellis.median()/raw.median())
		for i := range trellis {
			fmt.Printf(" %.2f", trellis[i]/raw[i])
		}
		fmt.Println(")")
		if dialect == "sqlite" {
			fmt.Printf("  %-8s backlite   %s   Trellis/backlite %.2fx (rounds:", dialect, bl, trellis.median()/bl.median())
			for i := range trellis {
				fmt.Printf(" %.2f", trellis[i]/bl[i])
			}
			fmt.Println(")")
		}
	}
}

// TestReportEnqueueRate measures Trellis enqueueing one job per call and
// in batches of 1000.
func TestReportEnqueueRate(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	fmt.Println("enqueue rate (Trellis):")
	for _, dialect := range []string{"sqlite", "postgres"} {
		d := openDB(t, dialect)
		e, err := jobs.New(config.Default(config.Test).Jobs, d, quiet)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := e.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		const single = 3000
		start := time.Now()
		for i := range single {
			if _, err := e.Enqueue(ctx, noopArgs{N: i}, nil); err != nil {
				t.Fatal(err)
			}
		}
		singleRate := single / time.Since(start).Seconds()
		const batches, size = 20, 1000
		start = time.Now()
		for b := range batches {
			reqs := make([]jobs.Request, size)
			for i := range reqs {
				reqs[i] = jobs.Request{Args: noopArgs{N: b*size + i}}
			}
			if _, err := e.EnqueueMany(ctx, reqs); err != nil {
				t.Fatal(err)
			}
		}
		batchRate := batches * size / time.Since(start).Seconds()
		fmt.Printf("  %-8s single %7.0f jobs/s   batches of %d %8.0f jobs/s\n", dialect, singleRate, size, batchRate)
		_ = e.Stop(ctx)
	}
}

// TestReportPickupLatency enqueues 200 jobs per second for 10 seconds and
// measures the time from enqueue to the worker starting each job.
func TestReportPickupLatency(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	fmt.Println("pickup latency at a steady 200 jobs/s for 10s (enqueue to work start, Trellis defaults):")
	for _, dialect := range []string{"postgres", "sqlite"} {
		d := openDB(t, dialect)
		e, err := jobs.New(config.Default(config.Test).Jobs, d, quiet)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := e.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var lat []float64
		jobs.RegisterFunc(e, func(ctx context.Context, j *jobs.Job[latencyArgs]) error {
			ms := float64(time.Now().UnixNano()-j.Args.At) / 1e6
			mu.Lock()
			lat = append(lat, ms)
			mu.Unlock()
			return nil
		})
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		tick := time.NewTicker(5 * time.Millisecond)
		end := time.Now().Add(10 * time.Second)
		sent := 0
		for now := range tick.C {
			if now.After(end) {
				break
			}
			if _, err := e.Enqueue(ctx, latencyArgs{At: time.Now().UnixNano()}, nil); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		tick.Stop()
		time.Sleep(time.Second)
		_ = e.Stop(ctx)
		mu.Lock()
		slices.Sort(lat)
		q := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		fmt.Printf("  %-8s sent %d, worked %d   p50 %.1f ms   p95 %.1f ms   p99 %.1f ms\n", dialect, sent, len(lat), q(0.5), q(0.95), q(0.99))
		mu.Unlock()
	}
}

// TestReportPagesWhileDraining measures a page that writes to the session
// (so it needs SQLite's write lock) while Trellis drains jobs on the same
// SQLite file, against the same page with the queue idle.
func TestReportPagesWhileDraining(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	app := sessionApp(t, "sqlite")
	jobs.RegisterFunc(app.Jobs, func(context.Context, *jobs.Job[noopArgs]) error { return nil })
	ctx := context.Background()
	cookie, token := establish(t, app)
	base := listen(t, app)
	measure := func(d time.Duration) []time.Duration {
		var lat []time.Duration
		client := &http.Client{}
		for end := time.Now().Add(d); time.Now().Before(end); {
			req, _ := http.NewRequest("POST", base+"write", nil)
			req.AddCookie(cookie)
			req.Header.Set("X-CSRF-Token", token)
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("write: %d", resp.StatusCode)
			}
			lat = append(lat, time.Since(start))
			time.Sleep(5 * time.Millisecond)
		}
		return lat
	}
	idle := measure(3 * time.Second)
	n := drainCount()
	for i := 0; i < n; i += 5000 {
		reqs := make([]jobs.Request, min(5000, n-i))
		for j := range reqs {
			reqs[j] = jobs.Request{Args: noopArgs{N: i + j}}
		}
		if _, err := app.Jobs.EnqueueMany(ctx, reqs); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	busy := measure(3 * time.Second)
	fmt.Printf("session-writing page on SQLite (loopback, sequential):\n  queue idle        %s\n  draining %d jobs %s\n", percentiles(idle), n, percentiles(busy))
}

// Package jobs runs background jobs on River (github.com/riverqueue/river):
// typed arguments and workers, priorities, queues, retries with exponential
// backoff and jitter, per-job timeouts, uniqueness, enqueueing inside the
// app's own transaction, cancellation, a dead letter queue, cron schedules,
// and durable metrics. The admin JSON API and htmx dashboard live in
// package jobs/admin; this package has no HTTP in it.
//
// # Storage
//
// Jobs live in the app's database: SQLite through riversqlite, PostgreSQL
// through riverpgxv5. On SQLite, River gets its own pool of one connection
// on the same WAL file: River's internal work never takes the app's
// connections and never races itself for SQLite's single write lock, while
// web requests keep reading concurrently (WAL readers do not wait for the
// writer) and wait for the write lock only for their own writes, bounded by
// database.busy_timeout. On PostgreSQL, River uses the app's pgx pool and
// LISTEN/NOTIFY, and EnqueueTx goes through a second, insert-only River
// client on database/sql, so it joins the app's *sql.Tx.
//
// # Lifecycle
//
// Register workers, then Start. Stop stops fetching, lets running jobs finish
// within the context's deadline, then cancels the rest, which River returns
// to the queue as pending with no error recorded and the interrupted
// attempt given back: nothing is lost and no retry is used up. (A worker
// that ignores its context past the cancellation keeps the job running
// until the process exits; it is then rescued as after a crash.) Start's
// context must not be the one shutdown cancels: River treats its
// cancellation as a hard stop; the App starts the engine with
// context.WithoutCancel and calls Stop with server.shutdown_timeout.
//
// A process that crashes leaves its running jobs in the running state.
// River's rescuer, run by the elected leader every 30 seconds, returns a
// job to the queue once it has been running for the rescue delay:
// jobs.rescue_after, or by default jobs.timeout plus a margin (see
// config.Jobs.RescueDelay). After a kill -9, such jobs run again within
// the rescue delay plus up to 30 seconds, plus up to 20 seconds for the
// dead leader's lease to lapse if the dead process was the leader.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"go.opentelemetry.io/otel/trace"
)

// riverClient is the part of *river.Client[TTx] the engine uses; it does
// not mention the transaction type, so SQLite and PostgreSQL clients fit.
type riverClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobCancel(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobRetry(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobDeleteMany(ctx context.Context, params *river.JobDeleteManyParams) (*river.JobDeleteManyResult, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

// Engine is the background job system of an app.
type Engine struct {
	cfg     config.Jobs
	db      *db.DB
	logger  *slog.Logger
	workers *river.Workers
	kinds   []string

	client     riverClient
	txInserter *river.Client[*sql.Tx]
	builtKinds int     // workers registered when the clients were built
	riverPool  *sql.DB // SQLite only
	migrate    func(ctx context.Context) error

	sched   *scheduler
	metrics *metrics

	stopping atomic.Bool // see wrapped.Work
	tracer   atomic.Pointer[trace.Tracer]

	mu      sync.Mutex
	started bool
}

// ErrNotFound is returned for a job id that does not exist.
var ErrNotFound = errors.New("jobs: job not found")

// ErrRunning is returned when an action needs a job that is not running.
var ErrRunning = errors.New("jobs: job is running")

// New builds an engine on d. Workers are registered on it before Start.
func New(cfg config.Jobs, d *db.DB, logger *slog.Logger) (*Engine, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{cfg: cfg, db: d, logger: logger, workers: river.NewWorkers()}
	e.sched = newScheduler(e)
	e.metrics = newMetrics()
	if d.Dialect == db.SQLite {
		pool, err := d.OpenSQLitePool(1)
		if err != nil {
			return nil, err
		}
		e.riverPool = pool
	}
	return e, nil
}

// Migrate applies River's migrations and the engine's own schema (see
// MigrateSchema).
// River's own log lines pass only from warnings up (all with jobs.debug).
func (e *Engine) Migrate(ctx context.Context) error {
	n, err := MigrateSchema(ctx, e.db, riverLogger(e.logger, e.cfg.Debug))
	if n > 0 {
		e.logger.InfoContext(ctx, "river migrations applied", slog.Int("count", n))
	}
	return err
}

// riverConfig builds River's configuration from the jobs section.
func (e *Engine) riverConfig(withWorkers bool) (*river.Config, error) {
	rc := &river.Config{
		Logger:                      riverLogger(e.logger, e.cfg.Debug),
		MaxAttempts:                 e.cfg.MaxRetries + 1,
		JobTimeout:                  e.cfg.Timeout,
		RescueStuckJobsAfter:        e.cfg.RescueDelay(),
		RetryPolicy:                 &backoff{base: e.cfg.RetryBase, max: e.cfg.RetryMax},
		FetchPollInterval:           e.cfg.PollInterval,
		FetchCooldown:               e.cfg.FetchCooldown,
		CompletedJobRetentionPeriod: e.cfg.CompletedRetention,
		CancelledJobRetentionPeriod: e.cfg.CompletedRetention,
		DiscardedJobRetentionPeriod: -1,
	}
	if e.cfg.DeadLetterRetention > 0 {
		rc.DiscardedJobRetentionPeriod = e.cfg.DeadLetterRetention
	}
	if !withWorkers {
		return rc, nil
	}
	queues, err := config.ParseQueues(e.cfg.Queues)
	if err != nil {
		return nil, err
	}
	// Without registered workers the client only inserts (River refuses
	// queues with no workers).
	if e.cfg.Enabled && len(e.kinds) > 0 {
		rc.Queues = map[string]river.QueueConfig{}
		for name, n := range queues {
			rc.Queues[name] = river.QueueConfig{MaxWorkers: n}
		}
		rc.Workers = e.workers
	}
	return rc, nil
}

// build creates the River clients with the workers registered so far.
func (e *Engine) build() error {
	e.builtKinds = len(e.kinds)
	rc, err := e.riverConfig(true)
	if err != nil {
		return err
	}
	if e.db.Dialect == db.SQLite {
		// After Stop closed River's own pool, clients built for queries and
		// actions (List, Get, Retry …) use the app's pool.
		pool := e.riverPool
		if pool == nil {
			pool = e.db.SQL
		}
		c, err := river.NewClient(riversqlite.New(pool), rc)
		if err != nil {
			return fmt.Errorf("jobs: %w", err)
		}
		e.client, e.txInserter = c, c
		return nil
	}
	c, err := river.NewClient(riverpgxv5.New(e.db.Pool), rc)
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	insertCfg, _ := e.riverConfig(false)
	ins, err := river.NewClient(riverdatabasesql.New(e.db.SQL), insertCfg)
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	e.client, e.txInserter = c, ins
	return nil
}

// Start begins working jobs (when jobs.enabled) and running schedules. It
// may be called once.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return errors.New("jobs: already started")
	}
	if e.client == nil || e.builtKinds != len(e.kinds) {
		// Built before workers were registered (by an early Enqueue or
		// query): rebuild; the insert-only clients hold no resources.
		if err := e.build(); err != nil {
			return err
		}
	}
	if e.working() {
		if err := e.client.Start(ctx); err != nil {
			return fmt.Errorf("jobs: starting River: %w", err)
		}
		e.sched.start()
	}
	e.started = true
	return nil
}

// Kinds returns the job kinds with registered workers, in registration
// order.
func (e *Engine) Kinds() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.kinds...)
}

// Queues returns the names of the configured queues, sorted (none when
// jobs.queues is malformed, which New's caller has already validated).
func (e *Engine) Queues() []string {
	queues, err := config.ParseQueues(e.cfg.Queues)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(queues))
	for q := range queues {
		names = append(names, q)
	}
	slices.Sort(names)
	return names
}

// working reports whether this process works jobs: enabled, with workers.
func (e *Engine) working() bool { return e.cfg.Enabled && len(e.kinds) > 0 }

// clients returns the River clients, building insert-only ones when
// none exist yet (before Start).
func (e *Engine) clients() (riverClient, *river.Client[*sql.Tx], error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.client == nil {
		if err := e.build(); err != nil {
			return nil, nil, err
		}
	}
	return e.client, e.txInserter, nil
}

// Stop stops fetching jobs and waits for running ones until ctx ends; jobs
// still running then have their contexts cancelled and go back to the
// queue as pending, without an error and with the attempt given back,
// whatever error their worker returns once cancelled. It also closes the
// engine's own connections.
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	if e.started {
		e.sched.stop()
		e.stopping.Store(true)
		defer e.stopping.Store(false)
		if e.working() {
			if err := e.client.Stop(ctx); err != nil {
				e.logger.Warn("jobs still running at the end of the grace period; returning them to the queue", slog.Any("error", err))
				cancelCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				errs = append(errs, e.client.StopAndCancel(cancelCtx))
				cancel()
			}
		}
		e.started = false
	}
	if e.riverPool != nil {
		errs = append(errs, e.riverPool.Close())
		e.riverPool = nil
		e.client, e.txInserter = nil, nil // rebuilt on the app's pool if used again
	}
	return errors.Join(errs...)
}

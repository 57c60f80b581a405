package jobs

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/trellis-go/trellis/db"
)

// Durable counters are kept by database triggers on River's job table, in
// the same transaction as each state change, so they survive restarts and
// add up across every process sharing the database:
//
//	enqueued   jobs inserted
//	completed  jobs that finished successfully
//	failed     jobs that ended in the dead letter queue
//	retried    failed attempts that were scheduled again
//	cancelled  jobs cancelled
//
// The triggers are (re)created at every start, so a River migration that
// rebuilds its table cannot silently drop them.
var sqliteCounterSchema = []string{
	`DROP TRIGGER IF EXISTS trellis_job_enqueued`,
	`CREATE TRIGGER trellis_job_enqueued AFTER INSERT ON river_job BEGIN
		INSERT INTO trellis_job_counters (kind, metric, n) VALUES (NEW.kind, 'enqueued', 1)
		ON CONFLICT (kind, metric) DO UPDATE SET n = n + 1;
	END`,
	`DROP TRIGGER IF EXISTS trellis_job_state`,
	`CREATE TRIGGER trellis_job_state AFTER UPDATE OF state ON river_job WHEN NEW.state <> OLD.state BEGIN
		INSERT INTO trellis_job_counters (kind, metric, n)
		SELECT NEW.kind, CASE NEW.state WHEN 'completed' THEN 'completed' WHEN 'discarded' THEN 'failed' ELSE 'cancelled' END, 1
		WHERE NEW.state IN ('completed', 'discarded', 'cancelled')
		ON CONFLICT (kind, metric) DO UPDATE SET n = n + 1;
		INSERT INTO trellis_job_counters (kind, metric, n)
		SELECT NEW.kind, 'retried', 1
		WHERE OLD.state = 'running' AND NEW.state IN ('retryable', 'available', 'scheduled')
			AND coalesce(json_array_length(NEW.errors), 0) > coalesce(json_array_length(OLD.errors), 0)
		ON CONFLICT (kind, metric) DO UPDATE SET n = n + 1;
	END`,
}

// PostgreSQL uses statement-level triggers over transition tables, so a
// batch of completions costs one counter update per kind, taken in a fixed
// order to avoid deadlocks between concurrent batches.
var postgresCounterSchema = []string{
	`CREATE OR REPLACE FUNCTION trellis_job_count_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO trellis_job_counters (kind, metric, n)
		SELECT kind, 'enqueued', count(*) FROM trellis_new GROUP BY kind ORDER BY kind
		ON CONFLICT (kind, metric) DO UPDATE SET n = trellis_job_counters.n + EXCLUDED.n;
		RETURN NULL;
	END $$`,
	`CREATE OR REPLACE FUNCTION trellis_job_count_updates() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO trellis_job_counters (kind, metric, n)
		SELECT kind, metric, count(*) FROM (
			SELECT n.kind, CASE n.state WHEN 'completed' THEN 'completed' WHEN 'discarded' THEN 'failed' ELSE 'cancelled' END AS metric
			FROM trellis_new n JOIN trellis_old o ON o.id = n.id
			WHERE n.state <> o.state AND n.state IN ('completed', 'discarded', 'cancelled')
			UNION ALL
			SELECT n.kind, 'retried'
			FROM trellis_new n JOIN trellis_old o ON o.id = n.id
			WHERE o.state = 'running' AND n.state IN ('retryable', 'available', 'scheduled')
				AND coalesce(array_length(n.errors, 1), 0) > coalesce(array_length(o.errors, 1), 0)
		) changes
		GROUP BY kind, metric ORDER BY kind, metric
		ON CONFLICT (kind, metric) DO UPDATE SET n = trellis_job_counters.n + EXCLUDED.n;
		RETURN NULL;
	END $$`,
	`CREATE OR REPLACE TRIGGER trellis_job_enqueued AFTER INSERT ON river_job
		REFERENCING NEW TABLE AS trellis_new FOR EACH STATEMENT EXECUTE FUNCTION trellis_job_count_inserts()`,
	`CREATE OR REPLACE TRIGGER trellis_job_state AFTER UPDATE ON river_job
		REFERENCING OLD TABLE AS trellis_old NEW TABLE AS trellis_new FOR EACH STATEMENT EXECUTE FUNCTION trellis_job_count_updates()`,
}

// metrics computes statistics and feeds Prometheus.
type metrics struct {
	e *Engine

	runSeconds  *prometheus.HistogramVec
	waitSeconds *prometheus.HistogramVec

	mu       sync.Mutex
	cached   *Stats
	cachedAt time.Time
}

func newMetrics(e *Engine) *metrics {
	buckets := []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}
	return &metrics{
		e: e,
		runSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "trellis_job_run_seconds", Help: "Time jobs spent running, per attempt, in this process.", Buckets: buckets,
		}, []string{"kind", "outcome"}),
		waitSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "trellis_job_queue_wait_seconds", Help: "Time jobs waited between becoming available and starting, in this process.", Buckets: buckets,
		}, []string{"kind"}),
	}
}

func ensureCounterSchema(ctx context.Context, d *db.DB) error {
	stmts := sqliteCounterSchema
	if d.Dialect == db.Postgres {
		stmts = postgresCounterSchema
	}
	for _, s := range stmts {
		if _, err := d.SQL.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("jobs: creating metrics triggers: %w", err)
		}
	}
	return nil
}

// subscribe feeds the Prometheus histograms from River's job events.
func (m *metrics) subscribe() func() {
	events, cancel := m.e.client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range events {
			if ev.Job == nil || ev.JobStats == nil {
				continue
			}
			outcome := "completed"
			if ev.Kind != river.EventKindJobCompleted {
				outcome = "failed"
			}
			m.runSeconds.WithLabelValues(ev.Job.Kind, outcome).Observe(ev.JobStats.RunDuration.Seconds())
			m.waitSeconds.WithLabelValues(ev.Job.Kind).Observe(ev.JobStats.QueueWaitDuration.Seconds())
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// Distribution holds exact percentiles, in milliseconds, of a sample.
type Distribution struct {
	Count int     `json:"count"`
	Avg   float64 `json:"avg_ms"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// distribution computes nearest-rank percentiles of values (sorted in place).
func distribution(values []float64) Distribution {
	if len(values) == 0 {
		return Distribution{}
	}
	slices.Sort(values)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p/100*float64(len(values)))) - 1
		return values[max(0, min(i, len(values)-1))]
	}
	sum := 0.0
	for _, v := range values {
		sum += v
	}
	round := func(v float64) float64 { return math.Round(v*100) / 100 }
	return Distribution{
		Count: len(values), Avg: round(sum / float64(len(values))),
		P50: round(rank(50)), P95: round(rank(95)), P99: round(rank(99)), Max: round(values[len(values)-1]),
	}
}

// KindStats is the statistics of one job kind (or of all, for the totals).
type KindStats struct {
	Kind        string       `json:"kind,omitempty"`
	Enqueued    int64        `json:"enqueued"`
	Completed   int64        `json:"completed"`
	Failed      int64        `json:"failed"`
	Retried     int64        `json:"retried"`
	Cancelled   int64        `json:"cancelled"`
	Pending     int64        `json:"pending"`
	Running     int64        `json:"running"`
	Scheduled   int64        `json:"scheduled"`
	DeadLetter  int64        `json:"dead_letter"`
	SuccessRate float64      `json:"success_rate"`
	Execution   Distribution `json:"execution"`
	QueueWait   Distribution `json:"queue_wait"`
}

// Stats is the engine-wide statistics, with a breakdown per kind.
type Stats struct {
	Total  KindStats   `json:"total"`
	Kinds  []KindStats `json:"kinds"`
	Window string      `json:"window"`
	At     time.Time   `json:"at"`
}

// successRate is completed / (completed + failed) × 100, or 100 when
// nothing has finished.
func successRate(completed, failed int64) float64 {
	if completed+failed == 0 {
		return 100
	}
	return math.Round(float64(completed)/float64(completed+failed)*10000) / 100
}

// Stats returns counters, gauges and timing distributions. Results are
// cached for a second, so a live dashboard polled by many admins costs one
// computation per second.
func (e *Engine) Stats(ctx context.Context) (*Stats, error) {
	m := e.metrics
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cached != nil && time.Since(m.cachedAt) < time.Second {
		return m.cached, nil
	}
	s, err := e.computeStats(ctx)
	if err != nil {
		return nil, err
	}
	m.cached, m.cachedAt = s, time.Now()
	return s, nil
}

func (e *Engine) computeStats(ctx context.Context) (*Stats, error) {
	byKind := map[string]*KindStats{}
	get := func(kind string) *KindStats {
		if k, ok := byKind[kind]; ok {
			return k
		}
		k := &KindStats{Kind: kind}
		byKind[kind] = k
		return k
	}
	rows, err := e.db.SQL.QueryContext(ctx, `SELECT kind, metric, n FROM trellis_job_counters`)
	if err != nil {
		return nil, fmt.Errorf("jobs: reading counters: %w", err)
	}
	for rows.Next() {
		var kind, metric string
		var n int64
		if err := rows.Scan(&kind, &metric, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("jobs: reading counters: %w", err)
		}
		k := get(kind)
		switch metric {
		case "enqueued":
			k.Enqueued = n
		case "completed":
			k.Completed = n
		case "failed":
			k.Failed = n
		case "retried":
			k.Retried = n
		case "cancelled":
			k.Cancelled = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: reading counters: %w", err)
	}

	rows, err = e.db.SQL.QueryContext(ctx, `SELECT kind, state, COUNT(*) FROM river_job
		WHERE state IN ('available', 'pending', 'running', 'scheduled', 'retryable', 'discarded') GROUP BY kind, state`)
	if err != nil {
		return nil, fmt.Errorf("jobs: counting jobs: %w", err)
	}
	for rows.Next() {
		var kind, state string
		var n int64
		if err := rows.Scan(&kind, &state, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("jobs: counting jobs: %w", err)
		}
		k := get(kind)
		switch state {
		case "available", "pending":
			k.Pending += n
		case "running":
			k.Running += n
		case "scheduled", "retryable":
			k.Scheduled += n
		case "discarded":
			k.DeadLetter += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: counting jobs: %w", err)
	}

	exec, wait, err := e.durations(ctx)
	if err != nil {
		return nil, err
	}
	s := &Stats{Window: "completed jobs of the last " + e.cfg.CompletedRetention.String(), At: time.Now().UTC()}
	var allExec, allWait []float64
	kinds := make([]string, 0, len(byKind))
	for kind := range byKind {
		kinds = append(kinds, kind)
	}
	for kind := range exec {
		if _, ok := byKind[kind]; !ok {
			get(kind)
			kinds = append(kinds, kind)
		}
	}
	slices.Sort(kinds)
	t := &s.Total
	for _, kind := range kinds {
		k := byKind[kind]
		allExec = append(allExec, exec[kind]...)
		allWait = append(allWait, wait[kind]...)
		k.Execution, k.QueueWait = distribution(exec[kind]), distribution(wait[kind])
		k.SuccessRate = successRate(k.Completed, k.Failed)
		t.Enqueued += k.Enqueued
		t.Completed += k.Completed
		t.Failed += k.Failed
		t.Retried += k.Retried
		t.Cancelled += k.Cancelled
		t.Pending += k.Pending
		t.Running += k.Running
		t.Scheduled += k.Scheduled
		t.DeadLetter += k.DeadLetter
		s.Kinds = append(s.Kinds, *k)
	}
	t.Execution, t.QueueWait = distribution(allExec), distribution(allWait)
	t.SuccessRate = successRate(t.Completed, t.Failed)
	return s, nil
}

// durations returns, per kind, the run time and queue wait in milliseconds
// of completed jobs still retained (their last attempt).
func (e *Engine) durations(ctx context.Context) (exec, wait map[string][]float64, err error) {
	q := `SELECT kind,
		(julianday(finalized_at) - julianday(attempted_at)) * 86400000.0,
		(julianday(attempted_at) - julianday(scheduled_at)) * 86400000.0
		FROM river_job WHERE state = 'completed' AND attempted_at IS NOT NULL ORDER BY id DESC LIMIT 200000`
	if e.db.Dialect == db.Postgres {
		q = `SELECT kind,
			EXTRACT(EPOCH FROM finalized_at - attempted_at) * 1000,
			EXTRACT(EPOCH FROM attempted_at - scheduled_at) * 1000
			FROM river_job WHERE state = 'completed' AND attempted_at IS NOT NULL ORDER BY id DESC LIMIT 200000`
	}
	rows, err := e.db.SQL.QueryContext(ctx, q)
	if err != nil {
		return nil, nil, fmt.Errorf("jobs: reading durations: %w", err)
	}
	defer rows.Close()
	exec, wait = map[string][]float64{}, map[string][]float64{}
	for rows.Next() {
		var kind string
		var x, w float64
		if err := rows.Scan(&kind, &x, &w); err != nil {
			return nil, nil, fmt.Errorf("jobs: reading durations: %w", err)
		}
		exec[kind] = append(exec[kind], max(x, 0))
		wait[kind] = append(wait[kind], max(w, 0))
	}
	return exec, wait, rows.Err()
}

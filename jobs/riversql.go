package jobs

import (
	"context"
	"fmt"
	"strings"

	"github.com/trellis-go/trellis/db"
)

// This file holds every piece of raw SQL the engine runs on River's own
// tables, for the things River's client API does not offer: the total of
// a filtered list, free-text search, gauges by state, run-time
// percentiles and the triggers behind the durable counters. Everything
// else goes through River's API (JobList, JobGet, JobRetry, JobCancel,
// JobDeleteMany). riverColumns lists the columns used here; a test checks
// them against the schema River's migrations create, on both databases,
// so a River upgrade that changes them fails loudly.

// riverColumns are the columns of River's tables the SQL below reads.
var riverColumns = map[string][]string{
	"river_job": {"id", "kind", "state", "queue", "args", "tags", "errors", "attempted_at", "finalized_at", "scheduled_at"},
}

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
//
// On SQLite, which has no statement triggers, they are row triggers. The
// one on updates names the columns it watches, finalized_at and errors:
// every River update that finishes a job sets finalized_at and every
// failed attempt sets errors, while the fetch that moves jobs to running —
// an update of every job worked, the most frequent on River's hot path —
// sets neither, so SQLite does not run the trigger program for it at all
// (a WHEN clause alone is evaluated inside the trigger program, once per
// updated row). The counting tests in this package check every counted
// transition, so a River upgrade that finishes jobs without touching
// those columns fails them.
var sqliteCounterSchema = []string{
	`DROP TRIGGER IF EXISTS trellis_job_enqueued`,
	`CREATE TRIGGER trellis_job_enqueued AFTER INSERT ON river_job BEGIN
		INSERT INTO trellis_job_counters (kind, metric, n) VALUES (NEW.kind, 'enqueued', 1)
		ON CONFLICT (kind, metric) DO UPDATE SET n = n + 1;
	END`,
	`DROP TRIGGER IF EXISTS trellis_job_finished`,
	`DROP TRIGGER IF EXISTS trellis_job_retried`,
	`DROP TRIGGER IF EXISTS trellis_job_state`,
	`CREATE TRIGGER trellis_job_state AFTER UPDATE OF finalized_at, errors ON river_job
		WHEN (NEW.state <> OLD.state AND NEW.state IN ('completed', 'discarded', 'cancelled'))
			OR (OLD.state = 'running' AND NEW.state IN ('retryable', 'available', 'scheduled')
				AND coalesce(json_array_length(NEW.errors), 0) > coalesce(json_array_length(OLD.errors), 0)) BEGIN
		INSERT INTO trellis_job_counters (kind, metric, n)
		VALUES (NEW.kind, CASE NEW.state WHEN 'completed' THEN 'completed' WHEN 'discarded' THEN 'failed'
			WHEN 'cancelled' THEN 'cancelled' ELSE 'retried' END, 1)
		ON CONFLICT (kind, metric) DO UPDATE SET n = n + 1;
	END`,
}

// On PostgreSQL they are statement triggers over transition tables, so a
// batch of completions costs one counter update per kind, taken in a
// fixed order to avoid deadlocks between concurrent batches. Two things
// keep them cheap on River's hot path (measured in bench/, see the drain
// report): a statement whose new rows hold no counted state — every fetch
// — returns before any join; and the one join of old and new rows is a
// hash join. Transition tables carry no statistics, so the planner may
// pick a nested loop, which is quadratic in the batch size: with
// thousand-row completion batches that made each batch cost ~10× its own
// UPDATE, slowing the completer, which grew the batches further.
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
		IF NOT EXISTS (SELECT 1 FROM trellis_new WHERE state IN ('completed', 'discarded', 'cancelled', 'retryable', 'available', 'scheduled')) THEN
			RETURN NULL;
		END IF;
		INSERT INTO trellis_job_counters (kind, metric, n)
		SELECT n.kind, CASE n.state WHEN 'completed' THEN 'completed' WHEN 'discarded' THEN 'failed'
				WHEN 'cancelled' THEN 'cancelled' ELSE 'retried' END, count(*)
		FROM trellis_new n JOIN trellis_old o ON o.id = n.id
		WHERE (n.state IN ('completed', 'discarded', 'cancelled') AND n.state <> o.state)
			OR (o.state = 'running' AND n.state IN ('retryable', 'available', 'scheduled')
				AND coalesce(array_length(n.errors, 1), 0) > coalesce(array_length(o.errors, 1), 0))
		GROUP BY 1, 2 ORDER BY 1, 2
		ON CONFLICT (kind, metric) DO UPDATE SET n = trellis_job_counters.n + EXCLUDED.n;
		RETURN NULL;
	END $$ SET enable_nestloop = off`,
	`CREATE OR REPLACE TRIGGER trellis_job_enqueued AFTER INSERT ON river_job
		REFERENCING NEW TABLE AS trellis_new FOR EACH STATEMENT EXECUTE FUNCTION trellis_job_count_inserts()`,
	`CREATE OR REPLACE TRIGGER trellis_job_state AFTER UPDATE ON river_job
		REFERENCING OLD TABLE AS trellis_old NEW TABLE AS trellis_new FOR EACH STATEMENT EXECUTE FUNCTION trellis_job_count_updates()`,
}

// counterSchemaLock is the PostgreSQL advisory lock key taken while the
// counter triggers are (re)created: instances starting together would
// otherwise replace the same functions at once, which PostgreSQL refuses
// with "tuple concurrently updated".
const counterSchemaLock = 0x7472656c6c6973 // "trellis"

// ensureCounterSchema (re)creates the counter triggers in one transaction.
func ensureCounterSchema(ctx context.Context, d *db.DB) error {
	stmts := sqliteCounterSchema
	if d.Dialect == db.Postgres {
		stmts = append([]string{fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d)`, counterSchemaLock)}, postgresCounterSchema...)
	}
	tx, err := d.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("jobs: creating metrics triggers: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("jobs: creating metrics triggers: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("jobs: creating metrics triggers: %w", err)
	}
	return nil
}

// stateCounts calls fn with the number of jobs of each kind in each
// unfinished state and in the dead letter queue.
func (e *Engine) stateCounts(ctx context.Context, fn func(kind, state string, n int64)) error {
	rows, err := e.db.SQL.QueryContext(ctx, `SELECT kind, state, COUNT(*) FROM river_job
		WHERE state IN ('available', 'pending', 'running', 'scheduled', 'retryable', 'discarded') GROUP BY kind, state`)
	if err != nil {
		return fmt.Errorf("jobs: counting jobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, state string
		var n int64
		if err := rows.Scan(&kind, &state, &n); err != nil {
			return fmt.Errorf("jobs: counting jobs: %w", err)
		}
		fn(kind, state, n)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("jobs: counting jobs: %w", err)
	}
	return nil
}

// durations returns, per kind, the run time and queue wait in milliseconds
// of completed jobs still retained (their last attempt).
func (e *Engine) durations(ctx context.Context) (exec, wait map[string][]float64, err error) {
	q := `SELECT kind,
		(unixepoch(finalized_at, 'subsec') - unixepoch(attempted_at, 'subsec')) * 1000.0,
		(unixepoch(attempted_at, 'subsec') - unixepoch(scheduled_at, 'subsec')) * 1000.0
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

// likePattern escapes q for LIKE with '\' as the escape character and
// wraps it in wildcards.
func likePattern(q string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(q) + "%"
}

// searchPredicate matches a job by exact id, or by kind or arguments
// containing the search text, case-insensitively; named arguments
// @trellis_q and @trellis_like (see likePattern). It is given to River's
// JobListParams.Where.
func searchPredicate(dialect db.Dialect) string {
	if dialect == db.Postgres {
		return `(id::text = @trellis_q OR kind ILIKE @trellis_like ESCAPE '\' OR args::text ILIKE @trellis_like ESCAPE '\')`
	}
	return `(CAST(id AS TEXT) = @trellis_q OR kind LIKE @trellis_like ESCAPE '\' OR json(args) LIKE @trellis_like ESCAPE '\')`
}

// countJobs counts the jobs matching p's filters (ignoring its cursor and
// limit), the same filters List gives River's JobList.
func (e *Engine) countJobs(ctx context.Context, p ListParams) (int, error) {
	var conds []string
	var args []any
	if states := riverStates(p.Status); states != nil {
		conds = append(conds, "state IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(states)), ", ")+")")
		for _, s := range states {
			args = append(args, string(s))
		}
	}
	if p.Kind != "" {
		conds = append(conds, "kind = ?")
		args = append(args, p.Kind)
	}
	if p.Queue != "" {
		conds = append(conds, "queue = ?")
		args = append(args, p.Queue)
	}
	if p.Tag != "" {
		if e.db.Dialect == db.Postgres {
			conds = append(conds, "? = ANY(tags)")
		} else {
			conds = append(conds, "EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?)")
		}
		args = append(args, p.Tag)
	}
	if q := strings.TrimSpace(p.Q); q != "" {
		pred := searchPredicate(e.db.Dialect)
		pred = strings.ReplaceAll(pred, "@trellis_q", "?")
		// Three placeholders in order: id, kind, args.
		pred = strings.ReplaceAll(pred, "@trellis_like", "?")
		conds = append(conds, pred)
		args = append(args, q, likePattern(q), likePattern(q))
	}
	where := "1 = 1"
	if len(conds) > 0 {
		where = strings.Join(conds, " AND ")
	}
	var n int
	if err := e.db.SQL.QueryRowContext(ctx, e.db.Rebind(`SELECT COUNT(*) FROM river_job WHERE `+where), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("jobs: counting: %w", err)
	}
	return n, nil
}

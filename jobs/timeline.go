package jobs

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/trellis-go/trellis/db"
)

// Timeline is job activity over a recent window, in equal buckets, for
// charts: read from River's job rows (finalized_at, attempted_at and the
// recorded errors), so it covers every process sharing the database and
// survives restarts. Completed jobs count while they are retained
// (jobs.completed_retention, 24 hours by default).
type Timeline struct {
	// Since is the start of the first bucket.
	Since time.Time `json:"since"`
	// Width is each bucket's length.
	Width time.Duration `json:"width"`
	// Buckets are oldest first.
	Buckets []Bucket `json:"buckets"`
}

// Bucket is the job activity of one interval.
type Bucket struct {
	// Start is when the interval begins.
	Start time.Time `json:"start"`
	// Completed counts jobs that finished successfully in it.
	Completed int64 `json:"completed"`
	// Failed counts failed attempts in it: retried ones and those that
	// sent their job to the dead letter queue.
	Failed int64 `json:"failed"`
	// P95 is the nearest-rank 95th percentile, in milliseconds, of the
	// run time of the jobs that completed in it (0 when none did).
	P95 float64 `json:"p95_ms"`
}

// ErrBadWindow is returned for a timeline window or bucket count out of
// range.
var ErrBadWindow = fmt.Errorf("jobs: a timeline needs a positive window and 1 to %d buckets", maxBuckets)

const maxBuckets = 500

// Timeline returns the job activity of the last window, in n buckets
// ending now.
func (e *Engine) Timeline(ctx context.Context, window time.Duration, n int) (*Timeline, error) {
	if window <= 0 || n < 1 || n > maxBuckets {
		return nil, ErrBadWindow
	}
	width := window / time.Duration(n)
	now := time.Now().UTC()
	// Align buckets to whole widths, so they keep their edges between
	// refreshes.
	end := now.Truncate(width).Add(width)
	since := end.Add(-time.Duration(n) * width)
	t := &Timeline{Since: since, Width: width, Buckets: make([]Bucket, n)}
	for i := range t.Buckets {
		t.Buckets[i].Start = since.Add(time.Duration(i) * width)
	}
	q := timelineSQL(e.db.Dialect)
	secs := width.Seconds()
	at := func(i int64) (*Bucket, bool) {
		if i < 0 || i >= int64(n) {
			return nil, false
		}
		return &t.Buckets[i], true
	}
	sinceArg := any(since)
	if e.db.Dialect == db.SQLite {
		sinceArg = float64(since.UnixMilli()) / 1000
	}
	if err := e.scanBuckets(ctx, q.failed, sinceArg, secs, func(i int64, v []float64) {
		if b, ok := at(i); ok {
			b.Failed = int64(v[0])
		}
	}); err != nil {
		return nil, err
	}
	// One pass over the completed jobs gives each bucket's count and p95.
	if err := e.scanBuckets(ctx, q.completed, sinceArg, secs, func(i int64, v []float64) {
		if b, ok := at(i); ok {
			b.Completed, b.P95 = int64(v[0]), math.Round(max(v[1], 0)*100)/100
		}
	}); err != nil {
		return nil, err
	}
	return t, nil
}

// scanBuckets runs a timeline query with (since, width in seconds) and
// calls fn with each bucket index and the row's other columns.
func (e *Engine) scanBuckets(ctx context.Context, q string, since any, width float64, fn func(int64, []float64)) error {
	rows, err := e.db.SQL.QueryContext(ctx, e.db.Rebind(q), since, width)
	if err != nil {
		return fmt.Errorf("jobs: reading the timeline: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("jobs: reading the timeline: %w", err)
	}
	var i int64
	v := make([]float64, len(cols)-1)
	dest := []any{&i}
	for k := range v {
		dest = append(dest, &v[k])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("jobs: reading the timeline: %w", err)
		}
		fn(i, v)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("jobs: reading the timeline: %w", err)
	}
	return nil
}

// timelineQueries are the bucketed queries of a timeline; each takes
// (since, bucket width in seconds) and returns a bucket index and values:
// failed attempts, or completed jobs and their 95th percentile run time.
type timelineQueries struct{ failed, completed string }

// timelineSQL returns the timeline queries of a dialect. Buckets are
// numbered from since; rows outside the window are filtered by the
// caller's range check as well as the WHERE clause. The 95th percentile is
// nearest-rank, picked with window functions (both databases have them),
// the same definition the statistics use.
func timelineSQL(d db.Dialect) timelineQueries {
	if d == db.Postgres {
		return timelineQueries{
			failed: `SELECT floor(EXTRACT(EPOCH FROM (e->>'at')::timestamptz - $1::timestamptz)::float8 / $2::float8)::bigint AS b, count(*)::float8
				FROM river_job, unnest(errors) AS e
				WHERE errors IS NOT NULL AND (e->>'at')::timestamptz >= $1::timestamptz GROUP BY b`,
			completed: `SELECT b, n::float8, ms FROM (
					SELECT b, ms, row_number() OVER (PARTITION BY b ORDER BY ms) AS rn, count(*) OVER (PARTITION BY b) AS n
					FROM (SELECT floor(EXTRACT(EPOCH FROM finalized_at - $1::timestamptz)::float8 / $2::float8)::bigint AS b,
							EXTRACT(EPOCH FROM finalized_at - attempted_at)::float8 * 1000 AS ms
						FROM river_job WHERE state = 'completed' AND finalized_at >= $1::timestamptz AND attempted_at IS NOT NULL) f
				) r WHERE rn = ceil(0.95 * n)`,
		}
	}
	return timelineQueries{
		failed: `SELECT CAST((unixepoch(json_extract(e.value, '$.at'), 'subsec') - ?1) / ?2 AS INTEGER) AS b, CAST(count(*) AS REAL)
			FROM river_job, json_each(river_job.errors) AS e
			WHERE river_job.errors IS NOT NULL AND unixepoch(json_extract(e.value, '$.at'), 'subsec') >= ?1 GROUP BY b`,
		completed: `SELECT b, CAST(n AS REAL), ms FROM (
				SELECT b, ms, row_number() OVER (PARTITION BY b ORDER BY ms) AS rn, count(*) OVER (PARTITION BY b) AS n
				FROM (SELECT CAST((unixepoch(finalized_at, 'subsec') - ?1) / ?2 AS INTEGER) AS b,
						(unixepoch(finalized_at, 'subsec') - unixepoch(attempted_at, 'subsec')) * 1000.0 AS ms
					FROM river_job WHERE state = 'completed' AND unixepoch(finalized_at, 'subsec') >= ?1 AND attempted_at IS NOT NULL)
			) WHERE rn = ((95 * n) + 99) / 100`,
	}
}

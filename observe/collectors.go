package observe

import (
	"context"
	"database/sql"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/trellis-go/trellis/session"
)

var (
	descConns = prometheus.NewDesc("trellis_db_connections",
		"Open database connections by pool and state (in_use, idle).", []string{"pool", "state"}, nil)
	descMaxConns = prometheus.NewDesc("trellis_db_max_connections",
		"The most connections the pool opens (0: no limit).", []string{"pool"}, nil)
	descWaits = prometheus.NewDesc("trellis_db_waits_total",
		"Times a caller had to wait for a connection.", []string{"pool"}, nil)
	descWaitSeconds = prometheus.NewDesc("trellis_db_wait_seconds_total",
		"Time callers spent waiting for a connection (pgx: acquiring one).", []string{"pool"}, nil)
)

// DBStats collects the connection pool statistics of the app's database:
// pool "sql" is database/sql's (every query of the app, sessions and
// accounts), pool "pgx" the pgx pool below it on PostgreSQL (shared with
// the job engine).
type DBStats struct {
	// SQL is the database/sql handle; required.
	SQL *sql.DB
	// Pool is the pgx pool; nil on SQLite.
	Pool *pgxpool.Pool
}

// Describe implements prometheus.Collector.
func (c DBStats) Describe(ch chan<- *prometheus.Desc) {
	ch <- descConns
	ch <- descMaxConns
	ch <- descWaits
	ch <- descWaitSeconds
}

// Collect implements prometheus.Collector.
func (c DBStats) Collect(ch chan<- prometheus.Metric) {
	s := c.SQL.Stats()
	ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(s.InUse), "sql", "in_use")
	ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(s.Idle), "sql", "idle")
	ch <- prometheus.MustNewConstMetric(descMaxConns, prometheus.GaugeValue, float64(s.MaxOpenConnections), "sql")
	ch <- prometheus.MustNewConstMetric(descWaits, prometheus.CounterValue, float64(s.WaitCount), "sql")
	ch <- prometheus.MustNewConstMetric(descWaitSeconds, prometheus.CounterValue, s.WaitDuration.Seconds(), "sql")
	if c.Pool == nil {
		return
	}
	p := c.Pool.Stat()
	ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(p.AcquiredConns()), "pgx", "in_use")
	ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(p.IdleConns()), "pgx", "idle")
	ch <- prometheus.MustNewConstMetric(descMaxConns, prometheus.GaugeValue, float64(p.MaxConns()), "pgx")
	ch <- prometheus.MustNewConstMetric(descWaits, prometheus.CounterValue, float64(p.EmptyAcquireCount()), "pgx")
	ch <- prometheus.MustNewConstMetric(descWaitSeconds, prometheus.CounterValue, p.AcquireDuration().Seconds(), "pgx")
}

// SessionTiming wraps a session backend and times each of its operations
// in trellis_session_store_duration_seconds, labelled op (load, save,
// apply, delete, delete_expired) and result (ok, error). It is a
// prometheus.Collector for that histogram.
type SessionTiming struct {
	session.Backend
	hist *prometheus.HistogramVec
}

// NewSessionTiming wraps b.
func NewSessionTiming(b session.Backend) *SessionTiming {
	return &SessionTiming{Backend: b, hist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "trellis_session_store_duration_seconds",
		Help:    "Time the session store took per operation.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"op", "result"})}
}

func (s *SessionTiming) observe(op string, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	s.hist.WithLabelValues(op, result).Observe(time.Since(start).Seconds())
}

// Load implements session.Backend.
func (s *SessionTiming) Load(ctx context.Context, token string) (map[string][]byte, time.Time, bool, error) {
	start := time.Now()
	v, exp, found, err := s.Backend.Load(ctx, token)
	s.observe("load", start, err)
	return v, exp, found, err
}

// Save implements session.Backend.
func (s *SessionTiming) Save(ctx context.Context, token string, values map[string][]byte, expiry time.Time) error {
	start := time.Now()
	err := s.Backend.Save(ctx, token, values, expiry)
	s.observe("save", start, err)
	return err
}

// Apply implements session.Backend.
func (s *SessionTiming) Apply(ctx context.Context, token string, set map[string][]byte, del []string, expiry time.Time) (bool, error) {
	start := time.Now()
	ok, err := s.Backend.Apply(ctx, token, set, del, expiry)
	s.observe("apply", start, err)
	return ok, err
}

// Delete implements session.Backend.
func (s *SessionTiming) Delete(ctx context.Context, token string) error {
	start := time.Now()
	err := s.Backend.Delete(ctx, token)
	s.observe("delete", start, err)
	return err
}

// DeleteExpired implements session.Backend.
func (s *SessionTiming) DeleteExpired(ctx context.Context) (int, error) {
	start := time.Now()
	n, err := s.Backend.DeleteExpired(ctx)
	s.observe("delete_expired", start, err)
	return n, err
}

// Unwrap returns the wrapped backend (session.Manager.Backend looks
// through the timer with it).
func (s *SessionTiming) Unwrap() session.Backend { return s.Backend }

// Describe implements prometheus.Collector.
func (s *SessionTiming) Describe(ch chan<- *prometheus.Desc) { s.hist.Describe(ch) }

// Collect implements prometheus.Collector.
func (s *SessionTiming) Collect(ch chan<- prometheus.Metric) { s.hist.Collect(ch) }

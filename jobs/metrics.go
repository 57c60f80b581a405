package jobs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river/rivertype"
)

// metrics computes statistics and feeds Prometheus.
type metrics struct {
	runSeconds  *prometheus.HistogramVec
	waitSeconds *prometheus.HistogramVec

	mu       sync.Mutex
	cached   *Stats
	cachedAt time.Time
}

func newMetrics() *metrics {
	buckets := []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}
	return &metrics{
		runSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "trellis_job_run_seconds", Help: "Time jobs spent running, per attempt, in this process.", Buckets: buckets,
		}, []string{"kind", "outcome"}),
		waitSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "trellis_job_queue_wait_seconds", Help: "Time jobs waited between becoming available and starting, in this process.", Buckets: buckets,
		}, []string{"kind"}),
	}
}

// observers are the histogram series of one job kind, resolved once when
// its worker is registered so that each attempt costs two lock-free
// observations, no label lookup.
type observers struct {
	completed, failed, wait prometheus.Observer
}

func (m *metrics) observers(kind string) observers {
	return observers{
		completed: m.runSeconds.WithLabelValues(kind, "completed"),
		failed:    m.runSeconds.WithLabelValues(kind, "failed"),
		wait:      m.waitSeconds.WithLabelValues(kind),
	}
}

// observe records one attempt that started at start after waiting since
// scheduled and ended with err: completed when err is nil, failed
// otherwise (an error, a timeout, a panic, a cancellation). A snoozed
// attempt and one interrupted by Stop are not outcomes and are not
// recorded. The worker wrapper calls it in the worker's goroutine: River's
// event subscription would cost a channel hand-off per job and drops
// events when its buffer is full.
func (o observers) observe(start, scheduled time.Time, err error, interrupted bool) {
	if interrupted || err != nil && errors.Is(err, snoozed) {
		return
	}
	run := time.Since(start).Seconds()
	if err == nil {
		o.completed.Observe(run)
	} else {
		o.failed.Observe(run)
	}
	o.wait.Observe(max(start.Sub(scheduled), 0).Seconds())
}

// snoozed is the target errors.Is compares a snooze with, made once: a
// composite literal in the call would be allocated on every attempt.
var snoozed = &rivertype.JobSnoozeError{}

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

	err = e.stateCounts(ctx, func(kind, state string, n int64) {
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
	})
	if err != nil {
		return nil, err
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

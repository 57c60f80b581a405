package jobs

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	descTotal = prometheus.NewDesc("trellis_jobs_total",
		"Jobs by outcome since the database was created, across all processes (aggregate with max, not sum).",
		[]string{"kind", "outcome"}, nil)
	descCurrent = prometheus.NewDesc("trellis_jobs",
		"Jobs currently pending, running, scheduled or in the dead letter queue.", []string{"kind", "state"}, nil)
	descExec = prometheus.NewDesc("trellis_job_execution_milliseconds",
		"Exact run-time percentiles of retained completed jobs.", []string{"kind"}, nil)
	descWait = prometheus.NewDesc("trellis_job_queue_wait_milliseconds",
		"Exact queue-wait percentiles of retained completed jobs.", []string{"kind"}, nil)
)

// Describe implements prometheus.Collector.
func (e *Engine) Describe(ch chan<- *prometheus.Desc) {
	ch <- descTotal
	ch <- descCurrent
	ch <- descExec
	ch <- descWait
	e.metrics.runSeconds.Describe(ch)
	e.metrics.waitSeconds.Describe(ch)
}

// Collect implements prometheus.Collector: durable counters and gauges from
// the database, exact percentiles, and this process's histograms.
func (e *Engine) Collect(ch chan<- prometheus.Metric) {
	e.metrics.runSeconds.Collect(ch)
	e.metrics.waitSeconds.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := e.Stats(ctx)
	if err != nil {
		e.logger.Warn("jobs: collecting metrics", "error", err)
		return
	}
	for _, k := range s.Kinds {
		for outcome, n := range map[string]int64{"enqueued": k.Enqueued, "completed": k.Completed, "failed": k.Failed, "retried": k.Retried, "cancelled": k.Cancelled} {
			ch <- prometheus.MustNewConstMetric(descTotal, prometheus.CounterValue, float64(n), k.Kind, outcome)
		}
		for state, n := range map[string]int64{"pending": k.Pending, "running": k.Running, "scheduled": k.Scheduled, "dead_letter": k.DeadLetter} {
			ch <- prometheus.MustNewConstMetric(descCurrent, prometheus.GaugeValue, float64(n), k.Kind, state)
		}
		for desc, d := range map[*prometheus.Desc]Distribution{descExec: k.Execution, descWait: k.QueueWait} {
			ch <- prometheus.MustNewConstSummary(desc, uint64(d.Count), d.Avg*float64(d.Count),
				map[float64]float64{0.5: d.P50, 0.95: d.P95, 0.99: d.P99}, k.Kind)
		}
	}
}

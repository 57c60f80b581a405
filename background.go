package trellis

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/middleware"
	"github.com/trellis-go/trellis/observe"
)

// setupJobs builds the job engine and applies River's migrations.
func (a *App) setupJobs(ctx context.Context) error {
	e, err := jobs.New(a.Config.Jobs, a.DB, a.Logger)
	if err != nil {
		return fmt.Errorf("trellis: %w", err)
	}
	a.Jobs = e
	if a.TracerProvider != nil {
		e.SetTracerProvider(a.TracerProvider)
	}
	a.OnShutdown(e.Stop)
	if a.Config.Database.Migrate {
		if err := e.Migrate(ctx); err != nil {
			return fmt.Errorf("trellis: %w", err)
		}
	}
	return nil
}

// Start starts the background components — job workers and schedules, the
// mailer's relay —
// once, after workers are registered, and fixes the middleware added with
// Use. Serve calls it; tests that drive the app through ServeHTTP call it
// themselves. ctx bounds start-up only: jobs keep running until Close.
func (a *App) Start(ctx context.Context) error {
	a.freeze()
	a.startOnce.Do(func() {
		if a.Jobs != nil {
			// River treats cancellation of its start context as a hard
			// stop that aborts running jobs; shutdown stops it gracefully
			// through Close instead.
			a.startErr = a.Jobs.Start(context.WithoutCancel(ctx))
		}
		if a.startErr == nil && a.Mail != nil {
			// The relay enqueues the delivery jobs of mail Send stored.
			a.startErr = a.Mail.Start(ctx)
		}
	})
	return a.startErr
}

// setupTelemetry builds the tracer provider ([telemetry]; off without an
// endpoint) and, when metrics are served, the request metrics. Tracing
// stops last at shutdown, after the job workers, so their spans are sent.
func (a *App) setupTelemetry(ctx context.Context) error {
	if a.opts.tracer != nil {
		a.TracerProvider = a.opts.tracer
	} else {
		t, err := observe.NewTracing(ctx, a.Config.Telemetry, a.Config.App.Name, a.Config.App.Version)
		if err != nil {
			return fmt.Errorf("trellis: %w", err)
		}
		a.TracerProvider = t.Provider
		a.OnShutdown(t.Shutdown)
	}
	if _, ok := a.opts.mountedAt(Metrics); ok && a.Config.Metrics.Enabled {
		a.requests = observe.NewRequestMetrics()
	}
	return nil
}

// metricsHandler serves Prometheus metrics: requests, database pools,
// session store, jobs, authorization, Go runtime and process, behind a
// bearer token when metrics.token is set.
func (a *App) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if a.requests != nil {
		reg.MustRegister(a.requests)
	}
	if a.DB != nil {
		reg.MustRegister(observe.DBStats{SQL: a.DB.SQL, Pool: a.DB.Pool})
	}
	if a.sessionTiming != nil {
		reg.MustRegister(a.sessionTiming)
	}
	if a.Jobs != nil {
		reg.MustRegister(a.Jobs)
	}
	if a.Authz != nil {
		reg.MustRegister(a.Authz)
	}
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	token := a.Config.Metrics.Token
	if token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := middleware.BearerToken(r)
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need the bearer token from metrics.token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

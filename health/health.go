// Package health serves liveness and readiness endpoints:
//
//	GET /health/live   200 while the process runs
//	GET /health/ready  JSON status of every component; 503 when a required
//	                   component is down or the app is shutting down
//	GET /health        the same detail as /health/ready
//
// Components register a [Check]. Checks run concurrently, each bounded by a
// timeout. Failure details go to the log; the response only says "down" and
// whether it timed out, so infrastructure details do not leak.
package health

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trellis-go/trellis/render"
)

// Check is one component's health check.
type Check struct {
	// Name identifies the component in the JSON ("database", "redis", …).
	Name string
	// Required components make readiness fail when they are down.
	Required bool
	// Func returns nil when the component works.
	Func func(ctx context.Context) error
}

// Status values reported per component and overall.
const (
	StatusUp       = "up"
	StatusDown     = "down"
	StatusOK       = "ok"
	StatusDegraded = "degraded"
	StatusShutdown = "shutting_down"
)

// Component is the JSON form of one check result.
type Component struct {
	Status    string  `json:"status"`
	Required  bool    `json:"required"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

// Report is the JSON body of /health and /health/ready.
type Report struct {
	Status        string               `json:"status"`
	Version       string               `json:"version"`
	UptimeSeconds int64                `json:"uptime_seconds"`
	Components    map[string]Component `json:"components"`
}

// Health runs checks and serves the endpoints. Add checks before serving.
type Health struct {
	version  string
	timeout  time.Duration
	logger   *slog.Logger
	started  time.Time
	checks   []Check
	stopping atomic.Bool
}

// New returns a Health reporting version, bounding each check by timeout.
func New(version string, timeout time.Duration, logger *slog.Logger) *Health {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Health{version: version, timeout: timeout, logger: logger, started: time.Now()}
}

// Add registers a check. It is not safe to call while serving.
func (h *Health) Add(c Check) { h.checks = append(h.checks, c) }

// SetShuttingDown makes readiness fail so load balancers stop sending
// traffic while the app drains.
func (h *Health) SetShuttingDown() { h.stopping.Store(true) }

// Run executes every check concurrently and returns the report and whether
// the app is ready.
func (h *Health) Run(ctx context.Context) (Report, bool) {
	rep := Report{Version: h.version, UptimeSeconds: int64(time.Since(h.started).Seconds()), Components: make(map[string]Component, len(h.checks))}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range h.checks {
		wg.Go(func() {
			comp := h.run(ctx, c)
			mu.Lock()
			rep.Components[c.Name] = comp
			mu.Unlock()
		})
	}
	wg.Wait()

	ready, degraded := true, false
	names := make([]string, 0, len(rep.Components))
	for name := range rep.Components {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if c := rep.Components[name]; c.Status == StatusDown {
			if c.Required {
				ready = false
			} else {
				degraded = true
			}
		}
	}
	switch {
	case h.stopping.Load():
		rep.Status, ready = StatusShutdown, false
	case !ready:
		rep.Status = StatusDown
	case degraded:
		rep.Status = StatusDegraded
	default:
		rep.Status = StatusOK
	}
	return rep, ready
}

func (h *Health) run(ctx context.Context, c Check) (comp Component) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			h.logger.Error("health check panicked", slog.String("component", c.Name), slog.Any("panic", v))
			comp = Component{Status: StatusDown, Required: c.Required, Error: "check failed"}
		}
	}()
	err := c.Func(ctx)
	comp = Component{Status: StatusUp, Required: c.Required, LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		comp.Status = StatusDown
		comp.Error = "check failed"
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			comp.Error = "timed out after " + h.timeout.String()
		}
		h.logger.Warn("health check failed", slog.String("component", c.Name), slog.Any("error", err))
	}
	return comp
}

// Live answers 200 while the process can serve requests.
func (h *Health) Live(w http.ResponseWriter, _ *http.Request) {
	render.JSON(w, http.StatusOK, map[string]string{"status": StatusOK})
}

// Ready answers the component report: 200 when ready, else 503.
func (h *Health) Ready(w http.ResponseWriter, r *http.Request) {
	rep, ready := h.Run(r.Context())
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	render.JSON(w, status, rep)
}

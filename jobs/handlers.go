package jobs

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/htmx"
	"github.com/trellis-go/trellis/middleware"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/session"
)

// Admin serves the job admin JSON API and dashboard. Mount its Routes
// behind an admin check (the App does, with RequireRole("admin")).
type Admin struct {
	e        *Engine
	render   *render.Renderer
	sessions *session.Manager
	logger   *slog.Logger
	timeout  time.Duration
}

// NewAdmin returns the admin handlers for e.
func NewAdmin(e *Engine, rd *render.Renderer, sessions *session.Manager, logger *slog.Logger) *Admin {
	return &Admin{e: e, render: rd, sessions: sessions, logger: logger, timeout: 5 * time.Second}
}

// Routes mounts, relative to r:
//
//	GET  /admin/jobs                     dashboard (HTML)
//	GET  /admin/jobs/list                JSON list: state, kind, queue, q, limit, cursor
//	GET  /admin/jobs/stats               JSON statistics (HTML fragment for htmx)
//	GET  /admin/jobs/{id}                JSON job (HTML page for browsers)
//	POST /admin/jobs/{id}/retry          {"success", "message"}
//	POST /admin/jobs/{id}/cancel         {"success", "message"}
//	POST /admin/jobs/retry-all           {"retried", "message"}
//	POST /admin/jobs/dead-letter/clear   {"cleared", "message"}
//
// Actions answer JSON to API clients; browsers and htmx get a redirect or
// a fragment with a flash message.
func (a *Admin) Routes(r chi.Router) {
	r.Get("/admin/jobs", a.dashboard)
	r.Get("/admin/jobs/list", a.listJSON)
	r.Get("/admin/jobs/stats", a.stats)
	r.Post("/admin/jobs/retry-all", a.retryAll)
	r.Post("/admin/jobs/dead-letter/clear", a.clearDead)
	r.Get("/admin/jobs/{id}", a.job)
	r.Post("/admin/jobs/{id}/retry", a.retry)
	r.Post("/admin/jobs/{id}/cancel", a.cancel)
}

// wantsHTML reports whether the client is a browser or htmx rather than an
// API client: htmx requests and Accept headers naming text/html.
func wantsHTML(r *http.Request) bool {
	return htmx.IsRequest(r) || strings.Contains(r.Header.Get("Accept"), "text/html")
}

func (a *Admin) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), a.timeout)
}

// jsonError answers the API's error shape with status.
func jsonError(w http.ResponseWriter, status int, msg string) {
	render.JSON(w, status, map[string]any{"success": false, "error": msg, "message": msg, "status": status})
}

// storeError maps an engine error: 404 for a missing job, 504 for a
// database timeout, 503 for an unreachable or overloaded database (never
// 408), 500 for anything else.
func (a *Admin) storeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "the request failed; it has been logged"
	switch {
	case errors.Is(err, ErrNotFound):
		status, msg = http.StatusNotFound, "job not found"
	case errors.Is(err, ErrBadCursor):
		status, msg = http.StatusBadRequest, "cursor is malformed; use next_cursor from the previous page"
	case errors.Is(err, context.DeadlineExceeded):
		status, msg = http.StatusGatewayTimeout, "the job store did not answer in time; try again"
	case db.Unavailable(err):
		status, msg = http.StatusServiceUnavailable, "the job store is unavailable; try again shortly"
	}
	if status >= 500 {
		a.logger.ErrorContext(r.Context(), "job admin", slog.Any("error", err), slog.String("path", r.URL.Path),
			slog.String("request_id", middleware.RequestIDFrom(r.Context())))
	}
	if wantsHTML(r) {
		a.render.Error(w, r, &render.Error{Status: status, Message: msg, Err: err})
		return
	}
	jsonError(w, status, msg)
}

func jobID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		jsonError(w, http.StatusBadRequest, "job id must be a positive integer")
		return 0, false
	}
	return id, true
}

// listParams reads and validates list filters from the query string.
func listParams(q url.Values) (ListParams, string) {
	p := ListParams{Kind: q.Get("kind"), Queue: q.Get("queue"), Q: q.Get("q"), Cursor: q.Get("cursor")}
	st, ok := ParseStatus(q.Get("state"))
	if !ok {
		return p, "state must be one of pending, scheduled, running, completed, dead, cancelled"
	}
	p.Status = st
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return p, "limit must be a whole number from 1 to 500"
		}
		p.Limit = n
	}
	if len(p.Kind) > 128 || len(p.Queue) > 128 || len(p.Q) > 200 {
		return p, "filters are too long"
	}
	return p, ""
}

// apiJob is a job in the API's shape: the reference fields (id as a
// string, job_type, status, created_at, priority) and more.
type apiJob struct {
	ID string `json:"id"`
	Info
}

func toAPI(in Info) apiJob { return apiJob{ID: strconv.FormatInt(in.ID, 10), Info: in} }

func (a *Admin) listJSON(w http.ResponseWriter, r *http.Request) {
	p, problem := listParams(r.URL.Query())
	if problem != "" {
		jsonError(w, http.StatusBadRequest, problem)
		return
	}
	ctx, cancel := a.ctx(r)
	defer cancel()
	res, err := a.e.List(ctx, p)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	out := make([]apiJob, len(res.Jobs))
	for i, j := range res.Jobs {
		out[i] = toAPI(j)
	}
	render.JSON(w, http.StatusOK, map[string]any{
		"jobs": out, "total": res.Total, "next_cursor": res.NextCursor,
		"message": "retrieved " + strconv.Itoa(len(out)) + " of " + strconv.Itoa(res.Total) + " jobs",
	})
}

func (a *Admin) stats(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.ctx(r)
	defer cancel()
	s, err := a.e.Stats(ctx)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	if htmx.IsRequest(r) {
		a.render.Fragment(w, r, http.StatusOK, statsPanel(s))
		return
	}
	t := s.Total
	render.JSON(w, http.StatusOK, map[string]any{
		"total_enqueued": t.Enqueued, "running": t.Running, "pending": t.Pending, "completed": t.Completed,
		"failed": t.Failed, "dead_letter": t.DeadLetter, "avg_execution_ms": t.Execution.Avg,
		"p95_execution_ms": t.Execution.P95, "p99_execution_ms": t.Execution.P99, "success_rate": t.SuccessRate,
		"p50_execution_ms": t.Execution.P50, "scheduled": t.Scheduled, "retried": t.Retried, "cancelled": t.Cancelled,
		"queue_wait": t.QueueWait, "kinds": s.Kinds, "window": s.Window,
		"message": "statistics computed at " + s.At.Format(time.RFC3339),
	})
}

func (a *Admin) job(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	ctx, cancel := a.ctx(r)
	defer cancel()
	d, err := a.e.Get(ctx, id)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	if wantsHTML(r) {
		a.render.Page(w, r, "Job "+strconv.FormatInt(id, 10), jobPage(d, returnTo(r)))
		return
	}
	render.JSON(w, http.StatusOK, map[string]any{
		"job": struct {
			apiJob
			Errors   []AttemptError `json:"errors"`
			Metadata any            `json:"metadata"`
		}{toAPI(d.Info), d.Errors, d.Metadata},
		"message": "job retrieved",
	})
}

// returnTo is the dashboard URL to come back to after an action, from the
// "return" form field or query parameter; only dashboard paths qualify.
func returnTo(r *http.Request) string {
	ret := r.FormValue("return")
	if strings.HasPrefix(ret, "/admin/jobs") && !strings.ContainsAny(ret, "\\\r\n") && !strings.HasPrefix(ret, "//") {
		return ret
	}
	return "/admin/jobs"
}

// done answers a successful action: JSON for API clients; for browsers a
// flash and a redirect back; for htmx a flash and a jobs-changed event
// that makes the dashboard reload its list and stats.
func (a *Admin) done(w http.ResponseWriter, r *http.Request, status int, level session.Level, msg string, body map[string]any) {
	if !wantsHTML(r) {
		body["message"] = msg
		render.JSON(w, status, body)
		return
	}
	a.sessions.Flash(r.Context(), level, msg)
	if htmx.IsRequest(r) {
		_ = htmx.Trigger(w, "jobs-changed", nil)
		a.render.Fragment(w, r, http.StatusOK, emptyComponent())
		return
	}
	http.Redirect(w, r, returnTo(r), http.StatusSeeOther)
}

func (a *Admin) audit(r *http.Request, action string, attrs ...slog.Attr) {
	attrs = append(attrs, slog.String("audit", "jobs"), slog.String("action", action),
		slog.String("request_id", middleware.RequestIDFrom(r.Context())))
	a.logger.LogAttrs(r.Context(), slog.LevelInfo, "job admin action", attrs...)
}

func (a *Admin) retry(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	ctx, cancel := a.ctx(r)
	defer cancel()
	d, err := a.e.Retry(ctx, id)
	switch {
	case errors.Is(err, ErrRunning):
		a.conflict(w, r, "job "+strconv.FormatInt(id, 10)+" is running; it cannot be retried until it finishes")
		return
	case err != nil:
		a.storeError(w, r, err)
		return
	}
	a.audit(r, "retry", slog.Int64("job_id", id), slog.String("kind", d.Kind))
	a.done(w, r, http.StatusOK, session.Success, "Job "+strconv.FormatInt(id, 10)+" ("+d.Kind+") will run again.", map[string]any{"success": true})
}

func (a *Admin) cancel(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	ctx, cancel := a.ctx(r)
	defer cancel()
	d, err := a.e.Cancel(ctx, id)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	switch d.Status {
	case StatusCompleted, StatusDead:
		a.conflict(w, r, "job "+strconv.FormatInt(id, 10)+" already finished ("+string(d.Status)+"); there is nothing to cancel")
		return
	}
	msg := "Job " + strconv.FormatInt(id, 10) + " (" + d.Kind + ") was cancelled."
	if d.Status == StatusRunning {
		msg = "Job " + strconv.FormatInt(id, 10) + " (" + d.Kind + ") is running; it has been told to stop and will end cancelled."
	}
	a.audit(r, "cancel", slog.Int64("job_id", id), slog.String("kind", d.Kind))
	a.done(w, r, http.StatusOK, session.Success, msg, map[string]any{"success": true})
}

func (a *Admin) conflict(w http.ResponseWriter, r *http.Request, msg string) {
	if wantsHTML(r) {
		a.render.Error(w, r, render.NewError(http.StatusConflict, msg))
		return
	}
	jsonError(w, http.StatusConflict, msg)
}

func (a *Admin) retryAll(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	n, err := a.e.RetryAllDead(ctx)
	if err != nil && n == 0 {
		a.storeError(w, r, err)
		return
	}
	a.audit(r, "retry-all", slog.Int("count", n))
	msg := strconv.Itoa(n) + " dead jobs will run again."
	if err != nil {
		msg += " Some could not be retried; try again."
	}
	a.done(w, r, http.StatusOK, session.Success, msg, map[string]any{"retried": n})
}

func (a *Admin) clearDead(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	n, err := a.e.ClearDead(ctx)
	if err != nil && n == 0 {
		a.storeError(w, r, err)
		return
	}
	a.audit(r, "clear-dead-letter", slog.Int("count", n))
	a.done(w, r, http.StatusOK, session.Info, strconv.Itoa(n)+" dead jobs were deleted.", map[string]any{"cleared": n})
}

package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/htmx"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/middleware"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/session"
)

// Routes mounts, relative to r, with P the prefix (default /admin/jobs):
//
//	GET  P                     dashboard (HTML)
//	GET  P/list                JSON list: state, kind, queue, q, limit, cursor
//	GET  P/stats               JSON statistics (HTML fragment for htmx)
//	GET  P/charts?window=      throughput, failures and p95 charts of the
//	                           last hour or day (SVG fragment for htmx,
//	                           page for browsers, JSON timeline for APIs)
//	GET  P/{id}                JSON job (HTML page for browsers)
//	POST P/{id}/retry          {"success", "message"}; 409 while running
//	POST P/{id}/cancel         {"success", "message"}; 409 when finished
//	POST P/retry-all           {"retried", "message"}
//	POST P/dead-letter/clear   {"cleared", "message"}
//
// Actions answer JSON to API clients; browsers and htmx get a redirect or
// a fragment with a flash message. Routes adds no authorization: mount it
// behind the app's admin check.
func (h *Handler) Routes(r chi.Router) {
	l := h.links
	r.Get(l.Home(), h.dashboard)
	r.Get(l.List(), h.listJSON)
	r.Get(l.Stats(), h.stats)
	r.Get(l.prefix+"/charts", h.charts)
	r.Post(l.RetryAll(), h.retryAll)
	r.Post(l.ClearDead(), h.clearDead)
	r.Get(l.prefix+"/{id}", h.job)
	r.Post(l.prefix+"/{id}/retry", h.retry)
	r.Post(l.prefix+"/{id}/cancel", h.cancel)
}

// wantsHTML reports whether the client is a browser or htmx rather than an
// API client: htmx requests and Accept headers naming text/html.
func wantsHTML(r *http.Request) bool {
	return htmx.IsRequest(r) || strings.Contains(r.Header.Get("Accept"), "text/html")
}

func (h *Handler) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), h.timeout)
}

// jsonError answers the API's error shape with status.
func jsonError(w http.ResponseWriter, status int, msg string) {
	render.JSON(w, status, map[string]any{"success": false, "error": msg, "message": msg, "status": status})
}

// storeError maps an engine error: 404 for a missing job, 400 for a bad
// cursor, 504 for a database timeout, 503 for an unreachable or overloaded
// database (never 408), 500 for anything else.
func (h *Handler) storeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "the request failed; it has been logged"
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		status, msg = http.StatusNotFound, "job not found"
	case errors.Is(err, jobs.ErrBadCursor):
		status, msg = http.StatusBadRequest, "cursor is malformed; use next_cursor from the previous page"
	case errors.Is(err, context.DeadlineExceeded):
		status, msg = http.StatusGatewayTimeout, "the job store did not answer in time; try again"
	case db.Unavailable(err):
		status, msg = http.StatusServiceUnavailable, "the job store is unavailable; try again shortly"
	}
	if status >= 500 {
		h.logger.ErrorContext(r.Context(), "job admin", slog.Any("error", err), slog.String("path", r.URL.Path),
			slog.String("request_id", middleware.RequestIDFrom(r.Context())))
	}
	if wantsHTML(r) {
		h.render.Error(w, r, &render.Error{Status: status, Message: msg, Err: err})
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
func listParams(q url.Values) (jobs.ListParams, string) {
	p := jobs.ListParams{Kind: q.Get("kind"), Queue: q.Get("queue"), Q: q.Get("q"), Cursor: q.Get("cursor")}
	st, ok := jobs.ParseStatus(q.Get("state"))
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
	jobs.Info
}

func toAPI(in jobs.Info) apiJob { return apiJob{ID: strconv.FormatInt(in.ID, 10), Info: in} }

func (h *Handler) listJSON(w http.ResponseWriter, r *http.Request) {
	p, problem := listParams(r.URL.Query())
	if problem != "" {
		jsonError(w, http.StatusBadRequest, problem)
		return
	}
	ctx, cancel := h.ctx(r)
	defer cancel()
	res, err := h.e.List(ctx, p)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	render.JSON(w, http.StatusOK, ListBody(res))
}

// ListBody is the admin API's JSON answer for a page of jobs; the app's
// `jobs list --json` prints the same.
func ListBody(res *jobs.ListResult) map[string]any {
	out := make([]apiJob, len(res.Jobs))
	for i, j := range res.Jobs {
		out[i] = toAPI(j)
	}
	return map[string]any{
		"jobs": out, "total": res.Total, "next_cursor": res.NextCursor,
		"message": "retrieved " + strconv.Itoa(len(out)) + " of " + strconv.Itoa(res.Total) + " jobs",
	}
}

func (h *Handler) stats(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.ctx(r)
	defer cancel()
	s, err := h.e.Stats(ctx)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	if htmx.IsRequest(r) {
		h.render.Fragment(w, r, http.StatusOK, statsPanel(h.links, s))
		return
	}
	render.JSON(w, http.StatusOK, StatsBody(s))
}

// StatsBody is the admin API's JSON answer for job statistics; the app's
// `jobs stats --json` prints the same.
func StatsBody(s *jobs.Stats) map[string]any {
	t := s.Total
	return map[string]any{
		"total_enqueued": t.Enqueued, "running": t.Running, "pending": t.Pending, "completed": t.Completed,
		"failed": t.Failed, "dead_letter": t.DeadLetter, "avg_execution_ms": t.Execution.Avg,
		"p95_execution_ms": t.Execution.P95, "p99_execution_ms": t.Execution.P99, "success_rate": t.SuccessRate,
		"p50_execution_ms": t.Execution.P50, "scheduled": t.Scheduled, "retried": t.Retried, "cancelled": t.Cancelled,
		"queue_wait": t.QueueWait, "kinds": s.Kinds, "window": s.Window,
		"message": "statistics computed at " + s.At.Format(time.RFC3339),
	}
}

func (h *Handler) job(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	ctx, cancel := h.ctx(r)
	defer cancel()
	d, err := h.e.Get(ctx, id)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	if wantsHTML(r) {
		h.render.Page(w, r, "Job "+strconv.FormatInt(id, 10), jobPage(h.links, d, h.returnTo(r)))
		return
	}
	render.JSON(w, http.StatusOK, map[string]any{
		"job": struct {
			apiJob
			Errors   []jobs.AttemptError `json:"errors"`
			Metadata any                 `json:"metadata"`
		}{toAPI(d.Info), d.Errors, d.Metadata},
		"message": "job retrieved",
	})
}

// returnTo is the dashboard URL to come back to after an action, from the
// "return" form field or query parameter. Only a clean local path to the
// dashboard or below it qualifies; anything else — another site, a
// scheme, a backslash, a control character, a dot segment — falls back
// to the dashboard.
func (h *Handler) returnTo(r *http.Request) string {
	if ret := r.FormValue("return"); h.safeReturn(ret) {
		return ret
	}
	return h.links.Home()
}

// safeReturn reports whether ret may go into a Location header as the
// page to come back to.
func (h *Handler) safeReturn(ret string) bool {
	if !strings.HasPrefix(ret, "/") || strings.HasPrefix(ret, "//") || !utf8.ValidString(ret) ||
		strings.ContainsFunc(ret, func(c rune) bool { return c == '\\' || unicode.IsControl(c) }) {
		return false
	}
	u, err := url.Parse(ret)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil {
		return false
	}
	// A dot segment would lead the browser out of the dashboard.
	if clean := path.Clean(u.Path); clean != u.Path && clean+"/" != u.Path {
		return false
	}
	return h.links.owns(ret)
}

// done answers a successful action: JSON for API clients; for browsers a
// flash and a redirect back; for htmx a flash and a jobs-changed event
// that makes the dashboard reload its list and stats.
func (h *Handler) done(w http.ResponseWriter, r *http.Request, status int, level session.Level, msg string, body map[string]any) {
	if !wantsHTML(r) {
		body["message"] = msg
		render.JSON(w, status, body)
		return
	}
	h.sessions.Flash(r.Context(), level, msg)
	if htmx.IsRequest(r) {
		_ = htmx.Trigger(w, "jobs-changed", nil)
		h.render.Fragment(w, r, http.StatusOK, emptyComponent())
		return
	}
	http.Redirect(w, r, h.returnTo(r), http.StatusSeeOther)
}

func (h *Handler) audit(r *http.Request, action string, attrs ...slog.Attr) {
	attrs = append(attrs, slog.String("audit", "jobs"), slog.String("action", action),
		slog.String("request_id", middleware.RequestIDFrom(r.Context())))
	h.logger.LogAttrs(r.Context(), slog.LevelInfo, "job admin action", attrs...)
}

func (h *Handler) retry(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	ctx, cancel := h.ctx(r)
	defer cancel()
	d, err := h.e.Retry(ctx, id)
	switch {
	case errors.Is(err, jobs.ErrRunning):
		h.conflict(w, r, "job "+strconv.FormatInt(id, 10)+" is running; it cannot be retried until it finishes")
		return
	case err != nil:
		h.storeError(w, r, err)
		return
	}
	h.audit(r, "retry", slog.Int64("job_id", id), slog.String("kind", d.Kind))
	h.done(w, r, http.StatusOK, session.Success, "Job "+strconv.FormatInt(id, 10)+" ("+d.Kind+") will run again.", map[string]any{"success": true})
}

func (h *Handler) cancel(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	ctx, cancel := h.ctx(r)
	defer cancel()
	d, err := h.e.Cancel(ctx, id)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	switch d.Status {
	case jobs.StatusCompleted, jobs.StatusDead:
		h.conflict(w, r, "job "+strconv.FormatInt(id, 10)+" already finished ("+string(d.Status)+"); there is nothing to cancel")
		return
	}
	msg := "Job " + strconv.FormatInt(id, 10) + " (" + d.Kind + ") was cancelled."
	if d.Status == jobs.StatusRunning {
		msg = "Job " + strconv.FormatInt(id, 10) + " (" + d.Kind + ") is running; it has been told to stop and will end cancelled."
	}
	h.audit(r, "cancel", slog.Int64("job_id", id), slog.String("kind", d.Kind))
	h.done(w, r, http.StatusOK, session.Success, msg, map[string]any{"success": true})
}

func (h *Handler) conflict(w http.ResponseWriter, r *http.Request, msg string) {
	if wantsHTML(r) {
		h.render.Error(w, r, render.NewError(http.StatusConflict, msg))
		return
	}
	jsonError(w, http.StatusConflict, msg)
}

func (h *Handler) retryAll(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	n, err := h.e.RetryAllDead(ctx)
	if err != nil && n == 0 {
		h.storeError(w, r, err)
		return
	}
	h.audit(r, "retry-all", slog.Int("count", n))
	msg := strconv.Itoa(n) + " dead jobs will run again."
	if err != nil {
		msg += " Some could not be retried; try again."
	}
	h.done(w, r, http.StatusOK, session.Success, msg, map[string]any{"retried": n})
}

func (h *Handler) clearDead(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	n, err := h.e.ClearDead(ctx)
	if err != nil && n == 0 {
		h.storeError(w, r, err)
		return
	}
	h.audit(r, "clear-dead-letter", slog.Int("count", n))
	h.done(w, r, http.StatusOK, session.Info, strconv.Itoa(n)+" dead jobs were deleted.", map[string]any{"cleared": n})
}

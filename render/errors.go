package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/trellis-go/trellis/htmx"
	"github.com/trellis-go/trellis/middleware"
)

// Error is an error with an HTTP status. For 4xx statuses Message is shown
// to the user; for 5xx statuses users see a generic message and Err goes to
// the log only.
type Error struct {
	Status  int
	Message string
	Err     error
	// Public shows Message for a 5xx status too: set it when Message is
	// written for users and reveals nothing internal (such as "Sign-in
	// with GitHub is unavailable right now").
	Public bool
}

// NewError returns an *Error with a user-facing message.
func NewError(status int, message string) *Error {
	return &Error{Status: status, Message: message}
}

// Error describes the error for logs.
func (e *Error) Error() string {
	text := fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		text += ": " + e.Message
	}
	if e.Err != nil {
		text += ": " + e.Err.Error()
	}
	return text
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ErrorInfo is what error templates receive.
type ErrorInfo struct {
	// Status is the HTTP status code.
	Status int
	// Title is a short heading such as "Page not found".
	Title string
	// Message explains what happened and what to do.
	Message string
	// RequestID lets users quote the failing request to support.
	RequestID string
}

// defaultMessages holds the title and message for each status with an
// error page.
var defaultMessages = map[int][2]string{
	http.StatusBadRequest:            {"Bad request", "The request could not be understood. Check what you sent and try again."},
	http.StatusUnauthorized:          {"Sign in required", "You need to sign in to see this page."},
	http.StatusForbidden:             {"Access denied", "You do not have permission to do that."},
	http.StatusNotFound:              {"Page not found", "The page you asked for does not exist or has moved."},
	http.StatusMethodNotAllowed:      {"Method not allowed", "This address does not accept that kind of request."},
	http.StatusRequestEntityTooLarge: {"Request too large", "What you sent is larger than this site accepts."},
	http.StatusUnprocessableEntity:   {"Invalid input", "Some of what you sent is not valid. Correct it and try again."},
	http.StatusTooManyRequests:       {"Too many requests", "You are sending requests too quickly. Wait a moment and try again."},
	http.StatusInternalServerError:   {"Something went wrong", "An unexpected error occurred on our side. It has been logged; please try again."},
	http.StatusBadGateway:            {"Bad gateway", "A service this site depends on did not answer properly. Please try again shortly."},
	http.StatusServiceUnavailable:    {"Service unavailable", "The service is temporarily unavailable. Please try again shortly."},
	http.StatusGatewayTimeout:        {"Timed out", "The server took too long to answer. Please try again."},
}

// Info returns the ErrorInfo for a status and optional user message.
func Info(ctx context.Context, status int, message string) ErrorInfo {
	title, def := http.StatusText(status), ""
	if m, ok := defaultMessages[status]; ok {
		title, def = m[0], m[1]
	}
	if message == "" || status >= 500 {
		message = def
	}
	return ErrorInfo{Status: status, Title: title, Message: message, RequestID: middleware.RequestIDFrom(ctx)}
}

// StatusOf maps an error to the HTTP status it should produce: an *Error's
// own status, 413 for bodies over the limit, 504 for timeouts and 500 for
// anything else. A Renderer can refine it with Options.Classify.
func StatusOf(err error) int {
	var he *Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.Status
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// Error answers with the error page for err: a full page for browsers, a
// fragment swapped into the error region for htmx requests, or JSON for
// clients that ask for it. 5xx errors are logged with the request id.
func (rd *Renderer) Error(w http.ResponseWriter, r *http.Request, err error) {
	status := StatusOf(err)
	if status == http.StatusInternalServerError && rd.opts.Classify != nil {
		if s := rd.opts.Classify(err); s != 0 {
			status = s
		}
	}
	message := ""
	var he *Error
	if errors.As(err, &he) {
		message = he.Message
	}
	if status >= 500 {
		rd.opts.Logger.ErrorContext(r.Context(), "request failed",
			slog.Int("status", status),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("request_id", middleware.RequestIDFrom(r.Context())),
			slog.Any("error", err))
	}
	info := Info(r.Context(), status, message)
	if he != nil && he.Public && message != "" {
		info.Message = message
	}
	rd.renderError(w, r, info)
}

// Status answers with the error page for status and its default message.
// Its signature matches middleware.ErrorFunc.
func (rd *Renderer) Status(w http.ResponseWriter, r *http.Request, status int, err error) {
	if err == nil {
		err = &Error{Status: status}
	} else {
		err = &Error{Status: status, Err: err}
	}
	rd.Error(w, r, err)
}

func (rd *Renderer) renderError(w http.ResponseWriter, r *http.Request, info ErrorInfo) {
	h := w.Header()
	h.Del("Content-Length")
	htmx.Vary(h)
	htmx.AddVary(h, "Accept")
	if WantsJSON(r) {
		JSON(w, info.Status, map[string]any{"error": info.Message, "status": info.Status})
		return
	}
	if htmx.ParseRequest(r).WantsFullPage() {
		rd.write(w, r, info.Status, rd.full(info.Title, rd.opts.ErrorPage(info)))
		return
	}
	h.Set(htmx.HeaderRetarget, rd.opts.ErrorTarget)
	h.Set(htmx.HeaderReswap, "innerHTML")
	rd.write(w, r, info.Status, rd.withExtras(r, rd.opts.ErrorFragment(info)))
}

// WantsJSON reports whether the client prefers JSON to HTML: its Accept
// header names application/json (or a +json type) and not text/html, and it
// is not an htmx request.
func WantsJSON(r *http.Request) bool {
	if htmx.IsRequest(r) {
		return false
	}
	accept := r.Header.Get("Accept")
	return (strings.Contains(accept, "application/json") || strings.Contains(accept, "+json")) &&
		!strings.Contains(accept, "text/html")
}

// JSON writes v as a JSON response with status.
func JSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":"response could not be encoded","status":500}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// Recover turns a panic in a later handler into a 500 response written by
// onError, and logs the panic value with its stack trace and request id. The
// stack never reaches the client. When the response had already started, the
// connection is aborted instead, because a half-written page cannot be
// repaired. http.ErrAbortHandler is passed through untouched.
func Recover(logger *slog.Logger, onError ErrorFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m := NewResponseMeter(w)
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				err, ok := v.(error)
				if !ok {
					err = fmt.Errorf("%v", v)
				}
				logger.ErrorContext(r.Context(), "panic serving request",
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.String("request_id", RequestIDFrom(r.Context())),
					slog.Any("panic", err),
					slog.String("stack", string(debug.Stack())),
				)
				if m.started() {
					panic(http.ErrAbortHandler)
				}
				onError(w, r, http.StatusInternalServerError, fmt.Errorf("panic: %w", err))
			}()
			next.ServeHTTP(m, r)
		})
	}
}

package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// AccessLog logs one structured line per request after it completes: method,
// path (without the query string, which may carry secrets), status, bytes,
// duration, request id, client IP and whether htmx sent it. 5xx
// responses are logged at error level, others at info.
func AccessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			m := NewResponseMeter(w)
			defer func() {
				status := m.status
				if status == 0 {
					// The handler wrote nothing; net/http sends 200.
					status = http.StatusOK
				}
				level := slog.LevelInfo
				if status >= 500 {
					level = slog.LevelError
				}
				logger.LogAttrs(context.Background(), level, "request",
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", status),
					slog.Int64("bytes", m.bytes),
					slog.Duration("duration", time.Since(start)),
					slog.String("request_id", RequestIDFrom(r.Context())),
					slog.String("client_ip", ClientIPFrom(r).String()),
					slog.Bool("htmx", r.Header.Get("HX-Request") == "true"),
				)
			}()
			next.ServeHTTP(m, r)
		})
	}
}

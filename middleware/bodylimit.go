package middleware

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// MaxBody caps request bodies at limit bytes. A request that declares a
// larger Content-Length is answered 413 by onError before the handler runs;
// a body that grows past the limit while being read makes the read fail with
// *http.MaxBytesError, which handlers (and package render) turn into 413.
// Requests marked by Streamed get the limit Streamed gave them instead.
func MaxBody(max int64, onError ErrorFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			limit := max
			if l, ok := streamLimit(r); ok {
				limit = l
			}
			if r.ContentLength > limit {
				onError(w, r, http.StatusRequestEntityTooLarge,
					fmt.Errorf("request body of %d bytes exceeds the %d-byte limit", r.ContentLength, limit))
				return
			}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, limit)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Timeout cancels each request's context after d, so work that honours the
// context (database calls, outgoing requests) stops and the handler can
// answer 504. The handler keeps running until it returns.
func Timeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

package middleware

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"net/netip"
	"sync/atomic"
)

// HeaderRequestID is the header that carries the request id in both
// directions.
const HeaderRequestID = "X-Request-ID"

// requestState is the per-request data middleware shares through the
// context. RequestID creates it and later middleware fills it in, so the
// stack copies the request once instead of once per middleware.
type requestState struct {
	id    string
	nonce string
	ip    netip.Addr
}

type stateKey struct{}

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}

// RequestID accepts a well-formed X-Request-ID from the client (1–64
// characters of letters, digits, '-', '_', '.', ':') or generates one,
// stores it in the request context and echoes it in the response.
// Generated ids are a random per-process prefix and a counter: unique, and
// cheap enough for every request (ids are for correlation, not secrets).
func RequestID(next http.Handler) http.Handler {
	var prefix [8]byte
	_, _ = rand.Read(prefix[:])
	var seq atomic.Uint64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderRequestID)
		if !validRequestID(id) {
			id = newRequestID(&prefix, seq.Add(1))
		}
		w.Header()[HeaderRequestID] = []string{id}
		if st := stateFrom(r.Context()); st != nil {
			st.id = id
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, &requestState{id: id})))
	})
}

// RequestIDFrom returns the request id stored by [RequestID], or "".
func RequestIDFrom(ctx context.Context) string {
	if st := stateFrom(ctx); st != nil {
		return st.id
	}
	return ""
}

// newRequestID formats 24 hex digits: 16 of prefix, 8 of the counter.
func newRequestID(prefix *[8]byte, n uint64) string {
	var b [24]byte
	hex.Encode(b[:16], prefix[:])
	var c [4]byte
	binary.BigEndian.PutUint32(c[:], uint32(n))
	hex.Encode(b[16:], c[:])
	return string(b[:])
}

func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := range len(id) {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

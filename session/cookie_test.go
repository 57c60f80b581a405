package session_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/session"
)

// TestSecureCookiesUseTheHostPrefix writes a session with secure cookies on
// (production's setting) and checks the cookie browsers get: __Host-
// prefixed, Secure, Path=/, no Domain — and plain when cookies are not
// Secure (development over http), where the prefix would be refused.
func TestSecureCookiesUseTheHostPrefix(t *testing.T) {
	for _, secure := range []bool{true, false} {
		cfg := config.Default(config.Production).Session
		cfg.CookieSecure = secure
		m := session.New(cfg, session.NewMemory(), slog.New(slog.NewTextHandler(io.Discard, nil)), func(w http.ResponseWriter, _ *http.Request, err error) {
			t.Errorf("session error: %v", err)
		})
		h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.Put(r.Context(), "k", "v")
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://example.com/", nil))
		cookie := rec.Header().Get("Set-Cookie")
		wantName := "trellis_session="
		if secure {
			wantName = "__Host-trellis_session="
		}
		if !strings.HasPrefix(cookie, wantName) || strings.Contains(strings.ToLower(cookie), "domain=") || !strings.Contains(cookie, "Path=/") ||
			strings.Contains(cookie, "Secure") != secure {
			t.Errorf("secure=%v: Set-Cookie %q", secure, cookie)
		}
	}
}

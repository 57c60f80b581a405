package session

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis/config"
)

func testManager(t *testing.T) (*Manager, *Memory) {
	t.Helper()
	mem := NewMemory()
	cfg := config.Default(config.Test).Session
	m := New(cfg, mem, slog.New(slog.NewTextHandler(io.Discard, nil)), func(w http.ResponseWriter, r *http.Request, err error) {
		t.Errorf("session error: %v", err)
		w.WriteHeader(500)
	})
	return m, mem
}

func storeKey(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// start creates a session through the middleware and returns its cookie.
func start(t *testing.T, m *Manager) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Put(r.Context(), "user", "alice")
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	for _, c := range rec.Result().Cookies() {
		if c.Name == m.Cookie.Name {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

func sessionCookieIn(rec *httptest.ResponseRecorder, name string) bool {
	// The headers as sent, not as the handler left them afterwards.
	for _, v := range rec.Result().Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, name+"=") {
			return true
		}
	}
	return false
}

// A session destroyed by a concurrent request (logout elsewhere) must not
// come back when a slower request of the same session commits — not even
// when the middleware is nested (a 404 handler inside a router).
func TestDestroyedSessionsStayDestroyed(t *testing.T) {
	m, mem := testManager(t)
	c := start(t, m)
	for _, nested := range []bool{false, true} {
		c := start(t, m)
		handler := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = mem.Delete(r.Context(), storeKey(c.Value)) // the concurrent logout
			m.Put(r.Context(), "late", "write")
			_, _ = io.WriteString(w, "ok")
		}))
		if nested {
			handler = m.Middleware(handler)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(c)
		m.Middleware(handler).ServeHTTP(rec, req)
		if _, _, found, _ := mem.Load(context.Background(), storeKey(c.Value)); found {
			t.Errorf("nested=%v: the destroyed session was written back", nested)
		}
		if sessionCookieIn(rec, m.Cookie.Name) {
			t.Errorf("nested=%v: the dead token was sent back to the browser", nested)
		}
	}
	// A read-only request of a live session sends no cookie either (the
	// browser's is current), so a slow one cannot undo a renewal.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(c)
	m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = m.GetString(r.Context(), "user")
	})).ServeHTTP(rec, req)
	if sessionCookieIn(rec, m.Cookie.Name) {
		t.Error("read-only request rewrote the session cookie")
	}
}

func TestExpiredSessionIsNotExtendedByALateCommit(t *testing.T) {
	m, mem := testManager(t)
	c := start(t, m)
	now := time.Now()
	mem.now = func() time.Time { return now.Add(48 * time.Hour) } // past the idle timeout
	ok, err := mem.Apply(context.Background(), storeKey(c.Value), map[string][]byte{"k": []byte("s")}, nil, now.Add(72*time.Hour))
	if ok || err != nil {
		t.Errorf("Apply on an expired session: %v %v", ok, err)
	}
}

// The session cookie is HttpOnly, scoped to the site, SameSite as
// configured, and Secure exactly when secure cookies are on.
func TestSessionCookieAttributes(t *testing.T) {
	for _, c := range []struct {
		secure   bool
		sameSite string
		want     http.SameSite
	}{
		{true, "lax", http.SameSiteLaxMode},
		{false, "lax", http.SameSiteLaxMode},
		{true, "strict", http.SameSiteStrictMode},
	} {
		cfg := config.Default(config.Test).Session
		cfg.CookieSecure, cfg.CookieSameSite = c.secure, c.sameSite
		m := New(cfg, NewMemory(), slog.New(slog.DiscardHandler), func(w http.ResponseWriter, r *http.Request, err error) {
			t.Errorf("session error: %v", err)
		})
		got := start(t, m)
		if got.Secure != c.secure || !got.HttpOnly || got.SameSite != c.want || got.Path != "/" || got.Name != CookieName(cfg) || got.Domain != "" {
			t.Errorf("secure=%v same_site=%s: cookie %+v", c.secure, c.sameSite, got)
		}
	}
}

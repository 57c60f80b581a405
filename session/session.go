// Package session gives Trellis apps server-side sessions on scs
// (github.com/alexedwards/scs/v2), with stores in the app's database
// (SQLite or PostgreSQL), Redis or memory.
//
// The cookie is HttpOnly, SameSite=Lax (or Strict), Secure outside
// development, and carries only a random token; stores keep a SHA-256 of
// it. Sessions end after an idle timeout and an absolute lifetime. Nothing
// is stored for visitors until something is written to their session.
//
// Concurrent requests of one user lose no writes: each request commits only
// the keys it changed (see Backend), so two htmx requests that set different
// keys — or add flash messages — both land.
package session

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/felixge/httpsnoop"
	"github.com/trellis-go/trellis/config"
)

// Manager loads and saves sessions. It embeds *scs.SessionManager, so
// Put, Get, GetString, Pop, Remove, RenewToken and Destroy work as in scs.
type Manager struct {
	*scs.SessionManager
	backend Backend
	logger  *slog.Logger
}

// CookieName is the session cookie's name: session.cookie_name, with the
// "__Host-" prefix when cookies are Secure, so browsers accept the cookie
// only from this exact host over HTTPS (no Domain, Path "/") and a sibling
// subdomain cannot plant or overwrite it.
func CookieName(cfg config.Session) string {
	if cfg.CookieSecure && !strings.HasPrefix(cfg.CookieName, "__Host-") {
		return "__Host-" + cfg.CookieName
	}
	return cfg.CookieName
}

// New returns a Manager storing sessions in backend. onError answers a
// request whose session cannot be loaded or saved (the store is down).
func New(cfg config.Session, backend Backend, logger *slog.Logger, onError func(http.ResponseWriter, *http.Request, error)) *Manager {
	sm := scs.New()
	sm.Store = &adapter{backend: backend, touchAfter: min(max(cfg.IdleTimeout/100, time.Second), time.Minute)}
	sm.Codec = codec{}
	sm.HashTokenInStore = true
	sm.IdleTimeout = cfg.IdleTimeout
	sm.Lifetime = cfg.Lifetime
	sm.Cookie.Name = CookieName(cfg)
	sm.Cookie.HttpOnly = true
	sm.Cookie.Path = "/"
	sm.Cookie.Persist = true
	sm.Cookie.Secure = cfg.CookieSecure
	sm.Cookie.SameSite = http.SameSiteLaxMode
	if cfg.CookieSameSite == "strict" {
		sm.Cookie.SameSite = http.SameSiteStrictMode
	}
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		logger.ErrorContext(r.Context(), "session store failed", slog.Any("error", err))
		onError(w, r, err)
	}
	return &Manager{SessionManager: sm, backend: backend, logger: logger}
}

// Middleware loads the session before next runs and saves what changed
// before the response is written. Nested use (a 404 handler inside a
// router that already loaded the session) reuses the outer session.
//
// When this request's commit found the session gone (destroyed or renewed
// by a concurrent request) or only skipped an unneeded expiry refresh, the
// session cookie is left out of the response, so a slow response cannot
// put a dead token back into the browser.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	inner := m.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		holder(r.Context()).loaded = true
		next.ServeHTTP(w, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := holder(r.Context()); s != nil && s.manager == m {
			next.ServeHTTP(w, r)
			return
		}
		s := &snapshot{manager: m}
		cw := &cookieWriter{h: w.Header(), s: s, name: m.Cookie.Name}
		inner.ServeHTTP(cw.wrap(w), r.WithContext(context.WithValue(r.Context(), snapshotKey{}, s)))
		cw.strip()
	})
}

// cookieWriter removes a suppressed session cookie before headers go out.
// It watches the response through an httpsnoop wrapper (see wrap).
type cookieWriter struct {
	h       http.Header
	s       *snapshot
	name    string
	written bool
}

func (c *cookieWriter) strip() {
	if c.written || !c.s.suppressCookie {
		return
	}
	h := c.h
	kept := h["Set-Cookie"][:0]
	for _, v := range h["Set-Cookie"] {
		if !strings.HasPrefix(v, c.name+"=") {
			kept = append(kept, v)
		}
	}
	if len(kept) == 0 {
		h.Del("Set-Cookie")
	} else {
		h["Set-Cookie"] = kept
	}
}

// start runs before anything that sends the headers.
func (c *cookieWriter) start() {
	if !c.written {
		c.strip()
		c.written = true
	}
}

// wrap returns w with every call that sends headers (WriteHeader, Write,
// WriteString, ReadFrom, Flush) preceded by start. The wrapper offers
// exactly the optional interfaces w offers, and Unwrap.
func (c *cookieWriter) wrap(w http.ResponseWriter) http.ResponseWriter {
	return httpsnoop.Wrap(w, httpsnoop.Hooks{
		WriteHeader: func(next httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
			return func(code int) {
				if code >= 200 {
					c.start()
				} else {
					c.strip() // interim responses send the headers too
				}
				next(code)
			}
		},
		Write: func(next httpsnoop.WriteFunc) httpsnoop.WriteFunc {
			return func(b []byte) (int, error) {
				c.start()
				return next(b)
			}
		},
		WriteString: func(next httpsnoop.WriteStringFunc) httpsnoop.WriteStringFunc {
			return func(s string) (int, error) {
				c.start()
				return next(s)
			}
		},
		ReadFrom: func(next httpsnoop.ReadFromFunc) httpsnoop.ReadFromFunc {
			return func(src io.Reader) (int64, error) {
				c.start()
				return next(src)
			}
		},
		Flush: func(next httpsnoop.FlushFunc) httpsnoop.FlushFunc {
			return func() {
				c.start()
				next()
			}
		},
	})
}

// FromContext returns the Manager whose middleware loaded the request's
// session, or nil (outside the middleware, or when loading failed).
func FromContext(ctx context.Context) *Manager {
	if s := holder(ctx); s != nil && s.loaded {
		return s.manager
	}
	return nil
}

// Started reports whether this request's session exists in the store (it
// was loaded, or has been committed) as opposed to a fresh, unsaved one.
func (m *Manager) Started(ctx context.Context) bool {
	return m.Token(ctx) != ""
}

// Janitor deletes expired sessions every interval until ctx ends. Run it
// in a goroutine; Redis and memory stores need no janitor but accept one.
func (m *Manager) Janitor(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := m.backend.DeleteExpired(ctx)
			if err != nil && ctx.Err() == nil {
				m.logger.Warn("deleting expired sessions", slog.Any("error", err))
			} else if n > 0 {
				m.logger.Debug("deleted expired sessions", slog.Int("count", n))
			}
		}
	}
}

// Backend returns the store behind the manager. Wrappers that time or
// otherwise decorate it (an Unwrap() Backend method, like the metrics
// timer trellis.New installs) are looked through, so the store's concrete
// type is what callers see.
func (m *Manager) Backend() Backend {
	b := m.backend
	for {
		u, ok := b.(interface{ Unwrap() Backend })
		if !ok {
			return b
		}
		b = u.Unwrap()
	}
}

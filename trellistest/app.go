package trellistest

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
)

// Backend is where a test app keeps its data.
type Backend string

const (
	// SQLite keeps everything in a SQLite file in the test's temporary
	// directory.
	SQLite Backend = "sqlite"
	// Postgres uses a fresh PostgreSQL database (see PostgresURL).
	Postgres Backend = "postgres"
	// Redis uses SQLite for data and Redis for sessions and rate limits
	// (see RedisURL).
	Redis Backend = "redis"
)

// Backends are the backends ForEachBackend runs a test against.
var Backends = []Backend{SQLite, Postgres, Redis}

// ForEachBackend runs fn as a subtest for each of Backends; pass the
// backend on to NewApp with OnBackend. Subtests whose service is absent
// skip (or fail under TRELLIS_REQUIRE_SERVICES=1).
func ForEachBackend(t *testing.T, fn func(t *testing.T, b Backend)) {
	t.Helper()
	for _, b := range Backends {
		t.Run(string(b), func(t *testing.T) { fn(t, b) })
	}
}

// Build constructs the app under test — usually the app's own constructor,
// or trellis.New itself.
type Build func(ctx context.Context, cfg *config.Config, opts ...trellis.Option) (*trellis.App, error)

// AppOption adjusts how NewApp builds the app.
type AppOption func(*appOptions)

type appOptions struct {
	backend Backend
	config  []func(*config.Config)
	options []trellis.Option
}

// OnBackend builds the app on backend b (default SQLite).
func OnBackend(b Backend) AppOption {
	return func(o *appOptions) { o.backend = b }
}

// Configure changes the test-profile config before the app is built.
func Configure(f func(*config.Config)) AppOption {
	return func(o *appOptions) { o.config = append(o.config, f) }
}

// Options passes options on to the app's constructor.
func Options(opts ...trellis.Option) AppOption {
	return func(o *appOptions) { o.options = append(o.options, opts...) }
}

// App is an app under test, served on a loopback server, with a browser-like
// client (see Server).
type App struct {
	*Server
	// App is the app itself: add routes and middleware to it before the
	// first request, read its database, enqueue jobs.
	App *trellis.App
	// Logs is everything the app logged.
	Logs *Logs

	mailMu   sync.Mutex
	mailSeen map[string]int64 // newest mail id WaitForMail returned, per address
}

// NewApp builds an app for a test: the test profile with its data in a
// temporary directory on the chosen backend, the log captured in Logs,
// served on an httptest server whose client keeps cookies. build nil
// means trellis.New. The app's background work (jobs) starts with the
// first request, so routes and middleware can still be added after
// NewApp; everything is closed when the test ends.
func NewApp(t testing.TB, build Build, opts ...AppOption) *App {
	t.Helper()
	o := &appOptions{backend: SQLite}
	for _, opt := range opts {
		opt(o)
	}
	cfg := Config(t)
	switch o.backend {
	case Postgres:
		cfg.Database.URL = PostgresURL(t)
	case Redis:
		cfg.Redis.URL, cfg.Redis.KeyPrefix = RedisURL(t)
		cfg.Session.Store = "redis"
		cfg.RateLimit.Store = "redis"
	}
	for _, f := range o.config {
		f(cfg)
	}
	if build == nil {
		build = trellis.New
	}
	logs := &Logs{}
	app, err := build(context.Background(), cfg, append([]trellis.Option{trellis.WithLogOutput(logs)}, o.options...)...)
	if err != nil {
		t.Fatalf("building the app: %v", err)
	}
	// Cleanups run last-in first-out: registered before the server, this
	// one runs after it has closed, so no request outlives the app.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
		defer cancel()
		if err := app.Close(ctx); err != nil {
			t.Errorf("closing the app: %v", err)
		}
	})
	var start sync.Once
	srv := NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start.Do(func() {
			if err := app.Start(context.Background()); err != nil {
				t.Errorf("starting the app: %v", err)
			}
		})
		app.ServeHTTP(w, r)
	}))
	return &App{Server: srv, App: app, Logs: logs}
}

// CreateUser creates an account with the given roles and fails the test
// on error.
func (a *App) CreateUser(email, password string, roles ...string) {
	a.t.Helper()
	if _, err := a.App.Auth.CreateUser(context.Background(), email, "", password, roles...); err != nil {
		a.t.Fatalf("creating user %s: %v", email, err)
	}
}

// SignIn signs the client in through the login form, as a person would,
// and fails the test unless the app accepts the credentials.
func (s *Server) SignIn(email, password string) {
	s.t.Helper()
	res := s.PostForm("/login", url.Values{"email": {email}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("signing in as %s: status %d, want 303\n%s", email, res.StatusCode, res.Body)
	}
}

// SignOut signs the client out through the log-out form.
func (s *Server) SignOut() {
	s.t.Helper()
	res := s.PostForm("/logout", nil)
	if res.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("signing out: status %d, want 303\n%s", res.StatusCode, res.Body)
	}
}

// Logs is a concurrency-safe log sink.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

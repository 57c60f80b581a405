// Package admin serves the background-job admin JSON API and the htmx
// dashboard for a jobs.Engine. It is a route set the app mounts where it
// wants, behind its own admin check:
//
//	h, err := admin.New(admin.Options{Engine: app.Jobs, Render: app.Render, Sessions: app.Sessions})
//	if err != nil { ... }
//	r.Group(func(r chi.Router) {
//		r.Use(app.Auth.RequireRole(auth.RoleAdmin))
//		h.Routes(r)
//	})
//
// Every path, link, form, htmx attribute and redirect follows
// Options.Prefix, so the dashboard can live anywhere.
package admin

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/session"
)

// DefaultPrefix is where the routes live when Options.Prefix is empty.
const DefaultPrefix = "/admin/jobs"

// Options configure the admin handlers.
type Options struct {
	// Engine is the job engine to inspect and act on. Required.
	Engine *jobs.Engine
	// Render renders the dashboard pages, fragments and HTML errors.
	// Required.
	Render *render.Renderer
	// Sessions carries flash messages after actions taken from a browser.
	// Required.
	Sessions *session.Manager
	// Logger receives audit lines for every action and store failures;
	// nil discards them.
	Logger *slog.Logger
	// Prefix is the path every route lives under: a leading '/', no
	// trailing '/', no query. Empty means DefaultPrefix.
	Prefix string
	// Timeout bounds each read of the job store; 0 means 5 seconds.
	// Bulk actions (retry-all, clear) get 60 seconds.
	Timeout time.Duration
}

// Handler serves the admin JSON API and dashboard. Create it with New.
// It is safe for concurrent use.
type Handler struct {
	e        *jobs.Engine
	render   *render.Renderer
	sessions *session.Manager
	logger   *slog.Logger
	timeout  time.Duration
	links    links
}

// ErrInvalidOptions is wrapped by New's errors.
var ErrInvalidOptions = errors.New("jobs admin: invalid options")

// New validates o and returns the handlers. It fails when Engine, Render
// or Sessions is missing or Prefix is malformed.
func New(o Options) (*Handler, error) {
	switch {
	case o.Engine == nil:
		return nil, fmt.Errorf("%w: Engine is required", ErrInvalidOptions)
	case o.Render == nil:
		return nil, fmt.Errorf("%w: Render is required", ErrInvalidOptions)
	case o.Sessions == nil:
		return nil, fmt.Errorf("%w: Sessions is required (flash messages)", ErrInvalidOptions)
	case o.Timeout < 0:
		return nil, fmt.Errorf("%w: Timeout %v is negative", ErrInvalidOptions, o.Timeout)
	}
	prefix := o.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !strings.HasPrefix(prefix, "/") || strings.HasPrefix(prefix, "//") || strings.HasSuffix(prefix, "/") ||
		strings.ContainsAny(prefix, "?#{}*\\ \t\r\n") {
		return nil, fmt.Errorf("%w: Prefix %q must start with one '/', not end with '/', and hold no query, pattern or space", ErrInvalidOptions, o.Prefix)
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	return &Handler{e: o.Engine, render: o.Render, sessions: o.Sessions, logger: logger, timeout: timeout, links: links{prefix: prefix}}, nil
}

// Prefix returns the path the routes live under.
func (h *Handler) Prefix() string { return h.links.prefix }

// links builds every URL of the dashboard from the prefix.
type links struct{ prefix string }

func (l links) Home() string                          { return l.prefix }
func (l links) List() string                          { return l.prefix + "/list" }
func (l links) Stats() string                         { return l.prefix + "/stats" }
func (l links) RetryAll() string                      { return l.prefix + "/retry-all" }
func (l links) ClearDead() string                     { return l.prefix + "/dead-letter/clear" }
func (l links) Job(id int64) string                   { return l.prefix + "/" + itoa(id) }
func (l links) Action(id int64, action string) string { return l.Job(id) + "/" + action }

// owns reports whether path is the dashboard or below it.
func (l links) owns(path string) bool {
	return path == l.prefix || strings.HasPrefix(path, l.prefix+"/") || strings.HasPrefix(path, l.prefix+"?")
}

package trellis

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis/auth"
	jobsadmin "github.com/trellis-go/trellis/jobs/admin"
	"github.com/trellis-go/trellis/observe"
)

// RouteSet names one of the built-in sets of routes. Each is a piece the
// app mounts: New mounts every set at its default prefix; MountAt moves a
// set and Without leaves it out (mount it yourself, or not at all).
type RouteSet string

const (
	// AuthPages are the account pages: GET/POST /register, GET/POST
	// /login, POST /logout and /account with its forms. Default prefix ""
	// (the site root); mounted when the app has a database.
	AuthPages RouteSet = "auth"
	// RoleAPI is the role API for admins: GET/POST {prefix}/{id}/roles and
	// DELETE {prefix}/{id}/roles/{role}. Default prefix "/admin/users".
	RoleAPI RouteSet = "roles"
	// JobsAdmin is the jobs admin JSON API and dashboard, for admins only.
	// Default prefix "/admin/jobs".
	JobsAdmin RouteSet = "jobs-admin"
	// HealthChecks are GET {prefix} and {prefix}/ready (readiness: every
	// required check passes and the app is not shutting down) and
	// {prefix}/live (liveness). Default prefix "/health".
	HealthChecks RouteSet = "health"
	// MailOutbox is the development mail pages: the outbox and the
	// template previews (see package mail/outbox). Default prefix
	// "/dev/mail"; mounted in development, and elsewhere only when
	// mail.outbox_ui is on, then for admins only.
	MailOutbox RouteSet = "mail-outbox"
	// PolicyAdmin is POST {prefix}/reload, which reloads the policies
	// of WithPolicyDir for admins (the admin role, not a policy, so a
	// wrong policy cannot lock admins out of fixing it). Default prefix
	// "/admin/policies"; mounted only with WithPolicyDir.
	PolicyAdmin RouteSet = "policies"
	// Files serves uploaded files: GET {prefix}/{id} and {prefix}/{id}/thumb
	// to whoever App.Files.Authorize allows (the owner by default), and
	// {prefix}/signed/… for signed URLs of the local store. Default prefix
	// "/files"; mounted when the app has a database.
	Files RouteSet = "files"
	// Metrics is the Prometheus endpoint. Its place comes from the config
	// (metrics.path, or its own listener on metrics.addr); Without
	// turns it off like metrics.enabled = false.
	Metrics RouteSet = "metrics"
	// OAuth is sign-in with providers (see package oauth): POST
	// {prefix}/{provider} starts a sign-in, GET {prefix}/{provider}/callback
	// ends it, POST {prefix}/{provider}/link and /unlink manage the
	// account's providers. Default prefix "/auth"; mounted when the app has
	// a database and [oauth.providers] are configured.
	OAuth RouteSet = "oauth"
	// Profiling serves Go's profiles (CPU, heap, goroutines, execution
	// trace; see observe.Profiling) to admins only, for go tool pprof.
	// Default prefix "/admin/pprof"; mounted when the app has a database.
	Profiling RouteSet = "pprof"
)

// defaultMounts are the prefixes New mounts the route sets at.
var defaultMounts = map[RouteSet]string{
	AuthPages:    "",
	RoleAPI:      "/admin/users",
	JobsAdmin:    "/admin/jobs",
	HealthChecks: "/health",
	MailOutbox:   "/dev/mail",
	PolicyAdmin:  "/admin/policies",
	Files:        "/files",
	Metrics:      "",
	Profiling:    "/admin/pprof",
	OAuth:        "/auth",
}

// MountAt mounts a built-in route set under prefix instead of its
// default, for example MountAt(trellis.JobsAdmin, "/ops/jobs"). A prefix
// starts with "/" and does not end with one; AuthPages also takes "" (the
// root).
func MountAt(set RouteSet, prefix string) Option {
	return func(o *options) { o.mount(set, prefix) }
}

// Without leaves built-in route sets out, for example
// Without(trellis.AuthPages, trellis.RoleAPI) for an app that signs users
// in its own way. App.Auth, sessions and CSRF protection stay.
func Without(sets ...RouteSet) Option {
	return func(o *options) {
		for _, s := range sets {
			o.mount(s, off)
		}
	}
}

// off marks a route set that is not mounted.
const off = "\x00off"

func (o *options) mount(set RouteSet, prefix string) {
	if o.mounts == nil {
		o.mounts = map[RouteSet]string{}
	}
	o.mounts[set] = prefix
}

// checkMounts validates the prefixes given to MountAt.
func (o *options) checkMounts() error {
	for set, prefix := range o.mounts {
		if _, ok := defaultMounts[set]; !ok {
			return fmt.Errorf("trellis: unknown route set %q: use trellis.AuthPages, RoleAPI, JobsAdmin, PolicyAdmin, HealthChecks, MailOutbox, Files, OAuth, Metrics or Profiling", set)
		}
		if prefix == off {
			continue
		}
		if set == Metrics {
			return fmt.Errorf("trellis: MountAt(trellis.Metrics, %q): the metrics endpoint moves with the metrics.path or metrics.addr config keys", prefix)
		}
		if prefix == "" && set == AuthPages {
			continue
		}
		if !strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "/") || strings.ContainsAny(prefix, " {}*?#") {
			return fmt.Errorf("trellis: MountAt(%q, %q): a prefix starts with \"/\", does not end with one and has no spaces, patterns or query, such as \"/ops/jobs\"", set, prefix)
		}
	}
	return nil
}

// mountedAt returns where set is mounted and whether it is mounted.
func (o *options) mountedAt(set RouteSet) (string, bool) {
	prefix, ok := o.mounts[set]
	if !ok {
		prefix = defaultMounts[set]
	}
	return prefix, prefix != off
}

// mountBuiltins mounts the built-in route sets New was asked for. App
// routes registered later at the same method and path replace them.
func (a *App) mountBuiltins() error {
	if prefix, ok := a.opts.mountedAt(HealthChecks); ok {
		h := a.root.With(a.appMiddleware)
		h.Get(prefix, a.Health.Ready)
		h.Get(prefix+"/ready", a.Health.Ready)
		h.Get(prefix+"/live", a.Health.Live)
	}
	if _, ok := a.opts.mountedAt(Metrics); ok && a.Config.Metrics.Enabled {
		a.metrics = a.metricsHandler()
		if a.Config.Metrics.Addr == "" {
			a.root.With(a.appMiddleware).Method(http.MethodGet, a.Config.Metrics.Path, a.metrics)
		}
	}
	if a.Auth == nil {
		return nil
	}
	if _, ok := a.opts.mountedAt(AuthPages); ok {
		a.Auth.Routes(a.Router)
	}
	if prefix, ok := a.opts.mountedAt(RoleAPI); ok {
		guard, err := a.adminGuard(RoleAPI, "roles.admin")
		if err != nil {
			return err
		}
		a.Auth.RoleRoutes(a.Router, prefix, guard)
	}
	if prefix, ok := a.opts.mountedAt(PolicyAdmin); ok && a.opts.policyDir != "" {
		a.Router.With(a.Auth.RequireRole(auth.RoleAdmin)).Post(prefix+"/reload", a.reloadPolicies)
	}
	if _, ok := a.opts.mountedAt(OAuth); ok && a.OAuth != nil {
		a.OAuth.Routes(a.Router)
	}
	if prefix, ok := a.opts.mountedAt(Files); ok && a.Files != nil {
		a.Router.Route(prefix, a.Files.Routes)
	}
	if prefix, ok := a.opts.mountedAt(Profiling); ok {
		a.Router.Group(func(r chi.Router) {
			r.Use(a.Auth.RequireRole(auth.RoleAdmin))
			observe.Profiling(r, prefix)
		})
	}
	if prefix, ok := a.opts.mountedAt(JobsAdmin); ok && a.Jobs != nil {
		admin, err := jobsadmin.New(jobsadmin.Options{Engine: a.Jobs, Render: a.Render, Sessions: a.Sessions, Logger: a.Logger, Prefix: prefix})
		if err != nil {
			return fmt.Errorf("trellis: %w", err)
		}
		guard, err := a.adminGuard(JobsAdmin, "jobs.admin")
		if err != nil {
			return err
		}
		a.Router.Group(func(r chi.Router) {
			r.Use(guard)
			admin.Routes(r)
		})
	}
	return a.mountMailOutbox()
}

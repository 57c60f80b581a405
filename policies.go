package trellis

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/authz"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/render"
)

// WithPolicies authorizes with the Cedar policies in fsys: *.cedar files
// and one schema.cedarschema, usually embedded (//go:embed policies, then
// fs.Sub). New validates them and fails with file, line and fix; App.Authz
// then guards routes (App.Authz.Require) and answers authz.Can. With
// policies, the built-in JobsAdmin and RoleAPI route sets are guarded by
// the actions "jobs.admin" and "roles.admin" on Site::"site" instead of
// RequireRole("admin"), so the schema must declare them (or the app
// leaves those sets out with Without).
func WithPolicies(fsys fs.FS) Option {
	return func(o *options) { o.policies, o.policySource = fsys, "policies" }
}

// WithPolicyDir is WithPolicies for a directory on disk, which can change
// while the app runs: in the development profile New watches it and
// reloads on every change; in every profile admins can reload it with
// POST {prefix}/reload (the PolicyAdmin route set). A changed set that
// fails validation is refused and the previous one keeps serving.
func WithPolicyDir(dir string) Option {
	return func(o *options) { o.policies, o.policySource, o.policyDir = os.DirFS(dir), dir, dir }
}

// WithPrincipal adds attributes to signed-in users' principals (the
// schema declares them on User), such as a team or a plan.
func WithPrincipal(fn authz.PrincipalFunc) Option {
	return func(o *options) { o.principal = fn }
}

// site is the resource the built-in admin route sets act on.
var site = authz.Resource{Type: "Site", ID: "site"}

// setupPolicies loads the app's policies. It needs the renderer and, for
// the sign-in answer to anonymous visitors, accounts.
func (a *App) setupPolicies() error {
	o := a.opts
	if o.policies == nil {
		return nil
	}
	opts := authz.Options{FS: o.policies, Source: o.policySource, Principal: o.principal, Render: a.Render, Logger: a.Logger}
	if a.Auth != nil {
		// Denied anonymous visitors are sent to sign in, as RequireUser
		// does: the probe handler is never reached without a user.
		opts.SignIn = a.Auth.RequireUser(http.NotFoundHandler())
	}
	az, err := authz.New(opts)
	if err != nil {
		return fmt.Errorf("trellis: %w", err)
	}
	a.Authz = az
	if o.policyDir != "" && a.Config.Profile == config.Development {
		if err := a.watchPolicies(o.policyDir); err != nil {
			return err
		}
	}
	return nil
}

// adminGuard guards a built-in admin route set: by policy action on the
// site when the app has policies, else by the admin role.
func (a *App) adminGuard(set RouteSet, action string) (func(http.Handler) http.Handler, error) {
	if a.Authz == nil {
		return a.Auth.RequireRole(auth.RoleAdmin), nil
	}
	if err := a.Authz.Check(action, site.Type); err != nil {
		return nil, &config.Error{Source: a.opts.policySource, Key: "",
			Problem: fmt.Sprintf("the %s route set is guarded by policy, but %v", set, err),
			Fix: fmt.Sprintf(`declare entity Site; and action %q appliesTo { principal: [User, Anonymous], resource: Site }; with a policy permitting it, or leave the set out with trellis.Without(trellis.%s)`,
				action, routeSetNames[set])}
	}
	return a.Authz.Require(action, authz.Static(site)), nil
}

// routeSetNames are the Go names of the route sets, for messages.
var routeSetNames = map[RouteSet]string{JobsAdmin: "JobsAdmin", RoleAPI: "RoleAPI", PolicyAdmin: "PolicyAdmin"}

// reloadPolicies serves POST {prefix}/reload: it reloads the policy
// directory and answers JSON with the number of policies in force, or 422
// with the problems when the new set is refused (the old one keeps
// serving).
func (a *App) reloadPolicies(w http.ResponseWriter, r *http.Request) {
	n, err := a.Authz.Reload()
	var le *authz.LoadError
	switch {
	case errors.As(err, &le):
		problems := make([]string, len(le.Problems))
		for i, p := range le.Problems {
			problems[i] = p.Error()
		}
		render.JSON(w, http.StatusUnprocessableEntity, map[string]any{
			"error":    "the policies were not reloaded; the previous ones keep serving",
			"problems": problems, "policies": n, "status": http.StatusUnprocessableEntity,
		})
	case err != nil:
		a.Render.Error(w, r, err)
	default:
		render.JSON(w, http.StatusOK, map[string]any{"reloaded": true, "policies": n})
	}
}

// watchPolicies reloads the policy directory whenever a file in it
// changes (development only); a refused set is logged and the old one
// keeps serving.
func (a *App) watchPolicies(dir string) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("trellis: watching %s: %w", dir, err)
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			err = w.Add(p)
		}
		return err
	})
	if err != nil {
		_ = w.Close()
		return fmt.Errorf("trellis: watching %s: %w", dir, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var timer <-chan time.Time
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if strings.HasSuffix(ev.Name, ".cedar") || strings.HasSuffix(ev.Name, ".cedarschema") {
					// Editors write in bursts; reload once it settles.
					timer = time.After(100 * time.Millisecond)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				a.Logger.Warn("watching policies", slog.String("dir", dir), slog.Any("error", err))
			case <-timer:
				timer = nil
				_, _ = a.Authz.Reload() // logs the outcome
			}
		}
	}()
	a.OnShutdown(func(context.Context) error {
		err := w.Close()
		<-done
		return err
	})
	return nil
}

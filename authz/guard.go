package authz

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/render"
)

type ctxKey struct{}

type loadedKey struct{}

// Middleware makes the Authorizer available to Can and IfCan for the
// requests it serves; Trellis installs it on every route when the app has
// policies.
func (a *Authorizer) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(WithAuthorizer(r.Context(), a)))
	})
}

// WithAuthorizer returns ctx carrying a, for Can outside an HTTP request
// (tests, jobs acting for a user).
func WithAuthorizer(ctx context.Context, a *Authorizer) context.Context {
	return context.WithValue(ctx, ctxKey{}, a)
}

// From returns the Authorizer ctx carries, or nil.
func From(ctx context.Context) *Authorizer {
	a, _ := ctx.Value(ctxKey{}).(*Authorizer)
	return a
}

// Can reports whether ctx's user may perform action on res. It is false
// when ctx carries no Authorizer, when no policy permits, when one
// forbids, and on any error (logged).
func Can(ctx context.Context, action string, res Resource) bool {
	a := From(ctx)
	if a == nil {
		return false
	}
	return a.Decide(ctx, action, res).Allowed
}

// IfCan renders its children only when Can(ctx, action, res), so pages
// leave out what the user may not do:
//
//	@authz.IfCan("note.delete", note.Resource()) {
//		<button hx-delete={ … }>Delete</button>
//	}
func IfCan(action string, res Resource) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		if !Can(ctx, action, res) {
			return nil
		}
		return templ.GetChildren(ctx).Render(ctx, w)
	})
}

// Loaded returns the resource the guard authorized for this request (its
// Value is the app's object), or false outside a Require guard.
func Loaded(ctx context.Context) (Resource, bool) {
	r, ok := ctx.Value(loadedKey{}).(*Resource)
	if !ok {
		return Resource{}, false
	}
	return *r, true
}

// ResourceFunc finds the resource a request acts on, typically from a
// path value. Return ErrNotFound (or a 404 *render.Error) when it does
// not exist — the guard answers its own 404 page, identical to the one
// Hide gives for a resource that exists — another *render.Error for a bad request; any other error is
// answered by the app's error page (500, or 503 when the database is
// down).
type ResourceFunc func(r *http.Request) (Resource, error)

// Static is a ResourceFunc for routes that act on one fixed resource, such
// as an admin area.
func Static(res Resource) ResourceFunc {
	return func(*http.Request) (Resource, error) { return res, nil }
}

// RequireOption adjusts one guard.
type RequireOption func(*guard)

// Hide names an action (such as "note.read"): when a request is denied
// and the user may not perform that action on the resource either, the
// guard answers 404 as if the resource did not exist, so other users'
// resources cannot be discovered by probing ids.
func Hide(action string) RequireOption {
	return func(g *guard) { g.hide = action }
}

// NotAllowed is the message of the 403 page; it never names a policy.
const NotAllowed = "You are not allowed to do that."

// Require guards a route: it loads the resource with load, lets the
// request through when the policies allow action on it (the handler reads
// it with Loaded), and otherwise answers 403 with NotAllowed — or 404
// with Hide, or Options.SignIn for an anonymous visitor. A load that
// fails answers 404 (ErrNotFound), its own 4xx, or the error page.
//
// Require panics, like a route registered twice, when the schema does
// not declare action or Options.Render is nil, so a typo fails at
// start-up. The handlers it returns are auth.Guards with requirement
// "policy:ACTION", so the app's `routes` command lists them.
func (a *Authorizer) Require(action string, load ResourceFunc, opts ...RequireOption) func(http.Handler) http.Handler {
	if a.opts.Render == nil {
		panic("authz: Require needs Options.Render to answer denied requests")
	}
	if load == nil {
		panic("authz: Require needs a ResourceFunc")
	}
	proto := guard{a: a, action: action, load: load}
	for _, o := range opts {
		o(&proto)
	}
	if err := a.Use(action); err != nil {
		panic(err.Error())
	}
	if proto.hide != "" {
		if err := a.Use(proto.hide); err != nil {
			panic(err.Error())
		}
	}
	return func(next http.Handler) http.Handler {
		g := proto
		g.next = next
		return &g
	}
}

// guard implements auth.Guard.
type guard struct {
	a      *Authorizer
	action string
	load   ResourceFunc
	hide   string
	next   http.Handler
}

var _ auth.Guard = (*guard)(nil)

// Requirement is "policy:ACTION".
func (g *guard) Requirement() string { return "policy:" + g.action }

// Next is the guarded handler.
func (g *guard) Next() http.Handler { return g.next }

// errNotFound is the 404 a guard answers.
var errNotFound = render.NewError(http.StatusNotFound, "That does not exist, or you cannot see it.")

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	res, err := g.loadSafely(r)
	if err != nil {
		var re *render.Error
		switch {
		case errors.Is(err, ErrNotFound):
			// The same answer as a hidden resource (Hide), so the two
			// cannot be told apart.
			g.a.opts.Render.Error(w, r, errNotFound)
		case errors.Is(err, errPanicked):
			g.a.decisions.WithLabelValues(g.action, outcomeError).Inc()
			g.a.opts.Logger.ErrorContext(ctx, "authorization failed; denied", slog.String("action", g.action),
				slog.String("path", r.URL.Path), slog.Any("error", err))
			g.forbid(w, r)
		case errors.As(err, &re) && re.Status < 500:
			g.a.opts.Render.Error(w, r, err)
		default:
			g.a.opts.Render.Error(w, r, fmt.Errorf("authz: loading the resource for %s: %w", g.action, err))
		}
		return
	}
	if g.a.Decide(ctx, g.action, res).Allowed {
		next := r.WithContext(context.WithValue(ctx, loadedKey{}, &res))
		g.next.ServeHTTP(w, next)
		return
	}
	switch {
	case g.a.opts.SignIn != nil && auth.CurrentUser(ctx) == nil:
		g.a.opts.SignIn.ServeHTTP(w, r)
	case g.hide == g.action,
		g.hide != "" && !g.a.Decide(ctx, g.hide, res).Allowed:
		g.a.opts.Render.Error(w, r, errNotFound)
	default:
		g.forbid(w, r)
	}
}

// forbid answers 403 without saying which rule denied.
func (g *guard) forbid(w http.ResponseWriter, r *http.Request) {
	g.a.opts.Render.Error(w, r, render.NewError(http.StatusForbidden, NotAllowed))
}

// errPanicked wraps a panic in a ResourceFunc.
var errPanicked = errors.New("authz: the ResourceFunc panicked")

// loadSafely runs the ResourceFunc, turning a panic into an error so the
// request is denied rather than crashing through.
func (g *guard) loadSafely(r *http.Request) (res Resource, err error) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			err = fmt.Errorf("%w: %v\n%s", errPanicked, p, debug.Stack())
		}
	}()
	res, err = g.load(r)
	if err == nil {
		return res, nil
	}
	var re *render.Error
	if errors.As(err, &re) && re.Status == http.StatusNotFound {
		return res, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return res, err
}

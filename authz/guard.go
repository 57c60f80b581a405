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
// not exist, another *render.Error for a bad request; any other error is
// answered by the app's error page (500, or 503 when the database is
// down).
type ResourceFunc func(r *http.Request) (Resource, error)

// Static is a ResourceFunc for routes that act on one fixed resource, such
// as an admin area.
func Static(res Resource) ResourceFunc {
	return func(*http.Request) (Resource, error) { return res, nil }
}

// GuardOptions tells a guard how to answer.
type GuardOptions struct {
	// Render answers errors, 403 and 404 (required).
	Render *render.Renderer
	// SignIn answers an anonymous visitor who is denied — usually a
	// redirect to the login page, since signing in may help. Nil answers
	// 403 like everyone else.
	SignIn http.Handler
	// Hide names an action (such as "note.read"): when a request is
	// denied and the user may not perform Hide on the resource either,
	// the guard answers 404 as if it did not exist, so other users'
	// resources cannot be discovered.
	Hide string
}

// NotAllowed is the message of the 403 page; it never names a policy.
const NotAllowed = "You are not allowed to do that."

// Require guards a route: it loads the resource with load, lets the
// request through when the policies allow action on it (the handler reads
// it with Loaded), and otherwise answers 403 with NotAllowed (404 with
// Hide, a sign-in for anonymous visitors with SignIn). It panics when the
// schema does not declare action, so a typo fails at start-up. The
// handlers it returns are auth.Guards with requirement "policy:ACTION",
// so `routes` lists them.
func (a *Authorizer) Require(action string, load ResourceFunc, o GuardOptions) func(http.Handler) http.Handler {
	if err := a.Use(action); err != nil {
		panic(err.Error())
	}
	if o.Hide != "" {
		if err := a.Use(o.Hide); err != nil {
			panic(err.Error())
		}
	}
	if o.Render == nil {
		panic("authz: Require needs GuardOptions.Render")
	}
	if load == nil {
		panic("authz: Require needs a ResourceFunc")
	}
	return func(next http.Handler) http.Handler {
		return &guard{a: a, action: action, load: load, o: o, next: next}
	}
}

// guard implements auth.Guard.
type guard struct {
	a      *Authorizer
	action string
	load   ResourceFunc
	o      GuardOptions
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
			if errors.As(err, &re) {
				g.o.Render.Error(w, r, re)
			} else {
				g.o.Render.Error(w, r, errNotFound)
			}
		case errors.Is(err, errPanicked):
			g.a.decisions.WithLabelValues(g.action, outcomeError).Inc()
			g.a.opts.Logger.ErrorContext(ctx, "authorization failed; denied", slog.String("action", g.action),
				slog.String("path", r.URL.Path), slog.Any("error", err))
			g.forbid(w, r)
		case errors.As(err, &re) && re.Status < 500:
			g.o.Render.Error(w, r, err)
		default:
			g.o.Render.Error(w, r, fmt.Errorf("authz: loading the resource for %s: %w", g.action, err))
		}
		return
	}
	if g.a.Decide(ctx, g.action, res).Allowed {
		next := r.WithContext(context.WithValue(ctx, loadedKey{}, &res))
		g.next.ServeHTTP(w, next)
		return
	}
	switch {
	case g.o.SignIn != nil && auth.CurrentUser(ctx) == nil:
		g.o.SignIn.ServeHTTP(w, r)
	case g.o.Hide != "" && g.o.Hide != g.action && !g.a.Decide(ctx, g.o.Hide, res).Allowed,
		g.o.Hide == g.action:
		g.o.Render.Error(w, r, errNotFound)
	default:
		g.forbid(w, r)
	}
}

// forbid answers 403 without saying which rule denied.
func (g *guard) forbid(w http.ResponseWriter, r *http.Request) {
	g.o.Render.Error(w, r, render.NewError(http.StatusForbidden, NotAllowed))
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

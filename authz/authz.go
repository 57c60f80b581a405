// Package authz authorizes requests with Cedar policies (cedar-go): the
// app writes its rules as policies/*.cedar files with a
// schema.cedarschema, embeds them, and guards routes with Require or asks
// Can in handlers and templates.
//
// The principal is the signed-in user, User::"<id>" with the attributes
// roles (Set<String>), verified (Bool) and whatever the app's
// PrincipalFunc adds; a visitor who is not signed in is
// Anonymous::"anonymous". Resources are built by the app as a Resource
// (type, id, attributes); actions are plain names the schema declares
// (action "note.edit" is Action::"note.edit").
//
// Authorization fails closed: no permit means deny, a forbid wins, and
// any error — a policy that errors while evaluating, an entity that does
// not match the schema, an undeclared action, a panicking ResourceFunc —
// denies and is logged. Policies are validated against the schema when
// loaded; a set with a problem is refused (New fails; Reload keeps the
// old set serving).
package authz

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/render"
)

// Options configures an Authorizer.
type Options struct {
	// FS holds the policies: *.cedar files and one *.cedarschema file
	// (subdirectories included). Reload reads it again, so an os.DirFS
	// picks up edits; an embed.FS never changes.
	FS fs.FS
	// Source names FS in messages, such as "policies" or a directory
	// path. Default "policies".
	Source string
	// Principal adds app attributes to signed-in users' principals.
	Principal PrincipalFunc
	// Render answers the requests guards deny (403, 404) or cannot load;
	// Require needs it.
	Render *render.Renderer
	// SignIn answers an anonymous visitor a guard denies — usually a
	// redirect to the login page, since signing in may help. Nil answers
	// 403 like everyone else.
	SignIn http.Handler
	// Logger receives decision lines (debug) and denials caused by errors
	// (error). Default: discard.
	Logger *slog.Logger
}

// Authorizer decides requests against the current policy set. It is safe
// for concurrent use; Reload swaps the set atomically.
type Authorizer struct {
	opts      Options
	set       atomic.Pointer[policySet]
	decisions *prometheus.CounterVec
	reloadMu  sync.Mutex

	actionsMu sync.Mutex
	actions   []string // actions guards use; every set must declare them
}

// Decision is the outcome of one authorization.
type Decision struct {
	// Allowed is true only when a permit matched, no forbid matched and
	// nothing went wrong.
	Allowed bool
	// Policies are the ids of the policies that determined the outcome
	// (the matching permits, or the matching forbids); empty for a
	// default deny.
	Policies []string
	// Err is why the request was denied without a clean evaluation; nil
	// otherwise.
	Err error
}

// Metric outcomes (the decision label of trellis_authz_decisions_total).
const (
	outcomeAllow = "allow"
	outcomeDeny  = "deny"
	outcomeError = "error"
)

// New loads and validates the policies in opts.FS; a problem returns a
// *LoadError naming file, line and fix.
func New(opts Options) (*Authorizer, error) {
	if opts.FS == nil {
		return nil, errors.New("authz: Options.FS is nil")
	}
	if opts.Source == "" {
		opts.Source = "policies"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	set, err := load(opts.FS, opts.Source, nil)
	if err != nil {
		return nil, err
	}
	a := &Authorizer{opts: opts, decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "trellis_authz_decisions_total",
		Help: "Authorization decisions by action and decision (allow, deny, or error: denied because something went wrong).",
	}, []string{"action", "decision"})}
	a.set.Store(set)
	return a, nil
}

// Reload reads the policies again and swaps them in when they validate.
// On a problem it returns the *LoadError and the old set keeps serving.
// It returns the number of policies now in force.
func (a *Authorizer) Reload() (int, error) {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	set, err := load(a.opts.FS, a.opts.Source, a.Actions())
	if err != nil {
		a.opts.Logger.Error("policy reload refused; the previous policies keep serving", slog.Any("error", err))
		return a.Len(), err
	}
	a.set.Store(set)
	n := a.Len()
	a.opts.Logger.Info("policies reloaded", slog.Int("policies", n), slog.Int("files", set.files))
	return n, nil
}

// Len is the number of policies in force.
func (a *Authorizer) Len() int { return len(a.set.Load().policies.Map()) }

// Declares reports whether the schema in force declares action.
func (a *Authorizer) Declares(action string) bool { return a.set.Load().has(action) }

// Use records that the app relies on actions (Require does it for its
// own): it fails when the schema in force does not declare one, and
// Reload refuses a set whose schema drops one.
func (a *Authorizer) Use(actions ...string) error {
	var missing []string
	for _, act := range actions {
		if !a.Declares(act) {
			missing = append(missing, act)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: the schema (%s) declares no action %q; declare it: action %q appliesTo { principal: [User, Anonymous], resource: … };",
			ErrInvalid, a.opts.Source, missing[0], missing[0])
	}
	a.actionsMu.Lock()
	defer a.actionsMu.Unlock()
	for _, act := range actions {
		if !slices.Contains(a.actions, act) {
			a.actions = append(a.actions, act)
		}
	}
	return nil
}

// Check reports whether the schema in force lets action apply to
// resources of type resourceType, for wiring that must fail at start-up
// rather than deny every request.
func (a *Authorizer) Check(action, resourceType string) error {
	act, ok := a.set.Load().schema.Actions[types.NewEntityUID("Action", types.String(action))]
	if !ok {
		return fmt.Errorf("%w: the schema (%s) declares no action %q", ErrInvalid, a.opts.Source, action)
	}
	if act.AppliesTo == nil || !slices.Contains(act.AppliesTo.Resources, types.EntityType(resourceType)) {
		return fmt.Errorf("%w: in the schema (%s), action %q does not apply to resources of type %s", ErrInvalid, a.opts.Source, action, resourceType)
	}
	return nil
}

// Actions lists the actions recorded with Use and Require.
func (a *Authorizer) Actions() []string {
	a.actionsMu.Lock()
	defer a.actionsMu.Unlock()
	return slices.Clone(a.actions)
}

// Describe implements prometheus.Collector: register the Authorizer with
// a registry to export trellis_authz_decisions_total.
func (a *Authorizer) Describe(ch chan<- *prometheus.Desc) { a.decisions.Describe(ch) }

// Collect implements prometheus.Collector.
func (a *Authorizer) Collect(ch chan<- prometheus.Metric) { a.decisions.Collect(ch) }

// Decide authorizes ctx's signed-in user (auth.CurrentUser; anonymous
// when there is none) to perform action on res. It never allows on error:
// the returned Decision has Allowed false and Err set.
func (a *Authorizer) Decide(ctx context.Context, action string, res Resource) Decision {
	return a.DecideFor(ctx, auth.CurrentUser(ctx), action, res)
}

// DecideFor is Decide for user u (nil for an anonymous visitor) instead of
// ctx's user: for jobs acting on a user's behalf, and tests.
func (a *Authorizer) DecideFor(ctx context.Context, u *auth.User, action string, res Resource) Decision {
	set := a.set.Load()
	d := a.evaluate(ctx, set, u, action, res)
	label := action
	if !set.has(action) {
		label = "(undeclared)" // keeps the metric's label set bounded
	}
	outcome := outcomeDeny
	switch {
	case d.Err != nil:
		outcome = outcomeError
		a.opts.Logger.ErrorContext(ctx, "authorization failed; denied", slog.String("action", action),
			slog.String("resource", res.Type+"::"+res.ID), slog.Any("error", d.Err))
	case d.Allowed:
		outcome = outcomeAllow
	}
	a.decisions.WithLabelValues(label, outcome).Inc()
	if a.opts.Logger.Enabled(ctx, slog.LevelDebug) {
		a.opts.Logger.DebugContext(ctx, "authorization", slog.String("principal", principalName(u)),
			slog.String("action", action), slog.String("resource", res.Type+"::"+res.ID),
			slog.String("decision", outcome), slog.Any("policies", d.Policies))
	}
	return d
}

// evaluate builds the request and entities and runs the policies.
func (a *Authorizer) evaluate(ctx context.Context, set *policySet, u *auth.User, action string, res Resource) Decision {
	deny := func(err error) Decision { return Decision{Err: err} }
	p, err := a.principal(ctx, u)
	if err != nil {
		return deny(err)
	}
	r, err := res.entity()
	if err != nil {
		return deny(err)
	}
	req := cedar.Request{
		Principal: p.UID,
		Action:    types.NewEntityUID("Action", types.String(action)),
		Resource:  r.UID,
		Context:   types.Record{},
	}
	if err := set.validator.Request(req); err != nil {
		return deny(fmt.Errorf("authz: the request does not match the schema: %w", err))
	}
	if err := set.validator.Entity(p); err != nil {
		return deny(fmt.Errorf("%w: principal %s does not match the schema: %w", errBadEntity, p.UID, err))
	}
	if err := set.validator.Entity(r); err != nil {
		return deny(fmt.Errorf("%w: resource %s does not match the schema: %w", errBadEntity, r.UID, err))
	}
	entities := types.EntityMap{p.UID: p, r.UID: r}
	decision, diag := cedar.Authorize(set.policies, entities, req)
	if len(diag.Errors) > 0 {
		// Cedar skips a policy that errors and lets the others decide;
		// Trellis denies instead, so a broken rule never lets anyone in.
		errs := make([]error, len(diag.Errors))
		for i, e := range diag.Errors {
			errs[i] = fmt.Errorf("policy %s: %s", e.PolicyID, e.Message)
		}
		return deny(fmt.Errorf("authz: evaluating %s: %w", action, errors.Join(errs...)))
	}
	d := Decision{Allowed: decision == cedar.Allow}
	for _, reason := range diag.Reasons {
		d.Policies = append(d.Policies, string(reason.PolicyID))
	}
	return d
}

// Package auth provides accounts for Trellis apps: registration, login and
// logout pages, argon2id passwords, the current user in every request,
// RequireUser, RequireRole and RequireVerified guards, API tokens for
// bearer authentication, "log out of all other sessions", a JSON API for
// managing roles, and account recovery by mail: password reset, address
// verification and change of address through single-use links (see
// recovery.go and verify.go).
//
// Sessions are renewed on login, logout and privilege changes (no
// fixation). A login failure always says "invalid email or password" and
// costs the same time whether or not the account exists. The next parameter
// only ever redirects to a path on this site.
package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trellis-go/trellis/csrf"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/form"
	"github.com/trellis-go/trellis/htmx"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/mail"
	"github.com/trellis-go/trellis/middleware"
	"github.com/trellis-go/trellis/ratelimit"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/session"
	"github.com/trellis-go/trellis/ui"
)

// Session keys auth uses.
const (
	keyUserID  = "auth.user_id"
	keyVersion = "auth.session_version"
)

// Options configures Auth.
type Options struct {
	DB       *db.DB
	Sessions *session.Manager
	Render   *render.Renderer
	// Forms re-renders invalid forms (422).
	Forms  *form.Forms
	Hasher *Hasher
	Logger *slog.Logger
	// Limiter enforces the rates below; nil disables rate limiting.
	Limiter ratelimit.Limiter
	// LoginRate applies per client IP and, separately, per account.
	LoginRate ratelimit.Rate
	// RegisterRate applies per client IP.
	RegisterRate ratelimit.Rate
	// PasswordRate applies per account to password changes, and per
	// client IP to new passwords set with a reset link.
	PasswordRate ratelimit.Rate
	// ResetRate applies to password-reset requests per client IP and,
	// separately, per address asked about.
	ResetRate ratelimit.Rate
	// VerifyRate applies per account to the mails the account page sends:
	// new verification links and changes of address.
	VerifyRate ratelimit.Rate
	// ResetTokenTTL is how long reset links work (default 1h).
	ResetTokenTTL time.Duration
	// VerifyTokenTTL is how long address-confirmation links work
	// (default 48h).
	VerifyTokenTTL time.Duration
	// Jobs runs password-reset requests in the background (see
	// resetRequest); nil does their work in the request.
	Jobs *jobs.Engine
	// SiteName names the app in mails.
	SiteName string
	// Registration enables /register.
	Registration bool
	// Prefix is where the account pages are mounted ("" for /login,
	// /register, /logout and /account at the root; "/auth" for
	// /auth/login and so on). RequireUser sends visitors to its login page.
	Prefix string
	// Mail sends account mail: reset links, address confirmations and
	// notices (nil: the app sends none). Its templates are registered as
	// previews.
	Mail *mail.Mailer
}

// Auth holds the account machinery. Build it with New, mount its pages
// with Routes and install LoadUser on every route.
type Auth struct {
	opts   Options
	Users  *Users
	Tokens *Tokens
	// MailTokens holds the single-use tokens of reset, verification and
	// change-of-address links.
	MailTokens *MailTokens

	// Set while the app is built (see extend.go), read while it serves.
	providers       []ui.ProviderButton
	loginHooks      []LoginHook
	accountSections []AccountSection
}

// Paths returns the URLs of the account pages under Options.Prefix.
func (a *Auth) Paths() ui.AuthPaths { return ui.AuthPaths(a.opts.Prefix) }

// New returns an Auth.
func New(opts Options) *Auth {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ResetTokenTTL <= 0 {
		opts.ResetTokenTTL = time.Hour
	}
	if opts.VerifyTokenTTL <= 0 {
		opts.VerifyTokenTTL = 48 * time.Hour
	}
	if opts.SiteName == "" {
		opts.SiteName = "Trellis"
	}
	a := &Auth{opts: opts, Users: NewUsers(opts.DB), Tokens: NewTokens(opts.DB), MailTokens: NewMailTokens(opts.DB)}
	if opts.Jobs != nil {
		a.registerJobs(opts.Jobs)
	}
	a.registerPreviews()
	return a
}

type userKey struct{}

type current struct {
	user   *User
	bearer bool
}

// CurrentUser returns the signed-in user, or nil for anonymous requests.
func CurrentUser(ctx context.Context) *User {
	if c, ok := ctx.Value(userKey{}).(*current); ok {
		return c.user
	}
	return nil
}

// ViaBearer reports whether the request authenticated with an API token.
func ViaBearer(ctx context.Context) bool {
	c, ok := ctx.Value(userKey{}).(*current)
	return ok && c.bearer
}

// Authenticated reports whether the request has a signed-in user.
func Authenticated(ctx context.Context) bool { return CurrentUser(ctx) != nil }

// LoadUser loads the current user once per request: from an
// "Authorization: Bearer" API token when one is sent (an invalid token is a
// 401, never a fallback to the session), else from the session. A session
// whose account is gone, or whose sessions were revoked, is destroyed.
func (a *Auth) LoadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if token, ok := middleware.BearerToken(r); ok {
			u, err := a.Tokens.Authenticate(ctx, token)
			if err != nil {
				if !errors.Is(err, ErrNotFound) {
					a.opts.Render.Error(w, r, err)
					return
				}
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				render.JSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid or expired API token", "status": http.StatusUnauthorized})
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, userKey{}, &current{user: u, bearer: true})))
			return
		}
		id := a.opts.Sessions.GetInt64(ctx, keyUserID)
		if id == 0 {
			next.ServeHTTP(w, r)
			return
		}
		u, err := a.Users.ByID(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound) || (err == nil && u.SessionVersion != a.opts.Sessions.GetInt64(ctx, keyVersion)):
			if err := a.opts.Sessions.Destroy(ctx); err != nil {
				a.opts.Render.Error(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		case err != nil:
			a.opts.Render.Error(w, r, err)
		default:
			next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, userKey{}, &current{user: u})))
		}
	})
}

// RequireSession refuses API-token requests with a 403: account
// management (tokens, passwords, sessions, linked providers) needs a
// signed-in browser session, so a leaked token cannot mint more tokens or
// lock its owner out.
func (a *Auth) RequireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ViaBearer(r.Context()) {
			render.JSON(w, http.StatusForbidden, map[string]any{"error": "API tokens cannot manage the account; sign in with a browser", "status": http.StatusForbidden})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequireUser lets signed-in users through. Others get: htmx requests 401
// with HX-Redirect to the login page; JSON clients 401 JSON; browsers 303 to
// /login?next=<this page>. The handler it returns is a Guard.
func (a *Auth) RequireUser(next http.Handler) http.Handler {
	return &guard{a: a, next: next}
}

// Guard is the handler RequireUser and RequireRole return. Tools that
// list an app's routes (the app's own `routes` command) learn what a route
// requires by applying its middleware to a handler and asking the result.
type Guard interface {
	http.Handler
	// Requirement is "user" for RequireUser and "role:NAME" for
	// RequireRole(NAME).
	Requirement() string
	// Next is the handler the guard lets requests through to.
	Next() http.Handler
}

// guard implements RequireUser (role "") and RequireRole.
type guard struct {
	a    *Auth
	role string
	next http.Handler
}

func (g *guard) Requirement() string {
	if g.role == "" {
		return "user"
	}
	return "role:" + g.role
}

func (g *guard) Next() http.Handler { return g.next }

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u := CurrentUser(r.Context())
	switch {
	case u == nil:
		g.a.deny(w, r)
	case g.role != "" && !u.HasRole(g.role):
		g.a.opts.Logger.WarnContext(r.Context(), "forbidden", slog.Int64("user_id", u.ID), slog.String("role", g.role),
			slog.String("path", r.URL.Path), slog.String("request_id", middleware.RequestIDFrom(r.Context())))
		g.a.opts.Render.Error(w, r, render.NewError(http.StatusForbidden, "This needs the "+g.role+" role."))
	default:
		g.next.ServeHTTP(w, r)
	}
}

func (a *Auth) deny(w http.ResponseWriter, r *http.Request) {
	login := a.Paths().Login() + "?next=" + url.QueryEscape(returnPath(r))
	switch {
	case htmx.IsRequest(r):
		htmx.Redirect(w, login)
		w.WriteHeader(http.StatusUnauthorized)
	case render.WantsJSON(r) || strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
		render.JSON(w, http.StatusUnauthorized, map[string]any{"error": "sign in required", "status": http.StatusUnauthorized})
	default:
		http.Redirect(w, r, login, http.StatusSeeOther)
	}
}

// RequireRole lets through signed-in users with role; other signed-in users
// get 403 (page, fragment or JSON) and anonymous visitors are treated as by
// RequireUser. The handlers it returns are Guards.
func (a *Auth) RequireRole(role string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return &guard{a: a, role: role, next: next}
	}
}

// returnPath is where to come back after logging in: the page the user is
// on (for htmx requests, the browser's URL, not the fragment's).
func returnPath(r *http.Request) string {
	if htmx.IsRequest(r) {
		if cur := htmx.ParseRequest(r).CurrentURL; cur != "" {
			if u, err := url.Parse(cur); err == nil {
				return SafeNext(u.RequestURI())
			}
		}
		return "/"
	}
	if r.Method != http.MethodGet {
		return "/"
	}
	return SafeNext(r.URL.RequestURI())
}

// SafeNext returns next when it is a path on this site, else "/". It
// rejects absolute and protocol-relative URLs, backslashes (which browsers
// treat as slashes) and control characters.
func SafeNext(next string) string {
	if next == "" || next[0] != '/' || len(next) > 2048 || strings.ContainsAny(next, "\\") {
		return "/"
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if next[i] < 0x20 || next[i] == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

// Login starts a signed-in session for u: the session token and CSRF secret
// are renewed (so a fixated token is useless) and the account's session
// version recorded.
func (a *Auth) Login(ctx context.Context, u *User) error {
	if err := a.opts.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	a.opts.Sessions.Put(ctx, keyUserID, u.ID)
	a.opts.Sessions.Put(ctx, keyVersion, u.SessionVersion)
	csrf.Renew(ctx)
	return nil
}

// Logout destroys the session on the server and renews the CSRF secret.
func (a *Auth) Logout(ctx context.Context) error {
	if err := a.opts.Sessions.Destroy(ctx); err != nil {
		return err
	}
	csrf.Renew(ctx)
	return nil
}

// RevokeOtherSessions signs out every other session of u and renews this
// one's token.
func (a *Auth) RevokeOtherSessions(ctx context.Context, u *User) error {
	v, err := a.Users.BumpSessionVersion(ctx, u.ID)
	if err != nil {
		return err
	}
	u.SessionVersion = v
	return a.Login(ctx, u)
}

// CreateUser validates and hashes password, creates the account and grants
// roles, for seeding and command-line tools. It sends no mail and leaves
// the address unconfirmed: tools that vouch for it call
// Users.MarkVerified (the users create command's --verified); otherwise
// the user asks for a link on the account page.
func (a *Auth) CreateUser(ctx context.Context, email, name, password string, roles ...string) (*User, error) {
	email = NormalizeEmail(email)
	if msg := ValidateEmail(email); msg != "" {
		return nil, errors.New("auth: " + msg)
	}
	if msg := ValidatePassword(password); msg != "" {
		return nil, errors.New("auth: " + msg)
	}
	hash, err := a.opts.Hasher.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	u, err := a.Users.Create(ctx, email, name, hash)
	if err != nil {
		return nil, err
	}
	for _, role := range roles {
		if u.Roles, err = a.Users.AddRole(ctx, u.ID, role); err != nil {
			return nil, err
		}
	}
	return u, nil
}

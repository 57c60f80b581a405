package auth

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis/form"
	"github.com/trellis-go/trellis/middleware"
	"github.com/trellis-go/trellis/ratelimit"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/session"
	"github.com/trellis-go/trellis/ui"
)

// invalidLogin is the one message for every failed login, so it reveals
// nothing about which accounts exist.
const invalidLogin = "Invalid email or password."

// Routes mounts the account pages on r under Options.Prefix (shown here
// with the default, none):
//
//	GET/POST /register, GET/POST /login, POST /logout,
//	GET/POST /password/forgot, GET /password/reset/{token},
//	GET/POST /password/reset, GET /email/verify/{token},
//	GET /email/change/{token},
//	GET /account, POST /account/password, POST /account/verify,
//	POST /account/email, POST /account/sessions/revoke,
//	POST /account/tokens, POST /account/tokens/{id}/revoke
func (a *Auth) Routes(r chi.Router) {
	p := a.Paths()
	if a.opts.Registration {
		r.Get(p.Register(), a.registerPage)
		r.With(a.limit("register", a.opts.RegisterRate, ipKey)).Post(p.Register(), a.register)
	}
	r.Get(p.Login(), a.loginPage)
	r.With(a.limit("login-ip", a.opts.LoginRate, ipKey)).Post(p.Login(), a.login)
	r.Post(p.Logout(), a.logout)
	r.Get(p.Forgot(), a.forgotPage)
	r.With(a.limit("reset-ip", a.opts.ResetRate, ipKey)).Post(p.Forgot(), a.forgot)
	r.Get(p.Reset()+"/{token}", a.resetLink)
	r.Get(p.Reset(), a.resetPage)
	r.With(a.limit("reset-set", a.opts.PasswordRate, ipKey)).Post(p.Reset(), a.reset)
	r.Get(p.Verify()+"/{token}", a.verifyLink)
	r.Get(p.ChangeEmail()+"/{token}", a.changeLink)
	r.Group(func(r chi.Router) {
		r.Use(a.RequireUser, a.RequireSession)
		r.Get(p.Account(), a.account)
		r.With(a.limit("password", a.opts.PasswordRate, userKeyFunc)).Post(p.Account()+"/password", a.changePassword)
		r.With(a.limit("verify", a.opts.VerifyRate, userKeyFunc)).Post(p.Account()+"/verify", a.resendVerification)
		r.With(a.limit("email", a.opts.VerifyRate, userKeyFunc)).Post(p.Account()+"/email", a.changeEmail)
		r.Post(p.Account()+"/sessions/revoke", a.revokeSessions)
		r.Post(p.Account()+"/tokens", a.createToken)
		r.Post(p.Account()+"/tokens/{id}/revoke", a.revokeToken)
	})
}

// RoleRoutes mounts the role API for admins on r under prefix (the
// default app mounts it at "/admin/users"):
//
//	GET/POST {prefix}/{id}/roles, DELETE {prefix}/{id}/roles/{role}
//
// The routes are guarded by RequireRole(RoleAdmin), or by guard when the
// caller passes one (Trellis passes a policy guard when the app has
// policies).
func (a *Auth) RoleRoutes(r chi.Router, prefix string, guard ...func(http.Handler) http.Handler) {
	if len(guard) == 0 {
		guard = append(guard, a.RequireRole(RoleAdmin))
	}
	r.Route(prefix+"/{id}/roles", func(r chi.Router) {
		r.Use(guard...)
		r.Get("/", a.listRoles)
		r.Post("/", a.addRole)
		r.Delete("/{role}", a.removeRole)
	})
}

// ipKey limits by client address, IPv6 clients by their /64 (one host
// usually owns the whole prefix, so single addresses are free to rotate).
func ipKey(r *http.Request) string {
	ip := middleware.ClientIPFrom(r)
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

func userKeyFunc(r *http.Request) string {
	if u := CurrentUser(r.Context()); u != nil {
		return strconv.FormatInt(u.ID, 10)
	}
	return ""
}

// limit applies rate to a route, keyed by key; without a limiter it is a
// no-op. A limiter failure lets the request through (and is logged): the
// password hash cost still bounds guessing.
func (a *Auth) limit(name string, rate ratelimit.Rate, key ratelimit.KeyFunc) func(http.Handler) http.Handler {
	if a.opts.Limiter == nil || rate.Limit == 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	return ratelimit.Middleware(a.opts.Limiter, a.tooMany, a.limiterFailed, ratelimit.Rule{Name: name, Rate: rate, Key: key})
}

func (a *Auth) tooMany(w http.ResponseWriter, r *http.Request, res ratelimit.Result) {
	a.opts.Logger.WarnContext(r.Context(), "rate limited", slog.String("path", r.URL.Path),
		slog.String("client_ip", middleware.ClientIPFrom(r).String()), slog.Duration("retry_after", res.RetryAfter))
	secs := int(res.RetryAfter.Seconds() + 0.999)
	a.opts.Render.Error(w, r, render.NewError(http.StatusTooManyRequests,
		"Too many attempts. Wait "+strconv.Itoa(max(secs, 1))+" seconds and try again."))
}

// limiterFailed logs a limiter outage and lets the request through: an
// outage of Redis must not lock every user out.
func (a *Auth) limiterFailed(_ http.ResponseWriter, r *http.Request, err error) {
	a.opts.Logger.ErrorContext(r.Context(), "rate limiter unavailable; not limiting", slog.Any("error", err))
}

func (a *Auth) loginPage(w http.ResponseWriter, r *http.Request) {
	next := SafeNext(r.URL.Query().Get("next"))
	if CurrentUser(r.Context()) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	f := form.NewForm(url.Values{"next": {next}})
	a.opts.Render.Page(w, r, "Log in", ui.LoginPage(a.Paths(), f, a.opts.Registration, a.providers))
}

func (a *Auth) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	email, password := strings.TrimSpace(r.PostFormValue("email")), r.PostFormValue("password")
	f := form.NewForm(url.Values{"email": {email}, "next": {SafeNext(r.PostFormValue("next"))}})
	loginView := func(f *form.Form) render.View {
		return render.View{Title: "Log in", Content: ui.LoginPage(a.Paths(), f, a.opts.Registration, a.providers), Partial: ui.LoginForm(a.Paths(), f)}
	}
	if msg := ValidateEmail(NormalizeEmail(email)); msg != "" {
		f.AddError("email", msg)
	}
	if password == "" {
		f.AddError("password", "Password is required.")
	} else if utf8.RuneCountInString(password) > MaxPasswordLength {
		f.AddError("password", invalidLogin)
	}
	if !f.Valid() {
		a.opts.Forms.Invalid(w, r, f, loginView)
		return
	}
	u, err := a.Users.ByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		a.opts.Render.Error(w, r, err)
		return
	}
	if !a.allowLogin(w, r, u, NormalizeEmail(email)) {
		return
	}
	hash := ""
	if u != nil {
		hash = u.PasswordHash
	}
	ok, rehash, err := a.opts.Hasher.Verify(ctx, password, hash)
	if err != nil {
		a.hashFailed(w, r, err)
		return
	}
	if !ok {
		a.opts.Logger.InfoContext(ctx, "login failed", slog.String("client_ip", middleware.ClientIPFrom(r).String()))
		f.AddFormError(invalidLogin)
		a.opts.Forms.Invalid(w, r, f, loginView)
		return
	}
	if rehash {
		if h, err := a.opts.Hasher.Hash(ctx, password); err == nil {
			if err := a.Users.SetPasswordHash(ctx, u.ID, h); err != nil {
				a.opts.Logger.WarnContext(ctx, "rehashing password", slog.Any("error", err))
			}
		}
	}
	if err := a.SignIn(w, r, u, "password"); err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	a.opts.Sessions.Flash(ctx, session.Success, "Welcome back, "+u.DisplayName()+".")
	for _, hook := range a.loginHooks {
		if notice := hook(ctx, u); notice != "" {
			a.opts.Sessions.Flash(ctx, session.Success, notice)
		}
	}
	render.Redirect(w, r, f.Value("next"))
}

// allowLogin applies the login limit beyond the per-IP one on the route, at
// auth's login rate: per account — or, for a browser that has signed in to
// this account before, per device instead, so failures from elsewhere never
// lock the owner out (see devices.go). It answers 429 and returns false
// when the limit is reached.
func (a *Auth) allowLogin(w http.ResponseWriter, r *http.Request, u *User, email string) bool {
	if a.opts.Limiter == nil || a.opts.LoginRate.Limit == 0 {
		return true
	}
	ctx := r.Context()
	key := "login-account:" + email
	if token := a.deviceToken(r); u != nil && token != "" {
		known, err := a.knownDevice(ctx, token, u.ID)
		if err != nil {
			a.opts.Logger.WarnContext(ctx, "login: device check failed", slog.Any("error", err))
		} else if known {
			key = "login-device:" + hashToken(token)
		}
	}
	return a.allow(w, r, key, a.opts.LoginRate)
}

func (a *Auth) registerPage(w http.ResponseWriter, r *http.Request) {
	if CurrentUser(r.Context()) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	a.opts.Render.Page(w, r, "Create an account", ui.RegisterPage(a.Paths(), form.NewForm(nil), a.providers))
}

func (a *Auth) register(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	email := NormalizeEmail(r.PostFormValue("email"))
	name := strings.TrimSpace(r.PostFormValue("name"))
	password, confirm := r.PostFormValue("password"), r.PostFormValue("password_confirm")
	f := form.NewForm(url.Values{"email": {email}, "name": {name}})
	registerView := func(f *form.Form) render.View {
		return render.View{Title: "Create an account", Content: ui.RegisterPage(a.Paths(), f, a.providers), Partial: ui.RegisterForm(a.Paths(), f)}
	}
	if msg := ValidateEmail(email); msg != "" {
		f.AddError("email", msg)
	}
	if utf8.RuneCountInString(name) > 100 {
		f.AddError("name", "Name must be at most 100 characters.")
	}
	if msg := ValidatePassword(password); msg != "" {
		f.AddError("password", msg)
	} else if confirm != password {
		f.AddError("password_confirm", "The passwords do not match.")
	}
	if !f.Valid() {
		a.opts.Forms.Invalid(w, r, f, registerView)
		return
	}
	// Hash before checking for a duplicate, so both outcomes take as long.
	hash, err := a.opts.Hasher.Hash(ctx, password)
	if err != nil {
		a.hashFailed(w, r, err)
		return
	}
	u, err := a.Users.Create(ctx, email, name, hash)
	if errors.Is(err, ErrEmailTaken) {
		f.AddError("email", "This email cannot be used to register. If it is yours, log in instead.")
		a.opts.Forms.Invalid(w, r, f, registerView)
		return
	}
	if err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	if err := a.Login(ctx, u); err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	a.opts.Logger.InfoContext(ctx, "registered", slog.Int64("user_id", u.ID), slog.String("client_ip", middleware.ClientIPFrom(r).String()))
	welcome := "Welcome, " + u.DisplayName() + ". Your account is ready: we sent a link to " + u.Email + " to confirm the address."
	if err := a.sendVerification(ctx, u); err != nil {
		// The account exists either way; a new link can be asked for on
		// the account page.
		a.opts.Logger.ErrorContext(ctx, "register: verification mail not sent", slog.Int64("user_id", u.ID), slog.Any("error", err))
		welcome = "Welcome, " + u.DisplayName() + ". Your account is ready. Confirm your address from your account page."
	}
	a.opts.Sessions.Flash(ctx, session.Success, welcome)
	render.Redirect(w, r, "/")
}

func (a *Auth) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if u := CurrentUser(ctx); u != nil {
		a.opts.Logger.InfoContext(ctx, "logout", slog.Int64("user_id", u.ID))
	}
	if err := a.Logout(ctx); err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	render.Redirect(w, r, "/")
}

func (a *Auth) hashFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrBusy) {
		a.opts.Render.Error(w, r, render.NewError(http.StatusServiceUnavailable, ""))
		return
	}
	a.opts.Render.Error(w, r, err)
}

func (a *Auth) account(w http.ResponseWriter, r *http.Request) {
	a.renderAccount(w, r, http.StatusOK, "", nil)
}

func (a *Auth) renderAccount(w http.ResponseWriter, r *http.Request, status int, created string, token *form.Form) {
	ctx := r.Context()
	u := CurrentUser(ctx)
	tokens, err := a.Tokens.List(ctx, u.ID)
	if err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	if token == nil {
		token = form.NewForm(nil)
	}
	v := ui.AccountView{Paths: a.Paths(), Email: u.Email, Name: u.Name, Roles: u.Roles, Since: u.CreatedAt, Created: created,
		VerifiedAt: u.EmailVerifiedAt, Password: form.NewForm(nil), Token: token, EmailChange: form.NewForm(nil), NoPassword: u.PasswordHash == ""}
	for _, section := range a.accountSections {
		c, err := section(r, u)
		if err != nil {
			a.opts.Render.Error(w, r, err)
			return
		}
		if c != nil {
			v.Sections = append(v.Sections, c)
		}
	}
	for _, t := range tokens {
		v.Tokens = append(v.Tokens, ui.TokenView{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, LastUsed: t.LastUsedAt})
	}
	a.opts.Render.View(w, r, render.View{Status: status, Title: "Your account", Content: ui.AccountPage(v)})
}

// accountFormValid checks the current_password field against u's
// password, then answers 422 with the account form rendered by view when
// f has any error. It reports whether the change may go ahead.
func (a *Auth) accountFormValid(w http.ResponseWriter, r *http.Request, u *User, f *form.Form, view func(ui.AuthPaths, *form.Form) templ.Component) bool {
	ok, _, err := a.opts.Hasher.Verify(r.Context(), r.PostFormValue("current_password"), u.PasswordHash)
	if err != nil {
		a.hashFailed(w, r, err)
		return false
	}
	if !ok {
		f.AddError("current_password", "The current password is not correct.")
	}
	if !f.Valid() {
		a.opts.Forms.Invalid(w, r, f, func(f *form.Form) render.View {
			return render.View{Title: "Your account", Content: view(a.Paths(), f), Partial: view(a.Paths(), f)}
		})
		return false
	}
	return true
}

func (a *Auth) changePassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := CurrentUser(ctx)
	password, f := newPassword(r)
	if !a.accountFormValid(w, r, u, f, ui.PasswordForm) {
		return
	}
	hash, err := a.opts.Hasher.Hash(ctx, password)
	if err != nil {
		a.hashFailed(w, r, err)
		return
	}
	if err := a.Users.SetPasswordHash(ctx, u.ID, hash); err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	// A new password ends every other session and every API token.
	if err := a.Tokens.RevokeAll(ctx, u.ID); err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	if err := a.RevokeOtherSessions(ctx, u); err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	// Browsers that knew the old password are strangers again; this one
	// just proved the new one.
	if err := a.forgetDevices(ctx, u.ID); err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	if err := a.rememberDevice(ctx, w, r, u.ID); err != nil {
		a.opts.Logger.WarnContext(ctx, "password change: device cookie not issued", slog.Any("error", err))
	}
	a.opts.Logger.InfoContext(ctx, "password changed", slog.Int64("user_id", u.ID))
	a.opts.Sessions.Flash(ctx, session.Success, "Password changed. Other sessions were logged out and API tokens revoked.")
	render.Redirect(w, r, a.Paths().Account())
}

func (a *Auth) revokeSessions(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := CurrentUser(ctx)
	if err := a.RevokeOtherSessions(ctx, u); err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	a.opts.Logger.InfoContext(ctx, "other sessions revoked", slog.Int64("user_id", u.ID))
	a.opts.Sessions.Flash(ctx, session.Success, "All other sessions were logged out.")
	render.Redirect(w, r, a.Paths().Account())
}

func (a *Auth) createToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := strings.TrimSpace(r.PostFormValue("token_name"))
	if name == "" || utf8.RuneCountInString(name) > 100 {
		f := form.NewForm(url.Values{"token_name": {name}})
		f.AddError("token_name", "Give the token a name of at most 100 characters.")
		a.renderAccount(w, r, http.StatusUnprocessableEntity, "", f)
		return
	}
	secret, _, err := a.Tokens.Create(ctx, CurrentUser(ctx).ID, name, 0)
	if err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	a.renderAccount(w, r, http.StatusCreated, secret, nil)
}

func (a *Auth) revokeToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		a.opts.Render.Error(w, r, render.NewError(http.StatusBadRequest, "Malformed token id."))
		return
	}
	if err := a.Tokens.Revoke(ctx, CurrentUser(ctx).ID, id); errors.Is(err, ErrNotFound) {
		a.opts.Render.Error(w, r, render.NewError(http.StatusNotFound, "No such token."))
		return
	} else if err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	a.opts.Sessions.Flash(ctx, session.Info, "Token revoked.")
	render.Redirect(w, r, a.Paths().Account())
}

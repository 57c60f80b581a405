package auth

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis/middleware"
	"github.com/trellis-go/trellis/ui"
)

// What other packages (such as oauth, sign-in with providers) add to the
// account pages. Each is set while the app is built, before it serves;
// none is safe to call concurrently with requests.

// LoginHook runs after a successful password login, in the request, with
// the session already renewed for u. A non-empty notice is flashed.
type LoginHook func(ctx context.Context, u *User) (notice string)

// AccountSection renders one more card on the account page for u; a nil
// component adds nothing, an error fails the page.
type AccountSection func(r *http.Request, u *User) (templ.Component, error)

// OnPasswordLogin adds a hook that runs after every successful password
// login.
func (a *Auth) OnPasswordLogin(h LoginHook) { a.loginHooks = append(a.loginHooks, h) }

// AddAccountSection adds a card to the account page.
func (a *Auth) AddAccountSection(s AccountSection) {
	a.accountSections = append(a.accountSections, s)
}

// SetProviderButtons sets the "Sign in with …" buttons of the login and
// registration pages.
func (a *Auth) SetProviderButtons(b []ui.ProviderButton) { a.providers = b }

// SignIn signs u in on this request as the password login does: the
// session token and CSRF secret are renewed (see Login), the browser is
// remembered as one of u's devices (see devices.go) and the sign-in is
// logged with method ("password", or the provider's name). It leaves the
// answer (flash, redirect) to the caller.
func (a *Auth) SignIn(w http.ResponseWriter, r *http.Request, u *User, method string) error {
	ctx := r.Context()
	if err := a.Login(ctx, u); err != nil {
		return err
	}
	if err := a.rememberDevice(ctx, w, r, u.ID); err != nil {
		a.opts.Logger.WarnContext(ctx, "login: device cookie not issued", slog.Any("error", err))
	}
	a.opts.Logger.InfoContext(ctx, "login", slog.Int64("user_id", u.ID), slog.String("method", method),
		slog.String("client_ip", middleware.ClientIPFrom(r).String()))
	return nil
}

// LimitSignIns rate-limits a sign-in route per client IP (IPv6 by /64) at
// the login rate (ratelimit.login), answering 429 like the login form;
// name keeps its counters apart from other routes'.
func (a *Auth) LimitSignIns(name string) func(http.Handler) http.Handler {
	return a.limit(name, a.opts.LoginRate, ipKey)
}

// Registration reports whether visitors may create accounts
// (auth.registration).
func (a *Auth) Registration() bool { return a.opts.Registration }

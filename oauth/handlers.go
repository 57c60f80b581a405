package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/middleware"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/session"
	"github.com/trellis-go/trellis/ui"
	"golang.org/x/oauth2"
)

// Session keys.
const (
	keyFlow    = "oauth.flow"
	keyPending = "oauth.pending_link"
)

// flowTTL bounds a sign-in at the provider, and pendingTTL the time to
// prove control of an existing account by logging in with its password.
const (
	flowTTL    = 10 * time.Minute
	pendingTTL = 10 * time.Minute
)

// flow is one sign-in attempt, kept in the session between the start and
// the callback; it is used once.
type flow struct {
	Provider string    `json:"p"`
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	Next     string    `json:"x"`
	LinkUser int64     `json:"u,omitempty"` // linking from the account page
	Started  time.Time `json:"t"`
}

// pending is a provider account waiting to be linked to the existing
// account with its address, once the visitor logs in with its password.
type pending struct {
	Provider string    `json:"p"`
	Subject  string    `json:"s"`
	Email    string    `json:"e"`
	UserID   int64     `json:"u"`
	Created  time.Time `json:"t"`
}

// Routes mounts the sign-in routes on r under Options.Prefix (shown with
// "/auth"):
//
//	POST /auth/{provider}          start signing in (fields: next, CSRF token)
//	GET  /auth/{provider}/callback where the provider sends the visitor back
//	POST /auth/{provider}/link     link the provider to the signed-in account
//	POST /auth/{provider}/unlink   unlink it (never the last way to sign in)
//
// Starting is a POST, so a page elsewhere cannot start a sign-in (and put
// a flow in the visitor's session) behind the visitor's back; the CSRF
// middleware checks it like every form. Start and callback are
// rate-limited per client IP at the login rate.
func (s *Service) Routes(r chi.Router) {
	p := s.opts.Prefix
	r.With(s.opts.Auth.LimitSignIns("oauth-start")).Post(p+"/{provider}", s.start)
	r.With(s.opts.Auth.LimitSignIns("oauth-callback")).Get(p+"/{provider}/callback", s.callback)
	r.With(s.opts.Auth.RequireUser, s.opts.Auth.RequireSession).Post(p+"/{provider}/link", s.link)
	r.With(s.opts.Auth.RequireUser, s.opts.Auth.RequireSession).Post(p+"/{provider}/unlink", s.unlink)
}

// lookup returns the route's provider, or answers 404.
func (s *Service) lookup(w http.ResponseWriter, r *http.Request) (string, provider, bool) {
	name := chi.URLParam(r, "provider")
	p, ok := s.providers[name]
	if !ok {
		s.opts.Render.Error(w, r, render.NewError(http.StatusNotFound, "There is no sign-in provider by that name."))
		return "", nil, false
	}
	return name, p, true
}

func (s *Service) start(w http.ResponseWriter, r *http.Request) {
	name, p, ok := s.lookup(w, r)
	if !ok {
		return
	}
	next := auth.SafeNext(r.PostFormValue("next"))
	if auth.CurrentUser(r.Context()) != nil {
		render.Redirect(w, r, next)
		return
	}
	s.begin(w, r, name, p, &flow{Next: next})
}

func (s *Service) link(w http.ResponseWriter, r *http.Request) {
	name, p, ok := s.lookup(w, r)
	if !ok {
		return
	}
	s.begin(w, r, name, p, &flow{Next: s.opts.Auth.Paths().Account(), LinkUser: auth.CurrentUser(r.Context()).ID})
}

// begin stores a new flow in the session and sends the visitor to the
// provider.
func (s *Service) begin(w http.ResponseWriter, r *http.Request, name string, p provider, f *flow) {
	ctx := r.Context()
	f.Provider, f.State, f.Nonce, f.Verifier, f.Started = name, oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), time.Now()
	target, err := p.authCodeURL(ctx, f.State, f.Nonce, f.Verifier)
	if err != nil {
		s.failed(w, r, name, err)
		return
	}
	b, _ := json.Marshal(f)
	s.opts.Sessions.Put(ctx, keyFlow, string(b))
	render.Redirect(w, r, target)
}

func (s *Service) callback(w http.ResponseWriter, r *http.Request) {
	name, p, ok := s.lookup(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	// The flow is used once, whatever happens next: a replayed callback
	// finds none.
	var f flow
	raw := s.opts.Sessions.PopString(ctx, keyFlow)
	if raw == "" || json.Unmarshal([]byte(raw), &f) != nil || f.Provider != name ||
		subtle.ConstantTimeCompare([]byte(f.State), []byte(q.Get("state"))) != 1 || time.Since(f.Started) > flowTTL {
		s.opts.Logger.WarnContext(ctx, "oauth: callback without a matching sign-in", slog.String("provider", name),
			slog.Bool("flow", raw != ""), slog.String("client_ip", middleware.ClientIPFrom(r).String()))
		s.opts.Render.Error(w, r, render.NewError(http.StatusBadRequest,
			"This sign-in with "+s.labels[name]+" was not started in this browser, was already used or has expired. Start again from the login page."))
		return
	}
	if e := q.Get("error"); e != "" {
		if e == "access_denied" {
			s.opts.Sessions.Flash(ctx, session.Info, "Sign-in with "+s.labels[name]+" was cancelled.")
			back := s.opts.Auth.Paths().Login() + "?next=" + url.QueryEscape(f.Next)
			if f.LinkUser != 0 {
				back = f.Next
			}
			render.Redirect(w, r, back)
			return
		}
		s.failed(w, r, name, errors.Join(ErrUnavailable, errors.New("the provider answered "+e+": "+q.Get("error_description"))))
		return
	}
	code := q.Get("code")
	if code == "" {
		s.opts.Render.Error(w, r, render.NewError(http.StatusBadRequest, "The provider sent no authorization code. Start again from the login page."))
		return
	}
	id, err := p.exchange(ctx, code, f.Verifier, f.Nonce)
	if err != nil {
		s.failed(w, r, name, err)
		return
	}
	if id.Subject == "" || id.Email == "" || !id.EmailVerified || auth.ValidateEmail(auth.NormalizeEmail(id.Email)) != "" {
		s.opts.Logger.InfoContext(ctx, "oauth: no verified address", slog.String("provider", name), slog.String("subject", id.Subject))
		s.opts.Render.Error(w, r, render.NewError(http.StatusForbidden, s.labels[name]+
			" did not confirm an email address for your account there. Verify your primary address with "+s.labels[name]+", then try again, or use your password."))
		return
	}
	id.Email = auth.NormalizeEmail(id.Email)
	if f.LinkUser != 0 {
		s.linkTo(w, r, name, id, &f)
		return
	}
	s.signIn(w, r, name, id, &f)
}

// signIn signs in the user linked to id, creates one, or asks the visitor
// to prove control of the existing account with id's address.
func (s *Service) signIn(w http.ResponseWriter, r *http.Request, name string, id *Identity, f *flow) {
	ctx := r.Context()
	users := s.opts.Auth.Users
	userID, err := s.Identities.Touch(ctx, name, id.Subject, id.Email)
	created := errors.Is(err, auth.ErrNotFound)
	if created {
		existing, err := users.ByEmail(ctx, id.Email)
		switch {
		case err == nil:
			s.askForPassword(w, r, name, id, existing.ID, f)
			return
		case !errors.Is(err, auth.ErrNotFound):
			s.opts.Render.Error(w, r, err)
			return
		}
		if !s.opts.Auth.Registration() {
			s.opts.Render.Error(w, r, render.NewError(http.StatusForbidden, "No account here is linked to this "+s.labels[name]+
				" account, and this site does not take new registrations."))
			return
		}
		userID, err = s.Identities.CreateUser(ctx, name, id)
		switch {
		case errors.Is(err, auth.ErrEmailTaken):
			// Registered in the meantime: the same rule as above.
			existing, err := users.ByEmail(ctx, id.Email)
			if err != nil {
				s.opts.Render.Error(w, r, err)
				return
			}
			s.askForPassword(w, r, name, id, existing.ID, f)
			return
		case errors.Is(err, ErrLinkedElsewhere):
			// A concurrent sign-in created the account first.
			userID, err = s.Identities.UserID(ctx, name, id.Subject)
		}
		if err != nil {
			s.opts.Render.Error(w, r, err)
			return
		}
		s.opts.Logger.InfoContext(ctx, "registered", slog.Int64("user_id", userID), slog.String("provider", name),
			slog.String("client_ip", middleware.ClientIPFrom(r).String()))
		s.opts.Sessions.Flash(ctx, session.Success, "Welcome. Your account was created with "+s.labels[name]+".")
	} else if err != nil {
		s.opts.Render.Error(w, r, err)
		return
	}
	u, err := users.ByID(ctx, userID)
	if err != nil {
		s.opts.Render.Error(w, r, err)
		return
	}
	if err := s.opts.Auth.SignIn(w, r, u, name); err != nil {
		s.opts.Render.Error(w, r, err)
		return
	}
	if !created {
		s.opts.Sessions.Flash(ctx, session.Success, "Welcome back, "+u.DisplayName()+".")
	}
	render.Redirect(w, r, f.Next) // made safe when the flow began
}

// askForPassword remembers id as waiting for the account userID and sends
// the visitor to log in with its password.
func (s *Service) askForPassword(w http.ResponseWriter, r *http.Request, name string, id *Identity, userID int64, f *flow) {
	ctx := r.Context()
	b, _ := json.Marshal(pending{Provider: name, Subject: id.Subject, Email: id.Email, UserID: userID, Created: time.Now()})
	s.opts.Sessions.Put(ctx, keyPending, string(b))
	s.opts.Logger.InfoContext(ctx, "oauth: existing account, password needed to link", slog.String("provider", name), slog.Int64("user_id", userID))
	s.opts.Sessions.Flash(ctx, session.Info, "An account for "+id.Email+" already exists. Log in with its password to link your "+
		s.labels[name]+" sign-in to it; after that you can sign in with either.")
	render.Redirect(w, r, s.opts.Auth.Paths().Login()+"?next="+url.QueryEscape(f.Next))
}

// linkPending runs after every password login: a provider account waiting
// for this user (see askForPassword) is linked now that the visitor has
// proved control of the account.
func (s *Service) linkPending(ctx context.Context, u *auth.User) string {
	raw := s.opts.Sessions.PopString(ctx, keyPending)
	var p pending
	if raw == "" || json.Unmarshal([]byte(raw), &p) != nil || time.Since(p.Created) > pendingTTL {
		return ""
	}
	if p.UserID != u.ID {
		// Another account logged in: the provider account's address is
		// not this one's; link nothing.
		return ""
	}
	label := s.labels[p.Provider]
	err := s.Identities.Link(ctx, u.ID, p.Provider, &Identity{Subject: p.Subject, Email: p.Email})
	switch {
	case errors.Is(err, ErrProviderLinked):
		return "Your " + label + " sign-in was not linked: this account is already linked to another " + label + " account. Unlink it on your account page first."
	case errors.Is(err, ErrLinkedElsewhere):
		return "Your " + label + " sign-in was not linked: it is linked to another account here."
	case err != nil:
		s.opts.Logger.ErrorContext(ctx, "oauth: linking after password login", slog.Int64("user_id", u.ID), slog.Any("error", err))
		return "Your " + label + " sign-in could not be linked. Try again from your account page."
	}
	if auth.NormalizeEmail(u.Email) == p.Email && !u.Verified() {
		// The provider vouched for the address and the password for the
		// account.
		if err := s.opts.Auth.Users.MarkVerified(ctx, u.ID); err != nil {
			s.opts.Logger.WarnContext(ctx, "oauth: marking address verified", slog.Any("error", err))
		}
	}
	s.opts.Logger.InfoContext(ctx, "oauth: linked", slog.Int64("user_id", u.ID), slog.String("provider", p.Provider))
	return label + " is now linked to your account: next time you can sign in with " + label + "."
}

// linkTo links id to the signed-in user who started linking from the
// account page.
func (s *Service) linkTo(w http.ResponseWriter, r *http.Request, name string, id *Identity, f *flow) {
	ctx := r.Context()
	u := auth.CurrentUser(ctx)
	if u == nil || u.ID != f.LinkUser {
		s.opts.Render.Error(w, r, render.NewError(http.StatusBadRequest, "You are no longer signed in as the account that started linking. Sign in and start again from your account page."))
		return
	}
	label := s.labels[name]
	err := s.Identities.Link(ctx, u.ID, name, id)
	switch {
	case errors.Is(err, ErrLinkedElsewhere):
		s.opts.Render.Error(w, r, render.NewError(http.StatusConflict, "This "+label+" account is already linked to another account here."))
		return
	case errors.Is(err, ErrProviderLinked):
		s.opts.Render.Error(w, r, render.NewError(http.StatusConflict, "Your account is already linked to another "+label+" account. Unlink it first."))
		return
	case err != nil:
		s.opts.Render.Error(w, r, err)
		return
	}
	s.opts.Logger.InfoContext(ctx, "oauth: linked", slog.Int64("user_id", u.ID), slog.String("provider", name))
	s.opts.Sessions.Flash(ctx, session.Success, label+" is now linked: you can sign in with it.")
	render.Redirect(w, r, f.Next)
}

func (s *Service) unlink(w http.ResponseWriter, r *http.Request) {
	name, _, ok := s.lookup(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	u := auth.CurrentUser(ctx)
	label := s.labels[name]
	err := s.Identities.Unlink(ctx, u.ID, name)
	switch {
	case errors.Is(err, ErrLastSignIn):
		s.opts.Render.Error(w, r, render.NewError(http.StatusConflict, label+" is your only way to sign in, so it cannot be unlinked. Add a password first (ask for a link on the forgotten password page) or link another provider."))
		return
	case errors.Is(err, ErrNotLinked):
		s.opts.Render.Error(w, r, render.NewError(http.StatusNotFound, label+" is not linked to your account."))
		return
	case err != nil:
		s.opts.Render.Error(w, r, err)
		return
	}
	s.opts.Logger.InfoContext(ctx, "oauth: unlinked", slog.Int64("user_id", u.ID), slog.String("provider", name))
	s.opts.Sessions.Flash(ctx, session.Info, label+" was unlinked from your account.")
	render.Redirect(w, r, s.opts.Auth.Paths().Account())
}

// failed answers a sign-in the provider could not complete: 502 when it
// is unreachable or its answer fails verification, 400 when it refused
// the code (the visitor starts again).
func (s *Service) failed(w http.ResponseWriter, r *http.Request, name string, err error) {
	label := s.labels[name]
	if errors.Is(err, ErrRejected) {
		s.opts.Logger.WarnContext(r.Context(), "oauth: sign-in refused", slog.String("provider", name), slog.Any("error", err))
		s.opts.Render.Error(w, r, &render.Error{Status: http.StatusBadRequest, Err: err,
			Message: label + " did not accept this sign-in (the code expired or was already used). Start again from the login page."})
		return
	}
	s.opts.Render.Error(w, r, &render.Error{Status: http.StatusBadGateway, Err: err, Public: true,
		Message: "Sign-in with " + label + " is unavailable right now. Try again in a moment, or use your password."})
}

// accountCard is the account page's card of providers.
func (s *Service) accountCard(r *http.Request, u *auth.User) (templ.Component, error) {
	linked, err := s.Identities.List(r.Context(), u.ID)
	if err != nil {
		return nil, err
	}
	byName := map[string]Linked{}
	for _, l := range linked {
		byName[l.Provider] = l
	}
	links := make([]ui.ProviderLink, 0, len(s.names))
	for _, n := range s.names {
		l, ok := byName[n]
		links = append(links, ui.ProviderLink{Name: n, Label: s.labels[n], Linked: ok, Email: l.Email, Since: l.CreatedAt,
			LinkAction: s.opts.Prefix + "/" + n + "/link", UnlinkAction: s.opts.Prefix + "/" + n + "/unlink"})
	}
	return ui.ProvidersCard(links), nil
}

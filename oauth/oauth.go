// Package oauth signs visitors in with OpenID Connect providers (any
// issuer, found by discovery; Google as a preset) and GitHub, configured
// as [oauth.providers.NAME] tables.
//
// A sign-in is the authorization code flow with PKCE (S256): a random
// state, nonce and code verifier are kept in the visitor's session and
// checked when the provider sends the visitor back; the ID token is
// verified by go-oidc (signature, issuer, audience, expiry) and its nonce
// compared. GitHub, which has no ID token, is asked for the user and the
// verified primary address through its REST API.
//
// Accounts follow these rules:
//   - a provider account already linked to a user signs that user in;
//   - otherwise, when the provider vouches for the address (verified) and
//     no account has it, a new account is created with that address
//     (verified), the provider's name and no password;
//   - when an account with the address exists, nothing is linked or
//     signed in: the visitor is asked to log in with the account's
//     password, and only that login (in the same session, within ten
//     minutes) links the provider;
//   - an address the provider does not vouch for never creates or links
//     an account;
//   - signed-in users link and unlink providers on the account page, but
//     cannot unlink their last way to sign in.
//
// Discovery happens on the first sign-in, not at start-up; a provider
// that cannot be reached gets a 502 page, and is tried again after ten
// seconds.
package oauth

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/session"
	"github.com/trellis-go/trellis/ui"
)

// Options configures a Service.
type Options struct {
	// Config lists the providers.
	Config config.OAuth
	// BaseURL is the app's public address (config.Config.BaseURL); the
	// providers send visitors back to BaseURL+Prefix+"/NAME/callback",
	// which must be registered with them.
	BaseURL string
	// Prefix is where Routes are mounted, such as "/auth".
	Prefix string
	// DB holds the user_identities table (framework migration 00007).
	DB *db.DB
	// Auth signs users in, finds them and shows the buttons and the
	// account card.
	Auth *auth.Auth
	// Sessions keeps each sign-in's state, nonce and verifier.
	Sessions *session.Manager
	// Render answers errors (pages, htmx fragments, JSON).
	Render *render.Renderer
	// Logger receives sign-in events; nil discards them.
	Logger *slog.Logger
	// HTTPClient talks to the providers (discovery, keys, tokens, user
	// info, GitHub's API); nil means a client with a 15s timeout.
	HTTPClient *http.Client
	// GitHub locates GitHub for providers with preset "github".
	GitHub GitHubEndpoints
}

// Service runs sign-in with providers. Build it with New and mount Routes.
type Service struct {
	opts Options
	// Identities stores the provider accounts linked to users.
	Identities *Identities
	providers  map[string]provider
	labels     map[string]string
	names      []string
}

// defaultScopes are asked for when a provider sets none.
var (
	oidcScopes   = []string{"openid", "email", "profile"}
	githubScopes = []string{"read:user", "user:email"}
)

// New builds the providers of opts.Config. It does not contact them.
func New(opts Options) (*Service, error) {
	if opts.DB == nil || opts.Auth == nil || opts.Sessions == nil || opts.Render == nil {
		return nil, errors.New("oauth: New needs DB, Auth, Sessions and Render")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	s := &Service{opts: opts, Identities: NewIdentities(opts.DB), providers: map[string]provider{}, labels: map[string]string{}}
	for _, name := range opts.Config.ProviderNames() {
		p := opts.Config.Providers[name]
		redirect := s.CallbackURL(name)
		switch {
		case p.Preset == config.PresetGitHub:
			s.providers[name] = newGitHub(p.ClientID, p.ClientSecret, redirect, scopesOr(p.Scopes, githubScopes), opts.GitHub, opts.HTTPClient)
			s.labels[name] = cmp.Or(p.Label, "GitHub")
		case p.Preset == config.PresetGoogle:
			s.providers[name] = newOIDC("https://accounts.google.com", p.ClientID, p.ClientSecret, redirect, scopesOr(p.Scopes, oidcScopes), opts.HTTPClient)
			s.labels[name] = cmp.Or(p.Label, "Google")
		case p.Issuer != "":
			s.providers[name] = newOIDC(p.Issuer, p.ClientID, p.ClientSecret, redirect, scopesOr(p.Scopes, oidcScopes), opts.HTTPClient)
			s.labels[name] = cmp.Or(p.Label, strings.ToUpper(name[:1])+name[1:])
		default:
			return nil, fmt.Errorf("oauth: provider %q has neither issuer nor preset", name)
		}
		s.names = append(s.names, name)
	}
	opts.Auth.SetProviderButtons(s.Buttons())
	opts.Auth.OnPasswordLogin(s.linkPending)
	opts.Auth.AddAccountSection(s.accountCard)
	return s, nil
}

// CallbackURL is where provider name sends visitors back; register it
// with the provider.
func (s *Service) CallbackURL(name string) string {
	return s.opts.BaseURL + s.opts.Prefix + "/" + name + "/callback"
}

// Buttons are the "Sign in with …" buttons, in name order.
func (s *Service) Buttons() []ui.ProviderButton {
	out := make([]ui.ProviderButton, 0, len(s.names))
	for _, n := range s.names {
		out = append(out, ui.ProviderButton{Name: n, Label: s.labels[n], Action: s.opts.Prefix + "/" + n})
	}
	return out
}

func scopesOr(scopes, def []string) []string {
	if len(scopes) > 0 {
		return scopes
	}
	return def
}

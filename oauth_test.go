package trellis_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/oauth"
	"github.com/trellis-go/trellis/trellistest"
)

// The sign-in tests drive the whole redirect flow with one browser-like
// client that follows redirects from the app to the provider and back,
// keeping cookies for both. Three providers stand in for the real ones:
//
//   - zitadel's certified OpenID Provider (pkg/op with its example
//     in-memory storage), started in the test: success, state mismatch,
//     replayed code, unverified address, linking rules and outages;
//   - roguePro, a tiny hand-written provider (discovery, JWKS, token
//     endpoint signing with a test key) that misbehaves on purpose where
//     a certified provider cannot: wrong audience, expired token, nonce
//     mismatch, bad signature;
//   - fakeGitHub, GitHub's OAuth and REST endpoints.

// oauthTest is an app with sign-in providers, served at an address known
// before it is built (the providers need its callback URL).
type oauthTest struct {
	*trellistest.Server
	App  *trellis.App
	Logs *trellistest.Logs
	jar  *cookiejar.Jar
}

// newOAuthApp builds the app with providers from providers(appURL) on
// backend b; the client follows redirects.
func newOAuthApp(t *testing.T, b trellistest.Backend, appLn *httptest.Server, providers map[string]config.OAuthProvider, cfgFn func(*config.Config), opts ...trellis.Option) *oauthTest {
	t.Helper()
	cfg := trellistest.Config(t)
	switch b {
	case trellistest.Postgres:
		cfg.Database.URL = trellistest.PostgresURL(t)
	case trellistest.Redis:
		cfg.Redis.URL, cfg.Redis.KeyPrefix = trellistest.RedisURL(t)
		cfg.Session.Store, cfg.RateLimit.Store = "redis", "redis"
	}
	cfg.App.BaseURL = "http://" + appLn.Listener.Addr().String()
	cfg.OAuth.Providers = providers
	cfg.Auth.HashMemoryKiB, cfg.Auth.HashIterations = 1024, 1
	if cfgFn != nil {
		cfgFn(cfg)
	}
	logs := &trellistest.Logs{}
	app, err := trellis.New(context.Background(), cfg, append([]trellis.Option{trellis.WithLogOutput(logs)}, opts...)...)
	if err != nil {
		t.Fatalf("building the app: %v", err)
	}
	t.Cleanup(func() { _ = app.Close(context.Background()) })
	app.Get("/whoami", func(w http.ResponseWriter, r *http.Request) {
		if u := auth.CurrentUser(r.Context()); u != nil {
			fmt.Fprintf(w, "user %s verified=%v", u.Email, u.Verified())
			return
		}
		fmt.Fprint(w, "anonymous")
	})
	appLn.Config.Handler = app
	appLn.Start()
	t.Cleanup(appLn.Close)
	srv := trellistest.Connect(t, appLn.URL)
	jar, _ := cookiejar.New(nil)
	ot := &oauthTest{Server: srv, App: app, Logs: logs, jar: jar}
	srv.Client = &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > 15 {
			return fmt.Errorf("too many redirects")
		}
		return nil
	}}
	return ot
}

// sessionCookie is the app's session cookie value in the browser.
func (o *oauthTest) sessionCookie() string {
	u, _ := url.Parse(o.URL)
	for _, c := range o.jar.Cookies(u) {
		if c.Name == o.App.Config.Session.CookieName {
			return c.Value
		}
	}
	return ""
}

func (o *oauthTest) whoami(t *testing.T) string {
	t.Helper()
	return o.Get("/whoami").Body
}

// signInWith presses the "Sign in with" button of provider with next.
func (o *oauthTest) signInWith(t *testing.T, provider, next string) *trellistest.Response {
	t.Helper()
	return o.PostForm("/auth/"+provider, url.Values{"next": {next}})
}

func finalPath(r *trellistest.Response) string { return r.Request.URL.Path }

// --- zitadel's OpenID Provider ---

// opUsers is the provider's user store.
type opUsers struct {
	mu    sync.Mutex
	users map[string]*storage.User
}

func (s *opUsers) GetUserByID(id string) *storage.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[id]
}

func (s *opUsers) GetUserByUsername(name string) *storage.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Username == name {
			return u
		}
	}
	return nil
}

func (s *opUsers) ExampleClientID() string { return "service" }

// testOP is a running OpenID Provider whose login page signs in whoever
// the test chose (as if the visitor had a session there).
type testOP struct {
	srv     *httptest.Server
	users   *opUsers
	current atomic.Value // username the login page signs in
}

func (p *testOP) URL() string { return p.srv.URL }

func (p *testOP) addUser(id, email string, verified bool) {
	p.users.mu.Lock()
	defer p.users.mu.Unlock()
	p.users.users[id] = &storage.User{ID: id, Username: id, Password: "pw", FirstName: "Ada", LastName: strings.ToUpper(id[:1]) + id[1:],
		Email: email, EmailVerified: verified}
}

// startOP starts the provider with client "trellis" (secret "s3cret")
// allowed to redirect to appURL's /auth/zitadel/callback.
func startOP(t *testing.T, appURL string) *testOP {
	t.Helper()
	p := &testOP{users: &opUsers{users: map[string]*storage.User{}}}
	p.srv = httptest.NewUnstartedServer(nil)
	issuer := "http://" + p.srv.Listener.Addr().String()
	clients := map[string]*storage.Client{"trellis": storage.WebClient("trellis", "s3cret", appURL+"/auth/zitadel/callback", appURL+"/auth/other/callback")}
	st := storage.NewStorageWithClients(p.users, clients)
	provider, err := op.NewProvider(&op.Config{CryptoKey: sha256.Sum256([]byte("test key")), CodeMethodS256: true, AuthMethodPost: true}, st, op.StaticIssuer(issuer), op.WithAllowInsecure(), op.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	interceptor := op.NewIssuerInterceptor(provider.IssuerFromRequest)
	mux.HandleFunc("/login/username", interceptor.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.FormValue("authRequestID")
		user, _ := p.current.Load().(string)
		if err := st.CheckUsernamePassword(user, "pw", id); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		http.Redirect(w, r, op.AuthCallbackURL(provider)(r.Context(), id), http.StatusFound)
	}))
	mux.Handle("/", provider)
	p.srv.Config.Handler = mux
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

// zitadelApp is an app with the zitadel provider (named "zitadel").
func zitadelApp(t *testing.T, b trellistest.Backend, cfgFn func(*config.Config)) (*oauthTest, *testOP) {
	t.Helper()
	appLn := httptest.NewUnstartedServer(nil)
	p := startOP(t, "http://"+appLn.Listener.Addr().String())
	o := newOAuthApp(t, b, appLn, map[string]config.OAuthProvider{
		"zitadel": {ClientID: "trellis", ClientSecret: "s3cret", Issuer: p.URL(), Label: "Zitadel"},
	}, cfgFn)
	return o, p
}

func TestOAuthSignInCreatesAccount(t *testing.T) {
	trellistest.ForEachBackend(t, func(t *testing.T, b trellistest.Backend) {
		o, p := zitadelApp(t, b, nil)
		p.addUser("ada", "Ada@Example.com", true)
		p.current.Store("ada")

		// The login and register pages offer the provider.
		o.Get("/login?next=/notes").AssertStatus(http.StatusOK).AssertContains("Sign in with Zitadel").AssertContains(`action="/auth/zitadel"`).AssertContains(`value="/notes"`)
		o.Get("/register").AssertStatus(http.StatusOK).AssertContains("Sign in with Zitadel")

		before := ""
		o.Client.CheckRedirect = captureBefore(o, &before)
		res := o.signInWith(t, "zitadel", "/whoami?x=1")
		res.AssertStatus(http.StatusOK)
		if finalPath(res) != "/whoami" || res.Request.URL.RawQuery != "x=1" {
			t.Fatalf("ended at %s, want next /whoami?x=1", res.Request.URL)
		}
		if !strings.Contains(res.Body, "user ada@example.com verified=true") {
			t.Fatalf("not signed in as a verified new user: %q", res.Body)
		}
		if before == "" || before == o.sessionCookie() {
			t.Fatalf("session token not renewed at sign-in (before %q, after %q)", before, o.sessionCookie())
		}
		u, err := o.App.Auth.Users.ByEmail(context.Background(), "ada@example.com")
		if err != nil || u.PasswordHash != "" || u.Name != "Ada Ada" {
			t.Fatalf("user: %+v, %v", u, err)
		}
		links, err := o.App.OAuth.Identities.List(context.Background(), u.ID)
		if err != nil || len(links) != 1 || links[0].Provider != "zitadel" || links[0].Subject != "ada" {
			t.Fatalf("identities: %+v, %v", links, err)
		}
		// The account page lists the provider; with no password it says
		// how to add one.
		o.Get("/account").AssertStatus(http.StatusOK).AssertContains("Sign-in providers").AssertContains(`id="no-password"`).AssertContains("Unlink").
			AssertContains(`id="email-no-password"`)
		if page := o.Get("/account").Body; strings.Contains(page, `name="current_password"`) {
			t.Error("the account page of a user without a password asks for the current password")
		}

		// Signing out and in again finds the same account, and records
		// the provider's current address on the link.
		o.PostForm("/logout", nil)
		if got := o.whoami(t); got != "anonymous" {
			t.Fatalf("after logout: %q", got)
		}
		p.addUser("ada", "ada@new.example.com", true)
		o.signInWith(t, "zitadel", "/whoami").AssertContains("user ada@example.com")
		if n, _ := o.App.Auth.Users.Count(context.Background()); n != 1 {
			t.Fatalf("%d users, want 1", n)
		}
		if links, err := o.App.OAuth.Identities.List(context.Background(), u.ID); err != nil || len(links) != 1 || links[0].Email != "ada@new.example.com" {
			t.Fatalf("the link after a second sign-in: %+v, %v", links, err)
		}
		// No password works for a provider-only account.
		o.PostForm("/logout", nil)
		o.PostForm("/login", url.Values{"email": {"ada@example.com"}, "password": {""}}).AssertStatus(http.StatusUnprocessableEntity)
		o.PostForm("/login", url.Values{"email": {"ada@example.com"}, "password": {"anything-at-all"}}).AssertStatus(http.StatusUnprocessableEntity)
	})
}

// toAppCallback reports whether req is the provider sending the browser
// back to the app.
func toAppCallback(o *oauthTest, req *http.Request) bool {
	return "http://"+req.URL.Host == o.URL && strings.HasSuffix(req.URL.Path, "/callback")
}

// signIn logs in with a password through the login form.
func (o *oauthTest) signIn(t *testing.T, email, password string) {
	t.Helper()
	o.PostForm("/login", url.Values{"email": {email}, "password": {password}})
	if got := o.whoami(t); !strings.Contains(got, "user "+email) {
		t.Fatalf("password login as %s failed: %q", email, got)
	}
}

// captureBefore records the session cookie as the browser is sent back
// to the callback.
func captureBefore(o *oauthTest, before *string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if toAppCallback(o, req) {
			*before = o.sessionCookie()
		}
		return nil
	}
}

// stopAtCallback signs in with provider, stops the browser before it
// reaches the app's callback and returns that callback's URL.
func (o *oauthTest) stopAtCallback(t *testing.T, provider, next string) *url.URL {
	t.Helper()
	var callback string
	follow := o.Client.CheckRedirect
	o.Client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if toAppCallback(o, req) {
			callback = req.URL.String()
			return http.ErrUseLastResponse
		}
		return nil
	}
	o.signInWith(t, provider, next)
	o.Client.CheckRedirect = follow
	u, err := url.Parse(callback)
	if callback == "" || err != nil {
		t.Fatalf("the provider did not send the browser back (%v)", err)
	}
	return u
}

func TestOAuthStateAndReplay(t *testing.T) {
	o, p := zitadelApp(t, trellistest.SQLite, nil)
	p.addUser("ada", "ada@example.com", true)
	p.current.Store("ada")

	cb := o.stopAtCallback(t, "zitadel", "/")

	// A state that is not this browser's is refused (login CSRF).
	q := cb.Query()
	q.Set("state", "forged")
	o.Get(cb.Path + "?" + q.Encode()).AssertStatus(http.StatusBadRequest).AssertContains("not started in this browser")
	// The refused attempt used up the flow: the genuine callback now
	// fails too, and nobody is signed in.
	o.Get(cb.RequestURI()).AssertStatus(http.StatusBadRequest)
	if got := o.whoami(t); got != "anonymous" {
		t.Fatalf("signed in after a state mismatch: %q", got)
	}
	// Another browser cannot use this browser's callback.
	other := o.AsNewVisitor()
	other.Client = &http.Client{Jar: func() *cookiejar.Jar { j, _ := cookiejar.New(nil); return j }()}
	other.Get(cb.RequestURI()).AssertStatus(http.StatusBadRequest)

	// A fresh sign-in succeeds; replaying its callback is refused.
	first := o.stopAtCallback(t, "zitadel", "/whoami")
	o.Get(first.RequestURI()).AssertStatus(http.StatusOK)
	if got := o.whoami(t); !strings.Contains(got, "ada@example.com") {
		t.Fatalf("not signed in: %q", got)
	}
	o.PostForm("/logout", nil)
	o.Get(first.RequestURI()).AssertStatus(http.StatusBadRequest)

	// The used code with a fresh state of this browser: the provider
	// refuses it (codes are single use), which the visitor sees as a 400.
	fresh := o.stopAtCallback(t, "zitadel", "/")
	q = fresh.Query()
	q.Set("code", first.Query().Get("code"))
	o.Get(fresh.Path + "?" + q.Encode()).AssertStatus(http.StatusBadRequest).AssertContains("did not accept this sign-in")
	if got := o.whoami(t); got != "anonymous" {
		t.Fatalf("signed in with a replayed code: %q", got)
	}
	// Cancelled at the provider: back to the login page, no error.
	c := o.stopAtCallback(t, "zitadel", "/")
	o.Get(c.Path + "?error=access_denied&state=" + url.QueryEscape(c.Query().Get("state"))).AssertStatus(http.StatusOK).AssertContains("was cancelled")
	// htmx buttons get HX-Redirect to the provider.
	if res := o.PostForm("/auth/zitadel", url.Values{"next": {"/"}}, trellistest.HTMX("")); !strings.HasPrefix(res.Header.Get("HX-Redirect"), p.URL()+"/") {
		t.Fatalf("htmx start: status %d, HX-Redirect %q", res.StatusCode, res.Header.Get("HX-Redirect"))
	}
	// Unknown providers are 404; starting needs the CSRF token.
	o.PostForm("/auth/nope", nil).AssertStatus(http.StatusNotFound)
	o.PostForm("/auth/zitadel", nil, trellistest.NoCSRF()).AssertStatus(http.StatusForbidden)
}

// TestOAuthProviderMixUp: a code and state issued for one provider's
// sign-in, delivered to another provider's callback, are refused, and the
// flow is used up.
func TestOAuthProviderMixUp(t *testing.T) {
	appLn := httptest.NewUnstartedServer(nil)
	p := startOP(t, "http://"+appLn.Listener.Addr().String())
	o := newOAuthApp(t, trellistest.SQLite, appLn, map[string]config.OAuthProvider{
		"zitadel": {ClientID: "trellis", ClientSecret: "s3cret", Issuer: p.URL(), Label: "Zitadel"},
		"other":   {ClientID: "trellis", ClientSecret: "s3cret", Issuer: p.URL(), Label: "Other"},
	}, nil)
	p.addUser("ada", "ada@example.com", true)
	p.current.Store("ada")

	cb := o.stopAtCallback(t, "zitadel", "/")
	o.Get("/auth/other/callback?" + cb.RawQuery).AssertStatus(http.StatusBadRequest).AssertContains("not started in this browser")
	o.Get(cb.RequestURI()).AssertStatus(http.StatusBadRequest)
	if got := o.whoami(t); got != "anonymous" {
		t.Fatalf("signed in through another provider's callback: %q", got)
	}
}

func TestOAuthUnverifiedEmail(t *testing.T) {
	o, p := zitadelApp(t, trellistest.SQLite, nil)
	p.addUser("eve", "eve@example.com", false)
	p.current.Store("eve")
	o.signInWith(t, "zitadel", "/").AssertStatus(http.StatusForbidden).AssertContains("did not confirm an email address")
	if n, _ := o.App.Auth.Users.Count(context.Background()); n != 0 {
		t.Fatalf("%d users created from an unverified address", n)
	}
	// Nor does it link to an account with that address.
	o.App.Auth.CreateUser(context.Background(), "eve@example.com", "Eve", "correct horse battery")
	o.signInWith(t, "zitadel", "/").AssertStatus(http.StatusForbidden)
	o.signIn(t, "eve@example.com", "correct horse battery")
	u, _ := o.App.Auth.Users.ByEmail(context.Background(), "eve@example.com")
	if links, _ := o.App.OAuth.Identities.List(context.Background(), u.ID); len(links) != 0 {
		t.Fatalf("unverified identity linked: %+v", links)
	}
}

func TestOAuthLinkingRules(t *testing.T) {
	trellistest.ForEachBackend(t, func(t *testing.T, b trellistest.Backend) {
		o, p := zitadelApp(t, b, nil)
		ctx := context.Background()
		p.addUser("bob", "bob@example.com", true)
		p.current.Store("bob")
		if _, err := o.App.Auth.CreateUser(ctx, "bob@example.com", "Bob", "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		bob, _ := o.App.Auth.Users.ByEmail(ctx, "bob@example.com")

		// The provider's verified address matches a local account: no
		// sign-in, no link, a request to prove control with the password.
		res := o.signInWith(t, "zitadel", "/whoami")
		res.AssertStatus(http.StatusOK).AssertContains("already exists").AssertContains("Log in with its password")
		if finalPath(res) != "/login" || res.Request.URL.Query().Get("next") != "/whoami" {
			t.Fatalf("sent to %s, want the login page with next", res.Request.URL)
		}
		if got := o.whoami(t); got != "anonymous" {
			t.Fatalf("signed in without proof: %q", got)
		}
		if links, _ := o.App.OAuth.Identities.List(ctx, bob.ID); len(links) != 0 {
			t.Fatalf("linked without proof: %+v", links)
		}
		// Another account's password in the same session links nothing.
		o.App.Auth.CreateUser(ctx, "mallory@example.com", "", "another password")
		o.PostForm("/login", url.Values{"email": {"mallory@example.com"}, "password": {"another password"}})
		o.PostForm("/logout", nil)
		if links, _ := o.App.OAuth.Identities.List(ctx, bob.ID); len(links) != 0 {
			t.Fatalf("linked after another account's login: %+v", links)
		}
		if id, err := o.App.OAuth.Identities.UserID(ctx, "zitadel", "bob"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("Bob's provider account linked to user %d (%v) after another account's login", id, err)
		}
		// Proof: the password login in the same session links, and says so.
		o.signInWith(t, "zitadel", "/whoami")
		res = o.PostForm("/login", url.Values{"email": {"bob@example.com"}, "password": {"correct horse battery"}, "next": {"/account"}})
		res.AssertStatus(http.StatusOK).AssertContains("Zitadel is now linked")
		links, _ := o.App.OAuth.Identities.List(ctx, bob.ID)
		if len(links) != 1 || links[0].Subject != "bob" {
			t.Fatalf("identities after proof: %+v", links)
		}
		// From now on the provider signs Bob in directly.
		o.PostForm("/logout", nil)
		o.signInWith(t, "zitadel", "/whoami").AssertContains("user bob@example.com verified=true")

		// Unlink on the account page: Bob has a password, so he may.
		o.Get("/account").AssertContains("Unlink")
		o.PostForm("/auth/zitadel/unlink", nil).AssertStatus(http.StatusOK).AssertContains("was unlinked")
		if links, _ := o.App.OAuth.Identities.List(ctx, bob.ID); len(links) != 0 {
			t.Fatalf("still linked: %+v", links)
		}
		o.PostForm("/auth/zitadel/unlink", nil).AssertStatus(http.StatusNotFound)
		// Link again from the account page (signed in, no password asked).
		res = o.PostForm("/auth/zitadel/link", nil)
		res.AssertStatus(http.StatusOK).AssertContains("Zitadel is now linked")
		if finalPath(res) != "/account" {
			t.Fatalf("ended at %s", res.Request.URL)
		}
		// A provider account already linked to Bob cannot be linked by
		// someone else.
		o.PostForm("/logout", nil)
		o.signIn(t, "mallory@example.com", "another password")
		o.PostForm("/auth/zitadel/link", nil).AssertStatus(http.StatusConflict).AssertContains("already linked to another account")
		// An API token cannot manage the account's providers.
		secret, _, err := o.App.Auth.Tokens.Create(ctx, bob.ID, "ci", 0)
		if err != nil {
			t.Fatal(err)
		}
		bearer := trellistest.Header("Authorization", "Bearer "+secret)
		o.AsNewVisitor().Do(http.MethodPost, "/auth/zitadel/unlink", nil, trellistest.NoCSRF(), bearer).AssertStatus(http.StatusForbidden)
		if links, _ := o.App.OAuth.Identities.List(ctx, bob.ID); len(links) != 1 {
			t.Fatalf("an API token unlinked: %+v", links)
		}
		// Linking and unlinking need a signed-in user.
		o.PostForm("/logout", nil)
		if res := o.PostForm("/auth/zitadel/unlink", nil); finalPath(res) != "/login" {
			t.Fatalf("anonymous unlink ended at %s, want the login page", res.Request.URL)
		}
		if links, _ := o.App.OAuth.Identities.List(ctx, bob.ID); len(links) != 1 {
			t.Fatalf("anonymous unlink changed identities: %+v", links)
		}

		// The last way to sign in cannot be removed.
		p.addUser("cid", "cid@example.com", true)
		p.current.Store("cid")
		o.signInWith(t, "zitadel", "/whoami").AssertContains("user cid@example.com")
		o.PostForm("/auth/zitadel/unlink", nil).AssertStatus(http.StatusConflict).AssertContains("only way to sign in")
		cid, _ := o.App.Auth.Users.ByEmail(ctx, "cid@example.com")
		if links, _ := o.App.OAuth.Identities.List(ctx, cid.ID); len(links) != 1 {
			t.Fatalf("last way removed: %+v", links)
		}
		// htmx requests get the refusal as a fragment.
		o.PostForm("/auth/zitadel/unlink", nil, trellistest.HTMX("")).AssertStatus(http.StatusConflict).AssertFragment()
	})
}

func TestOAuthRegistrationClosed(t *testing.T) {
	o, p := zitadelApp(t, trellistest.SQLite, func(c *config.Config) { c.Auth.Registration = false })
	p.addUser("ada", "ada@example.com", true)
	p.current.Store("ada")
	o.signInWith(t, "zitadel", "/").AssertStatus(http.StatusForbidden).AssertContains("does not take new registrations")
	if n, _ := o.App.Auth.Users.Count(context.Background()); n != 0 {
		t.Fatalf("%d users", n)
	}
}

func TestOAuthProviderOutage(t *testing.T) {
	o, p := zitadelApp(t, trellistest.SQLite, nil)
	p.addUser("ada", "ada@example.com", true)
	p.current.Store("ada")
	// The app started although discovery never ran; the first sign-in
	// works.
	o.signInWith(t, "zitadel", "/whoami").AssertContains("user ada@example.com")
	o.PostForm("/logout", nil)

	// Down after discovery: the token exchange fails → 502 page.
	cb := o.stopAtCallback(t, "zitadel", "/")
	p.srv.CloseClientConnections()
	p.srv.Close()
	o.Get(cb.RequestURI()).AssertStatus(http.StatusBadGateway).AssertContains("Sign-in with Zitadel is unavailable right now")
	if strings.Contains(o.Logs.String(), "panic") {
		t.Fatal("panicked")
	}

	// Down from the start: discovery fails at the first sign-in, not at
	// start-up; htmx gets a fragment.
	appLn := httptest.NewUnstartedServer(nil)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	o2 := newOAuthApp(t, trellistest.SQLite, appLn, map[string]config.OAuthProvider{
		"zitadel": {ClientID: "trellis", ClientSecret: "s3cret", Issuer: deadURL, Label: "Zitadel"},
	}, nil)
	o2.signInWith(t, "zitadel", "/").AssertStatus(http.StatusBadGateway).AssertContains("Sign-in with Zitadel is unavailable right now").AssertContains("use your password")
	o2.signInWith(t, "zitadel", "/").AssertStatus(http.StatusBadGateway)
	o2.PostForm("/auth/zitadel", nil, trellistest.HTMX("")).AssertStatus(http.StatusBadGateway).AssertFragment()
}

// --- a misbehaving provider ---

// rogueProvider is a minimal OpenID provider written for these tests: it
// signs ID tokens with its own key and can be told to get them wrong.
type rogueProvider struct {
	srv   *httptest.Server
	key   *rsa.PrivateKey
	other *rsa.PrivateKey // signs "bad-signature" tokens
	mode  atomic.Value    // "ok", "wrong-aud", "expired", "bad-nonce", "bad-signature", "wrong-issuer"

	mu    sync.Mutex
	codes map[string]rogueCode
}

type rogueCode struct{ nonce, challenge string }

func startRogue(t *testing.T) *rogueProvider {
	t.Helper()
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	p := &rogueProvider{key: k1, other: k2, codes: map[string]rogueCode{}}
	p.mode.Store("ok")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss := p.srv.URL
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token",
			"jwks_uri": iss + "/jwks", "id_token_signing_alg_values_supported": []string{"RS256"}, "response_types_supported": []string{"code"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		b64 := base64.RawURLEncoding.EncodeToString
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]string{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": b64(k1.N.Bytes()), "e": b64(big.NewInt(int64(k1.E)).Bytes())}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" {
			http.Error(w, "PKCE S256 and a nonce are required", http.StatusBadRequest)
			return
		}
		code := fmt.Sprintf("code-%d", time.Now().UnixNano())
		p.mu.Lock()
		p.codes[code] = rogueCode{nonce: q.Get("nonce"), challenge: q.Get("code_challenge")}
		p.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		c, ok := p.codes[r.FormValue("code")]
		delete(p.codes, r.FormValue("code"))
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.FormValue("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid_grant"}`)
			return
		}
		now := time.Now()
		claims := map[string]any{"iss": p.srv.URL, "sub": "rogue-1", "aud": "trellis", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
			"nonce": c.nonce, "email": "rogue@example.com", "email_verified": true, "name": "Rogue"}
		key := p.key
		switch p.mode.Load() {
		case "wrong-aud":
			claims["aud"] = "someone-else"
		case "expired":
			claims["exp"], claims["iat"] = now.Add(-time.Hour).Unix(), now.Add(-2*time.Hour).Unix()
		case "bad-nonce":
			claims["nonce"] = "not-the-one-sent"
		case "bad-signature":
			key = p.other
		case "wrong-issuer":
			claims["iss"] = "https://evil.example"
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": signJWT(key, claims)})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// signJWT signs claims as an RS256 JWT with kid "k1".
func signJWT(key *rsa.PrivateKey, claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "k1"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(input))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestOAuthIDTokenVerification(t *testing.T) {
	rogue := startRogue(t)
	appLn := httptest.NewUnstartedServer(nil)
	o := newOAuthApp(t, trellistest.SQLite, appLn, map[string]config.OAuthProvider{
		"rogue": {ClientID: "trellis", ClientSecret: "s3cret", Issuer: rogue.srv.URL},
	}, nil)
	for _, mode := range []string{"wrong-aud", "expired", "bad-nonce", "bad-signature", "wrong-issuer"} {
		t.Run(mode, func(t *testing.T) {
			rogue.mode.Store(mode)
			o.signInWith(t, "rogue", "/").AssertStatus(http.StatusBadGateway).AssertContains("Sign-in with Rogue is unavailable right now")
			if got := o.whoami(t); got != "anonymous" {
				t.Fatalf("signed in with a %s token: %q", mode, got)
			}
			if n, _ := o.App.Auth.Users.Count(context.Background()); n != 0 {
				t.Fatalf("%d users created from a %s token", n, mode)
			}
		})
	}
	// The same provider, behaving, signs in (so the failures above are
	// the tokens' doing).
	rogue.mode.Store("ok")
	o.signInWith(t, "rogue", "/whoami").AssertContains("user rogue@example.com")
}

// --- a fake GitHub ---

type fakeGitHub struct {
	srv    *httptest.Server
	emails atomic.Value // JSON of /user/emails
	down   atomic.Bool
}

func startGitHub(t *testing.T) *fakeGitHub {
	t.Helper()
	g := &fakeGitHub{}
	g.emails.Store(`[{"email":"old@example.com","primary":false,"verified":true},{"email":"Octo@Example.com","primary":true,"verified":true}]`)
	mux := http.NewServeMux()
	var mu sync.Mutex
	challenges := map[string]string{}
	mux.HandleFunc("GET /login/oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != "gh-id" || q.Get("code_challenge_method") != "S256" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		code := fmt.Sprintf("gh-%d", time.Now().UnixNano())
		mu.Lock()
		challenges[code] = q.Get("code_challenge")
		mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ch, ok := challenges[r.FormValue("code")]
		delete(challenges, r.FormValue("code"))
		mu.Unlock()
		sum := sha256.Sum256([]byte(r.FormValue("code_verifier")))
		w.Header().Set("Content-Type", "application/json")
		if !ok || r.FormValue("client_secret") != "gh-secret" || base64.RawURLEncoding.EncodeToString(sum[:]) != ch {
			// GitHub answers 200 with an error field.
			io.WriteString(w, `{"error":"bad_verification_code"}`)
			return
		}
		io.WriteString(w, `{"access_token":"gho_test","token_type":"bearer","scope":"read:user,user:email"}`)
	})
	api := func(body func() string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if g.down.Load() {
				http.Error(w, "unicorn", http.StatusServiceUnavailable)
				return
			}
			if r.Header.Get("Authorization") != "Bearer gho_test" {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, body())
		}
	}
	mux.HandleFunc("GET /api/user", api(func() string { return `{"id":4242,"login":"octo","name":""}` }))
	mux.HandleFunc("GET /api/user/emails", api(func() string { return g.emails.Load().(string) }))
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func TestOAuthGitHub(t *testing.T) {
	trellistest.ForEachBackend(t, func(t *testing.T, b trellistest.Backend) {
		gh := startGitHub(t)
		appLn := httptest.NewUnstartedServer(nil)
		o := newOAuthApp(t, b, appLn, map[string]config.OAuthProvider{
			"github": {ClientID: "gh-id", ClientSecret: "gh-secret", Preset: "github"},
		}, nil, trellis.WithGitHubEndpoints(oauth.GitHubEndpoints{
			AuthURL: gh.srv.URL + "/login/oauth/authorize", TokenURL: gh.srv.URL + "/login/oauth/access_token", APIURL: gh.srv.URL + "/api",
		}))
		o.Get("/login").AssertContains("Sign in with GitHub")

		// Only the verified primary address counts.
		gh.emails.Store(`[{"email":"octo@example.com","primary":true,"verified":false},{"email":"other@example.com","primary":false,"verified":true}]`)
		o.signInWith(t, "github", "/").AssertStatus(http.StatusForbidden).AssertContains("did not confirm an email address")
		if n, _ := o.App.Auth.Users.Count(context.Background()); n != 0 {
			t.Fatalf("%d users from an unverified primary", n)
		}
		// GitHub's API down → 502, not 500.
		gh.down.Store(true)
		o.signInWith(t, "github", "/").AssertStatus(http.StatusBadGateway).AssertContains("Sign-in with GitHub is unavailable")
		gh.down.Store(false)

		gh.emails.Store(`[{"email":"old@example.com","primary":false,"verified":true},{"email":"Octo@Example.com","primary":true,"verified":true}]`)
		o.signInWith(t, "github", "/whoami").AssertContains("user octo@example.com verified=true")
		u, _ := o.App.Auth.Users.ByEmail(context.Background(), "octo@example.com")
		links, _ := o.App.OAuth.Identities.List(context.Background(), u.ID)
		if u.Name != "octo" || len(links) != 1 || links[0].Subject != "4242" {
			t.Fatalf("user %+v, identities %+v", u, links)
		}
	})
}

func TestOAuthNameClashesWithAccountPages(t *testing.T) {
	cfg := trellistest.Config(t)
	cfg.OAuth.Providers = map[string]config.OAuthProvider{"login": {ClientID: "x", Issuer: "https://login.example"}}
	_, err := trellis.New(context.Background(), cfg, trellis.MountAt(trellis.AuthPages, "/auth"), trellis.WithLogOutput(io.Discard))
	if err == nil || !strings.Contains(err.Error(), "oauth.providers.login: the name clashes") {
		t.Fatalf("got %v", err)
	}
}

func TestOAuthConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		p    config.OAuthProvider
		key  string
		want string
	}{
		{"github", config.OAuthProvider{ClientSecret: "x", Preset: "github"}, "oauth.providers.github.client_id", "is missing"},
		{"acme", config.OAuthProvider{ClientID: "x", Issuer: "https://a.example", Preset: "google"}, "oauth.providers.acme.issuer", "both set"},
		{"acme", config.OAuthProvider{ClientID: "x"}, "oauth.providers.acme", "neither issuer nor preset"},
		{"acme", config.OAuthProvider{ClientID: "x", ClientSecret: "y", Preset: "gitlab"}, "oauth.providers.acme.preset", "unknown preset"},
		{"Bad-Name", config.OAuthProvider{ClientID: "x", Preset: "github", ClientSecret: "y"}, "oauth.providers.Bad-Name", "invalid provider name"},
		{"google", config.OAuthProvider{ClientID: "x", Preset: "google"}, "oauth.providers.google.client_secret", "is missing"},
		{"acme", config.OAuthProvider{ClientID: "x", Issuer: "login.example.com"}, "oauth.providers.acme.issuer", "not an issuer URL"},
		{"acme", config.OAuthProvider{ClientID: "x", Issuer: "https://a.example", Scopes: []string{"email"}}, "oauth.providers.acme.scopes", `"openid"`},
	} {
		cfg := config.Default(config.Test)
		cfg.OAuth.Providers = map[string]config.OAuthProvider{c.name: c.p}
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.key+": ") || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "fix:") {
			t.Errorf("%s %+v: got %v, want %s: %s", c.name, c.p, err, c.key, c.want)
		}
	}
}

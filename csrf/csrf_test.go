package csrf_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/csrf"
	"github.com/trellis-go/trellis/trellistest"
)

func newServer(t *testing.T, mutate ...func(*config.Config)) (*trellistest.Server, *trellis.App) {
	t.Helper()
	opts := []trellistest.AppOption{trellistest.Configure(func(cfg *config.Config) {
		cfg.CSRF.ExemptPaths = []string{"/webhooks/"}
		cfg.CSRF.TrustedOrigins = []string{"https://admin.example.com"}
	})}
	for _, m := range mutate {
		opts = append(opts, trellistest.Configure(m))
	}
	ta := trellistest.NewApp(t, nil, opts...)
	app := ta.App
	ok := func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "accepted") }
	app.Post("/action", ok)
	app.Delete("/action", ok)
	app.Post("/webhooks/stripe", ok)
	app.Post("/touch", func(w http.ResponseWriter, r *http.Request) {
		app.Sessions.Put(r.Context(), "touched", true)
		_, _ = io.WriteString(w, "accepted")
	})
	return ta.Server, app
}

var tokenRe = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

func pageToken(t *testing.T, s *trellistest.Server) string {
	t.Helper()
	m := tokenRe.FindStringSubmatch(s.Get("/no-such-page").Body)
	if m == nil {
		t.Fatal("no csrf-token meta on the page")
	}
	return m[1]
}

func post(s *trellistest.Server, path string, form url.Values, opts ...trellistest.RequestOption) *trellistest.Response {
	return s.PostForm(path, form, append([]trellistest.RequestOption{trellistest.NoCSRF()}, opts...)...)
}

func TestCSRFAttackMatrix(t *testing.T) {
	s, app := newServer(t)
	token := pageToken(t, s)
	other := s.AsNewVisitor()
	otherToken := pageToken(t, other)
	// A user with a signed-in session.
	if _, err := app.Auth.CreateUser(context.Background(), "v@example.com", "", "victim password"); err != nil {
		t.Fatal(err)
	}
	victim := s.AsNewVisitor()
	victim.PostForm("/login", url.Values{"email": {"v@example.com"}, "password": {"victim password"}})
	victimToken := pageToken(t, victim)

	cases := []struct {
		name   string
		s      *trellistest.Server
		form   url.Values
		opts   []trellistest.RequestOption
		status int
	}{
		{"form field", s, url.Values{"csrf_token": {token}}, nil, 200},
		{"header", s, nil, []trellistest.RequestOption{trellistest.Header("X-CSRF-Token", token)}, 200},
		{"missing token", s, nil, nil, 403},
		{"garbage token", s, url.Values{"csrf_token": {"garbage"}}, nil, 403},
		{"token of another visitor", s, url.Values{"csrf_token": {otherToken}}, nil, 403},
		{"token of another session", victim, url.Values{"csrf_token": {token}}, nil, 403},
		{"signed-in session", victim, url.Values{"csrf_token": {victimToken}}, nil, 200},
		{"cross-site request with a valid token", s, url.Values{"csrf_token": {token}},
			[]trellistest.RequestOption{trellistest.Header("Sec-Fetch-Site", "cross-site")}, 403},
		{"foreign Origin with a valid token", s, url.Values{"csrf_token": {token}},
			[]trellistest.RequestOption{trellistest.Header("Origin", "https://evil.example")}, 403},
		{"trusted origin", s, url.Values{"csrf_token": {token}},
			[]trellistest.RequestOption{trellistest.Header("Origin", "https://admin.example.com")}, 200},
		{"same-origin fetch metadata", s, url.Values{"csrf_token": {token}},
			[]trellistest.RequestOption{trellistest.Header("Sec-Fetch-Site", "same-origin")}, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := post(c.s, "/action", c.form, c.opts...)
			if res.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %.200s", res.StatusCode, c.status, res.Body)
			}
			if c.status == 403 && !strings.Contains(res.Body, "expired or was sent from another site") {
				t.Errorf("rejection does not explain itself: %.300s", res.Body)
			}
		})
	}
	// Rejections are fragments for htmx and JSON for API clients.
	frag := post(s, "/action", nil, trellistest.HTMX("x"))
	if frag.StatusCode != 403 || frag.Header.Get("HX-Retarget") != "#trellis-error" || strings.Contains(frag.Body, "<html") {
		t.Errorf("htmx rejection: %d %v", frag.StatusCode, frag.Header)
	}
	js := post(s, "/action", nil, trellistest.Header("Accept", "application/json"))
	if js.StatusCode != 403 || !strings.HasPrefix(js.Body, `{"error":`) {
		t.Errorf("json rejection: %d %s", js.StatusCode, js.Body)
	}
	// DELETE is unsafe too.
	if res := s.Do("DELETE", "/action", nil, trellistest.NoCSRF()); res.StatusCode != 403 {
		t.Errorf("DELETE without token: %d", res.StatusCode)
	}
}

func TestCSRFTokensAreMaskedButStable(t *testing.T) {
	s, _ := newServer(t)
	a, b := pageToken(t, s), pageToken(t, s)
	if a == b {
		t.Fatal("tokens are not masked per render")
	}
	for _, tok := range []string{a, b} {
		if res := post(s, "/action", url.Values{"csrf_token": {tok}}); res.StatusCode != 200 {
			t.Errorf("token from an earlier render rejected: %d", res.StatusCode)
		}
	}
}

func TestCSRFExemptionsAndBearer(t *testing.T) {
	s, app := newServer(t)
	app.Post("/webhooks-admin", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "accepted") })
	if res := post(s, "/webhooks/stripe", nil); res.StatusCode != 200 {
		t.Errorf("exempt webhook: %d", res.StatusCode)
	}
	if res := post(s, "/webhooks-admin", nil); res.StatusCode != 403 {
		t.Errorf("a path that merely starts like the exemption: %d", res.StatusCode)
	}
	// A bearer token skips the CSRF check, but must itself be valid.
	if res := post(s, "/action", nil, trellistest.Header("Authorization", "Bearer trl_bogus"), trellistest.Header("Accept", "application/json")); res.StatusCode != 401 {
		t.Errorf("bogus bearer: %d", res.StatusCode)
	}
}

func TestCSRFSecretRenewsOnLoginAndLogout(t *testing.T) {
	s, app := newServer(t)
	if _, err := app.Auth.CreateUser(context.Background(), "r@example.com", "", "renew password"); err != nil {
		t.Fatal(err)
	}
	anonToken := pageToken(t, s)
	s.PostForm("/login", url.Values{"email": {"r@example.com"}, "password": {"renew password"}})
	if res := post(s, "/action", url.Values{"csrf_token": {anonToken}}); res.StatusCode != 403 {
		t.Errorf("pre-login token accepted after login: %d", res.StatusCode)
	}
	userToken := pageToken(t, s)
	if res := post(s, "/action", url.Values{"csrf_token": {userToken}}); res.StatusCode != 200 {
		t.Fatalf("fresh token rejected: %d", res.StatusCode)
	}
	s.PostForm("/logout", nil)
	if res := post(s, "/action", url.Values{"csrf_token": {userToken}}); res.StatusCode != 403 {
		t.Errorf("signed-in token accepted after logout: %d", res.StatusCode)
	}
}

func TestCSRFVisitorTokenSurvivesSessionStart(t *testing.T) {
	// A visitor loads a page (token bound to the visitor cookie), then
	// something starts a session: the page's token must still work.
	s, _ := newServer(t)
	token := pageToken(t, s)
	if res := post(s, "/touch", url.Values{"csrf_token": {token}}); res.StatusCode != 200 {
		t.Fatalf("first post: %d", res.StatusCode)
	}
	if res := post(s, "/action", url.Values{"csrf_token": {token}}); res.StatusCode != 200 {
		t.Errorf("token rejected after the session started: %d", res.StatusCode)
	}
	if csrf.FieldName != "csrf_token" || csrf.HeaderName != "X-CSRF-Token" {
		t.Error("public names changed")
	}
}

// With secure cookies on, the visitor cookie is Secure and carries the
// __Host- prefix (so a subdomain cannot set or shadow it), and only the
// prefixed cookie is read back.
func TestCSRFSecureCookieHasHostPrefix(t *testing.T) {
	s, _ := newServer(t, func(c *config.Config) { c.Session.CookieSecure = true })
	res := s.Get("/no-such-page", trellistest.NoCSRF())
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if strings.HasSuffix(c.Name, csrf.CookieName) {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatalf("no CSRF cookie: %v", res.Header.Values("Set-Cookie"))
	}
	if cookie.Name != "__Host-trellis_csrf" || !cookie.Secure || cookie.Path != "/" || cookie.Domain != "" || !cookie.HttpOnly {
		t.Fatalf("CSRF cookie %+v, want __Host-trellis_csrf, Secure, Path=/, no Domain, HttpOnly", cookie)
	}
	token := tokenRe.FindStringSubmatch(res.Body)[1]
	// Cookies are sent by hand: the client's jar keeps Secure cookies
	// away from this plain-HTTP test server.
	send := func(name string) int {
		return post(s.AsNewVisitor(), "/action", url.Values{"csrf_token": {token}},
			trellistest.Header("Cookie", name+"="+cookie.Value)).StatusCode
	}
	if got := send("__Host-trellis_csrf"); got != 200 {
		t.Errorf("token with its __Host- cookie: %d", got)
	}
	if got := send("trellis_csrf"); got != 403 {
		t.Errorf("token with an unprefixed cookie (settable by a subdomain): %d", got)
	}
}

// Construction validates trusted origins; outside the middleware Token is
// empty and Renew does nothing.
func TestCSRFConstructionAndOutsideTheMiddleware(t *testing.T) {
	for _, origin := range []string{"not an origin", "https://example.com/path", "ftp://"} {
		if _, err := csrf.New(csrf.Options{TrustedOrigins: []string{origin}}); err == nil {
			t.Errorf("trusted origin %q accepted", origin)
		}
	}
	if _, err := csrf.New(csrf.Options{TrustedOrigins: []string{"https://admin.example.com"}}); err != nil {
		t.Errorf("valid origin refused: %v", err)
	}
	ctx := context.Background()
	csrf.Renew(ctx)
	if tok := csrf.Token(ctx); tok != "" {
		t.Errorf("token outside the middleware: %q", tok)
	}
}

// A visitor who already has a session (a flash, say) gets a new secret on
// login, and a visitor's pre-login secret does not come back on logout.
func TestCSRFSecretRenewsForAVisitorWithASession(t *testing.T) {
	s, app := newServer(t)
	if _, err := app.Auth.CreateUser(context.Background(), "w@example.com", "", "renew password"); err != nil {
		t.Fatal(err)
	}
	anonToken := pageToken(t, s)
	if res := post(s, "/touch", url.Values{"csrf_token": {anonToken}}); res.StatusCode != 200 {
		t.Fatalf("touch: %d", res.StatusCode)
	}
	s.PostForm("/login", url.Values{"email": {"w@example.com"}, "password": {"renew password"}})
	if res := post(s, "/action", url.Values{"csrf_token": {anonToken}}); res.StatusCode != 403 {
		t.Errorf("pre-login token of a visitor with a session accepted after login: %d", res.StatusCode)
	}
	s.PostForm("/logout", nil)
	if res := post(s, "/action", url.Values{"csrf_token": {anonToken}}); res.StatusCode != 403 {
		t.Errorf("pre-login token accepted after logout: %d", res.StatusCode)
	}
}

// A session without a visitor cookie (the cookie was dropped) gets a
// secret kept in the session: the page's token works.
func TestCSRFSessionWithoutCookie(t *testing.T) {
	s, _ := newServer(t)
	if res := post(s, "/touch", url.Values{"csrf_token": {pageToken(t, s)}}); res.StatusCode != 200 {
		t.Fatalf("touch: %d", res.StatusCode)
	}
	u, _ := url.Parse(s.URL)
	s.Client.Jar.SetCookies(u, []*http.Cookie{{Name: csrf.CookieName, Value: "", Path: "/", MaxAge: -1}})
	token := pageToken(t, s)
	if res := post(s, "/action", url.Values{"csrf_token": {token}}); res.StatusCode != 200 {
		t.Errorf("token of a session without a visitor cookie: %d", res.StatusCode)
	}
}

// Field renders the hidden input forms post, with a token the middleware
// accepts.
func TestCSRFFieldInForms(t *testing.T) {
	s, _ := newServer(t)
	m := regexp.MustCompile(`<input type="hidden" name="csrf_token" value="([A-Za-z0-9_-]{86})">`).FindStringSubmatch(s.Get("/login").Body)
	if m == nil {
		t.Fatal("no CSRF field in the login form")
	}
	if res := post(s, "/action", url.Values{"csrf_token": {m[1]}}); res.StatusCode != 200 {
		t.Errorf("the field's token: %d", res.StatusCode)
	}
}

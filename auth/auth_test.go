package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/session"
	"github.com/trellis-go/trellis/trellistest"
)

// env is one app under test with its server.
type env struct {
	*trellistest.Server
	app  *trellis.App
	ta   *trellistest.App
	logs *logBuffer
}

// newEnv builds an app whose sessions live in store: "sqlite",
// "postgres" or "redis".
func newEnv(t *testing.T, store string, mutate ...func(*config.Config)) *env {
	t.Helper()
	logs := testLog(t)
	opts := []trellistest.AppOption{trellistest.Options(trellis.WithLogOutput(logs)), trellistest.Configure(func(cfg *config.Config) {
		// Redis here means Redis sessions with the memory limiter.
		cfg.RateLimit.Store = "memory"
		if store == "memory" {
			cfg.Session.Store = "memory"
		}
		// Most tests make many attempts; TestLoginRateLimits sets real limits.
		cfg.RateLimit.Register = "1000/1m"
		cfg.RateLimit.Login = "1000/1m"
		cfg.RateLimit.Reset = "1000/1m"
		cfg.RateLimit.Verify = "1000/1m"
	})}
	switch store {
	case "postgres":
		opts = append(opts, trellistest.OnBackend(trellistest.Postgres))
	case "redis":
		opts = append(opts, trellistest.OnBackend(trellistest.Redis))
	}
	for _, m := range mutate {
		opts = append(opts, trellistest.Configure(m))
	}
	ta := trellistest.NewApp(t, nil, opts...)
	app := ta.App
	app.Get("/", func(w http.ResponseWriter, r *http.Request) {
		who := "anonymous"
		if u := auth.CurrentUser(r.Context()); u != nil {
			who = "user:" + u.Email
		}
		app.Render.Page(w, r, "Home", templRaw(`<p id="who">`+htmlEscape(who)+`</p>`))
	})
	app.With(app.Auth.RequireRole("admin")).Get("/admin/area", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "admin area")
	})
	app.Post("/session/put/{key}", func(w http.ResponseWriter, r *http.Request) {
		app.Sessions.Put(r.Context(), r.PathValue("key"), r.PostFormValue("value"))
		w.WriteHeader(http.StatusNoContent)
	})
	app.Get("/session/get/{key}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, app.Sessions.GetString(r.Context(), r.PathValue("key")))
	})
	app.Post("/flash", func(w http.ResponseWriter, r *http.Request) {
		app.Sessions.Flash(r.Context(), session.Info, r.PostFormValue("message"))
		w.WriteHeader(http.StatusNoContent)
	})
	return &env{Server: ta.Server, app: app, ta: ta, logs: logs}
}

func stores(t *testing.T, fn func(t *testing.T, e func(...func(*config.Config)) *env)) {
	for _, store := range []string{"sqlite", "postgres", "redis", "memory"} {
		t.Run(store, func(t *testing.T) {
			fn(t, func(m ...func(*config.Config)) *env { return newEnv(t, store, m...) })
		})
	}
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func (e *env) register(t *testing.T, email, password string) *trellistest.Response {
	t.Helper()
	res := e.PostForm("/register", form("email", email, "password", password, "password_confirm", password, "name", "Test User"))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("register %s: %d %s", email, res.StatusCode, res.Body)
	}
	return res
}

func (e *env) login(t *testing.T, email, password string, opts ...trellistest.RequestOption) *trellistest.Response {
	t.Helper()
	return e.PostForm("/login", form("email", email, "password", password), opts...)
}

func (e *env) who(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`<p id="who">([^<]*)</p>`).FindStringSubmatch(e.Get("/").Body)
	if m == nil {
		t.Fatal("no who paragraph")
	}
	return m[1]
}

func (e *env) sessionCookie() *http.Cookie {
	u, _ := url.Parse(e.URL)
	for _, c := range e.Client.Jar.Cookies(u) {
		if c.Name == "trellis_session" {
			return c
		}
	}
	return nil
}

func TestRegisterLoginLogout(t *testing.T) {
	stores(t, func(t *testing.T, newEnv func(...func(*config.Config)) *env) {
		e := newEnv()
		res := e.register(t, "Alice@Example.com", "correct horse")
		if loc := res.Header.Get("Location"); loc != "/" {
			t.Errorf("register redirect = %q", loc)
		}
		var sc string
		for _, c := range res.Header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "trellis_session=") {
				sc = c
			}
		}
		if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") || !strings.Contains(sc, "Path=/") {
			t.Errorf("session cookie attributes: %q", sc)
		}
		if got := e.who(t); got != "user:alice@example.com" {
			t.Fatalf("after register: %q", got)
		}

		// Logout destroys the server-side session: the old cookie is dead.
		old := e.sessionCookie()
		if _, _, found, err := e.app.Sessions.Backend().Load(context.Background(), storeKey(old.Value)); !found || err != nil {
			t.Fatalf("signed-in session not in the store: %v %v", found, err)
		}
		out := e.PostForm("/logout", nil)
		if out.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d", out.StatusCode)
		}
		if _, _, found, err := e.app.Sessions.Backend().Load(context.Background(), storeKey(old.Value)); found || err != nil {
			t.Errorf("logout left the old session in the store: %v %v", found, err)
		}
		for _, c := range out.Cookies() {
			if c.Name == "trellis_session" && c.Value == old.Value {
				t.Error("logout handed the old session token back to the browser")
			}
		}
		if got := e.who(t); got != "anonymous" {
			t.Fatalf("after logout: %q", got)
		}
		replay := e.visitor()
		u, _ := url.Parse(e.URL)
		replay.Client.Jar.SetCookies(u, []*http.Cookie{old})
		if got := replay.who(t); got != "anonymous" {
			t.Fatalf("old session cookie still works after logout: %q", got)
		}

		// Login is case-insensitive on the email and goes to next.
		res = e.login(t, "ALICE@example.COM", "correct horse", trellistest.Header("Referer", e.URL))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
			t.Fatalf("login: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		if got := e.who(t); got != "user:alice@example.com" {
			t.Fatalf("after login: %q", got)
		}
		if c := e.sessionCookie(); c == nil || c.Value == old.Value {
			t.Error("signing in again reused the logged-out session token")
		}
		// htmx login answers HX-Redirect.
		h := e.visitor()
		res = h.PostForm("/login", form("email", "alice@example.com", "password", "correct horse", "next", "/account"), trellistest.HTMX("login-form"))
		if res.StatusCode != http.StatusOK || res.Header.Get("HX-Redirect") != "/account" {
			t.Fatalf("htmx login: %d %v", res.StatusCode, res.Header)
		}
	})
}

func TestSessionFixationIsPrevented(t *testing.T) {
	stores(t, func(t *testing.T, newEnv func(...func(*config.Config)) *env) {
		e := newEnv()
		e.register(t, "bob@example.com", "bob password")
		e.PostForm("/logout", nil)

		// The attacker creates a session and plants its token in the
		// victim's browser.
		attacker := e.visitor()
		attacker.PostForm("/session/put/x", form("value", "1"))
		planted := attacker.sessionCookie()
		if planted == nil {
			t.Fatal("attacker got no session")
		}
		victim := e.visitor()
		u, _ := url.Parse(e.URL)
		victim.Client.Jar.SetCookies(u, []*http.Cookie{planted})
		if res := victim.login(t, "bob@example.com", "bob password"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d", res.StatusCode)
		}
		if c := victim.sessionCookie(); c == nil || c.Value == planted.Value {
			t.Fatal("session token not renewed on login")
		}
		// The planted token does not carry the victim's login.
		if got := attacker.who(t); got != "anonymous" {
			t.Fatalf("attacker's planted session is logged in: %q", got)
		}
	})
}

func TestAnonymousVisitorsCreateNoSession(t *testing.T) {
	stores(t, func(t *testing.T, newEnv func(...func(*config.Config)) *env) {
		e := newEnv()
		for _, p := range []string{"/", "/login", "/register", "/nope"} {
			res := e.Get(p)
			for _, c := range res.Header.Values("Set-Cookie") {
				if strings.HasPrefix(c, "trellis_session=") {
					t.Errorf("GET %s set a session cookie", p)
				}
			}
		}
		if n := countSessions(t, e); n != 0 {
			t.Errorf("%d sessions stored for anonymous page views", n)
		}
		e.PostForm("/session/put/k", form("value", "v"))
		if n := countSessions(t, e); n != 1 {
			t.Errorf("after a write: %d sessions stored", n)
		}
	})
}

// storeKey is the key a session token is stored under (its SHA-256).
func storeKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func countSessions(t *testing.T, e *env) int {
	t.Helper()
	ctx := context.Background()
	if m, ok := e.app.Sessions.Backend().(*session.Memory); ok {
		n, _ := m.Count(ctx)
		return n
	}
	if e.app.Config.Session.Store == "redis" {
		keys, err := e.app.Redis.Keys(ctx, e.app.Config.Redis.KeyPrefix+"session:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return len(keys)
	}
	var n int
	if err := e.app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM trellis_sessions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConcurrentRequestsLoseNoSessionWrites(t *testing.T) {
	stores(t, func(t *testing.T, newEnv func(...func(*config.Config)) *env) {
		e := newEnv()
		e.PostForm("/session/put/seed", form("value", "0"))
		tok := e.CSRFToken()
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				res := e.PostForm(fmt.Sprintf("/session/put/k%d", i), form("value", fmt.Sprint(i)), trellistest.Header("X-CSRF-Token", tok))
				if res.StatusCode != http.StatusNoContent {
					t.Errorf("put %d: %d", i, res.StatusCode)
				}
			})
			wg.Go(func() {
				e.PostForm("/flash", form("message", fmt.Sprintf("flash %d", i)), trellistest.Header("X-CSRF-Token", tok))
			})
		}
		wg.Wait()
		for i := range 20 {
			if got := e.Get(fmt.Sprintf("/session/get/k%d", i)).Body; got != fmt.Sprint(i) {
				t.Errorf("k%d = %q after concurrent writes", i, got)
			}
		}
		page := e.Get("/").Body
		if n := strings.Count(page, `class="flash flash-info"`); n != 20 {
			t.Errorf("%d of 20 concurrent flashes shown", n)
		}
		if strings.Contains(e.Get("/").Body, "flash flash-info") {
			t.Error("flashes shown twice")
		}
	})
}

func TestFlashesShowOnceAndOOBForHTMX(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.PostForm("/flash", form("message", "<b>saved</b>"))
	res := e.Get("/", trellistest.HTMX("main"))
	if !strings.Contains(res.Body, `<div id="flashes" class="flash-region" aria-live="polite" hx-swap-oob="innerHTML">`) ||
		!strings.Contains(res.Body, "&lt;b&gt;saved&lt;/b&gt;") {
		t.Fatalf("htmx partial lacks the OOB flash: %s", res.Body)
	}
	if strings.Contains(e.Get("/").Body, "saved") {
		t.Error("flash shown a second time")
	}
	e.PostForm("/flash", form("message", "again"))
	if !strings.Contains(e.Get("/").Body, `<div class="flash flash-info" role="status">again`) {
		t.Error("flash not in the full page")
	}
}

func TestRegistrationValidation(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.register(t, "taken@example.com", "password one")
	e.PostForm("/logout", nil)
	cases := []struct {
		name  string
		form  url.Values
		field string
		msg   string
	}{
		{"missing email", form("password", "longenough", "password_confirm", "longenough"), "email", "Email is required."},
		{"bad email", form("email", "not-an-email", "password", "longenough", "password_confirm", "longenough"), "email", "valid email"},
		{"short password", form("email", "a@example.com", "password", "short", "password_confirm", "short"), "password", "at least 8"},
		{"long password", form("email", "a@example.com", "password", strings.Repeat("p", 257), "password_confirm", strings.Repeat("p", 257)), "password", "at most 256"},
		{"mismatch", form("email", "a@example.com", "password", "longenough", "password_confirm", "different"), "password_confirm", "do not match"},
		{"long name", form("email", "a@example.com", "name", strings.Repeat("n", 101), "password", "longenough", "password_confirm", "longenough"), "name", "at most 100"},
		{"taken, other case", form("email", "TAKEN@example.com", "password", "longenough", "password_confirm", "longenough"), "email", "cannot be used"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.PostForm("/register", c.form)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Body, c.msg) {
				t.Fatalf("%d %s", res.StatusCode, res.Body)
			}
			if !regexp.MustCompile(`<input[^>]*aria-describedby="field-` + c.field + `-error[^>]*id="field-` + c.field + `"`).MatchString(res.Body) {
				t.Errorf("error not tied to the %s input", c.field)
			}
			if pw := c.form.Get("password"); pw != "" && strings.Contains(res.Body, `value="`+pw+`"`) {
				t.Error("password echoed back")
			}
			frag := e.PostForm("/register", c.form, trellistest.HTMX("register-form"))
			if frag.StatusCode != http.StatusUnprocessableEntity || !strings.HasPrefix(frag.Body, `<form id="register-form"`) {
				t.Errorf("htmx: %d %.80s", frag.StatusCode, frag.Body)
			}
		})
	}
	// Passwords are counted in characters: eight emoji are enough.
	res := e.PostForm("/register", form("email", "emoji@example.com", "password", "🔒🔒🔒🔒🔒🔒🔒🔒", "password_confirm", "🔒🔒🔒🔒🔒🔒🔒🔒"))
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("eight-character unicode password refused: %d", res.StatusCode)
	}
}

func TestLoginFailuresRevealNothing(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.register(t, "carol@example.com", "carol password")
	e.PostForm("/logout", nil)
	known := e.login(t, "carol@example.com", "wrong password")
	unknown := e.login(t, "nobody@example.com", "wrong password")
	for _, res := range []*trellistest.Response{known, unknown} {
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "Invalid email or password.") {
			t.Fatalf("%d %s", res.StatusCode, res.Body)
		}
	}
	strip := regexp.MustCompile(`value="[A-Za-z0-9_-]{86}"|nonce="[^"]+"|content="[A-Za-z0-9_-]{86}"|(carol|nobody)@example\.com`)
	if strip.ReplaceAllString(known.Body, "") != strip.ReplaceAllString(unknown.Body, "") {
		t.Error("responses for a known and an unknown email differ")
	}
}

func TestOpenRedirectsAreRefused(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.register(t, "dave@example.com", "dave password")
	for next, want := range map[string]string{
		"/account?tab=1":        "/account?tab=1",
		"//evil.example":        "/",
		"/\\evil.example":       "/",
		"https://evil.example/": "/",
		"javascript:alert(1)":   "/",
		"/\t/evil.example":      "/",
		"":                      "/",
		"evil.example":          "/",
	} {
		v := e.visitor()
		res := v.PostForm("/login", form("email", "dave@example.com", "password", "dave password", "next", next))
		if got := res.Header.Get("Location"); got != want {
			t.Errorf("next %q redirected to %q, want %q", next, got, want)
		}
	}
	// A visitor who is already logged in is sent on from GET /login too.
	if res := e.Get("/login?next=//evil.example"); res.Header.Get("Location") != "/" {
		t.Errorf("GET /login next: %q", res.Header.Get("Location"))
	}
}

func TestRequireUserAndRole(t *testing.T) {
	e := newEnv(t, "sqlite")
	res := e.Get("/account?x=1")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Faccount%3Fx%3D1" {
		t.Fatalf("browser: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res = e.Get("/account", trellistest.HTMX("main"), trellistest.Header("HX-Current-URL", e.URL+"/account"))
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("HX-Redirect") != "/login?next=%2Faccount" {
		t.Fatalf("htmx: %d %v", res.StatusCode, res.Header)
	}
	res = e.Get("/account", trellistest.Header("Accept", "application/json"))
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.Body, `"error"`) {
		t.Fatalf("json: %d %s", res.StatusCode, res.Body)
	}
	e.register(t, "erin@example.com", "erin password")
	if res := e.Get("/admin/area"); res.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "admin role") {
		t.Fatalf("non-admin: %d", res.StatusCode)
	}
	if res := e.Get("/admin/area", trellistest.Header("Accept", "application/json")); res.StatusCode != http.StatusForbidden || !strings.HasPrefix(res.Body, "{") {
		t.Fatalf("non-admin json: %d %s", res.StatusCode, res.Body)
	}
	// Some other role is not the required one.
	if _, err := e.app.Auth.Users.AddRole(context.Background(), 1, "editor"); err != nil {
		t.Fatal(err)
	}
	if res := e.Get("/admin/area"); res.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "admin role") {
		t.Fatalf("editor at an admin guard: %d", res.StatusCode)
	}
	if _, err := e.app.Auth.Users.AddRole(context.Background(), 1, "admin"); err != nil {
		t.Fatal(err)
	}
	if res := e.Get("/admin/area"); res.StatusCode != http.StatusOK || res.Body != "admin area" {
		t.Fatalf("admin: %d %s", res.StatusCode, res.Body)
	}
}

func TestRevokeOtherSessionsAndPasswordChange(t *testing.T) {
	stores(t, func(t *testing.T, newEnv func(...func(*config.Config)) *env) {
		e := newEnv()
		e.register(t, "frank@example.com", "frank password")
		laptop := e.visitor()
		laptop.login(t, "frank@example.com", "frank password")
		if laptop.who(t) != "user:frank@example.com" {
			t.Fatal("second session not logged in")
		}
		if res := e.PostForm("/account/sessions/revoke", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoke: %d %s", res.StatusCode, res.Body)
		}
		if got := laptop.who(t); got != "anonymous" {
			t.Errorf("other session survived: %q", got)
		}
		if got := e.who(t); got != "user:frank@example.com" {
			t.Errorf("this session was logged out: %q", got)
		}

		laptop.login(t, "frank@example.com", "frank password")
		bad := e.PostForm("/account/password", form("current_password", "nope", "password", "new password!", "password_confirm", "new password!"))
		if bad.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, "current password is not correct") {
			t.Fatalf("wrong current password: %d", bad.StatusCode)
		}
		ok := e.PostForm("/account/password", form("current_password", "frank password", "password", "new password!", "password_confirm", "new password!"))
		if ok.StatusCode != http.StatusSeeOther {
			t.Fatalf("change password: %d %s", ok.StatusCode, ok.Body)
		}
		if laptop.who(t) != "anonymous" {
			t.Error("password change left other sessions signed in")
		}
		if res := laptop.login(t, "frank@example.com", "frank password"); res.StatusCode != http.StatusUnprocessableEntity {
			t.Error("old password still works")
		}
		if res := laptop.login(t, "frank@example.com", "new password!"); res.StatusCode != http.StatusSeeOther {
			t.Error("new password does not work")
		}
	})
}

// TestSessionTimeouts checks the idle timeout and the absolute lifetime
// separately, each with the other far away, and on the server: the old
// token is replayed from a cookie without an expiry, so a browser dropping
// an expired cookie cannot hide a session the store still accepts.
func TestSessionTimeouts(t *testing.T) {
	replay := func(t *testing.T, e *env, token string) string {
		t.Helper()
		v := e.visitor()
		u, _ := url.Parse(e.URL)
		v.Client.Jar.SetCookies(u, []*http.Cookie{{Name: "trellis_session", Value: token, Path: "/"}})
		return v.who(t)
	}
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, "sqlite", func(c *config.Config) {
			c.Session.IdleTimeout = 2 * time.Second
			c.Session.Lifetime = time.Hour
		})
		e.register(t, "idle@example.com", "idle password")
		token := e.sessionCookie().Value
		// Activity for longer than the idle timeout keeps the session.
		for range 5 {
			if got := e.who(t); got != "user:idle@example.com" {
				t.Fatalf("active session ended: %q", got)
			}
			time.Sleep(600 * time.Millisecond)
		}
		if got := replay(t, e, token); got != "user:idle@example.com" {
			t.Fatalf("active session not found by its token: %q", got)
		}
		time.Sleep(2500 * time.Millisecond)
		if got := replay(t, e, token); got != "anonymous" {
			t.Errorf("idle session still accepted: %q", got)
		}
		if got := e.who(t); got != "anonymous" {
			t.Errorf("idle browser still signed in: %q", got)
		}
	})
	t.Run("lifetime", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, "sqlite", func(c *config.Config) {
			// The idle timeout may not exceed the lifetime; constant
			// activity keeps the session from idling out.
			c.Session.IdleTimeout = 1500 * time.Millisecond
			c.Session.Lifetime = 1500 * time.Millisecond
		})
		e.register(t, "life@example.com", "life password")
		token := e.sessionCookie().Value
		if e.who(t) != "user:life@example.com" {
			t.Fatal("not logged in")
		}
		// Constant activity does not extend the absolute lifetime.
		waitFor(t, func() bool { return e.who(t) == "anonymous" })
		if got := replay(t, e, token); got != "anonymous" {
			t.Errorf("session past its lifetime still accepted: %q", got)
		}
	})
}

func TestRoleAPI(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	admin, err := e.app.Auth.CreateUser(ctx, "root@example.com", "Root", "root password", "admin")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := e.app.Auth.CreateUser(ctx, "pat@example.com", "", "pat password")
	if err != nil {
		t.Fatal(err)
	}
	anon := e.visitor()
	if res := anon.Get(fmt.Sprintf("/admin/users/%d/roles", plain.ID), trellistest.Header("Accept", "application/json")); res.StatusCode != 401 {
		t.Errorf("anonymous: %d", res.StatusCode)
	}
	user := e.visitor()
	user.login(t, "pat@example.com", "pat password")
	if res := user.Get(fmt.Sprintf("/admin/users/%d/roles", plain.ID), trellistest.Header("Accept", "application/json")); res.StatusCode != 403 {
		t.Errorf("non-admin: %d", res.StatusCode)
	}
	e.login(t, "root@example.com", "root password")

	type rolesBody struct {
		UserID  int64    `json:"user_id"`
		Roles   []string `json:"roles"`
		Message string   `json:"message"`
		Error   string   `json:"error"`
	}
	call := func(method, path, body string, opts ...trellistest.RequestOption) (int, rolesBody) {
		t.Helper()
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		opts = append([]trellistest.RequestOption{trellistest.Header("Accept", "application/json"), trellistest.Header("Content-Type", "application/json")}, opts...)
		res := e.Do(method, path, r, opts...)
		var b rolesBody
		if err := json.Unmarshal([]byte(res.Body), &b); err != nil {
			t.Fatalf("%s %s: not JSON: %s", method, path, res.Body)
		}
		return res.StatusCode, b
	}
	p := fmt.Sprintf("/admin/users/%d/roles", plain.ID)
	if code, b := call("GET", p, ""); code != 200 || b.UserID != plain.ID || len(b.Roles) != 0 || b.Message == "" {
		t.Errorf("list: %d %+v", code, b)
	}
	if code, b := call("POST", p, `{"role":"editor"}`); code != 200 || len(b.Roles) != 1 || b.Roles[0] != "editor" || b.Message != "role editor added" {
		t.Errorf("add: %d %+v", code, b)
	}
	if code, b := call("POST", p, `{"role":"editor"}`); code != 200 || len(b.Roles) != 1 {
		t.Errorf("add again is idempotent: %d %+v", code, b)
	}
	if code, b := call("DELETE", p+"/editor", ""); code != 200 || len(b.Roles) != 0 {
		t.Errorf("remove: %d %+v", code, b)
	}
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/admin/users/99999/roles", "", 404},
		{"GET", "/admin/users/abc/roles", "", 400},
		{"GET", "/admin/users/-1/roles", "", 400},
		{"POST", p, `{"role":"Bad Role!"}`, 400},
		{"POST", p, `not json`, 400},
		{"POST", p, `{"role":"x","extra":1}`, 400},
		{"POST", "/admin/users/99999/roles", `{"role":"editor"}`, 404},
		{"DELETE", fmt.Sprintf("/admin/users/%d/roles/admin", admin.ID), "", 409},
	} {
		if code, b := call(c.method, c.path, c.body); code != c.status || b.Error == "" {
			t.Errorf("%s %s %s: %d %+v, want %d with an error", c.method, c.path, c.body, code, b, c.status)
		}
	}
	// The last admin kept the role after the refused removal.
	if u, _ := e.app.Auth.Users.ByID(ctx, admin.ID); !u.HasRole("admin") {
		t.Error("refused removal changed the roles")
	}
	// Unsafe calls need a CSRF token or a bearer token.
	if code, _ := call("POST", p, `{"role":"x"}`, trellistest.NoCSRF()); code != 403 {
		t.Errorf("POST without CSRF: %d", code)
	}
	secret, _, err := e.app.Auth.Tokens.Create(ctx, admin.ID, "ci", 0)
	if err != nil {
		t.Fatal(err)
	}
	api := e.visitor()
	res := api.Do("POST", p, strings.NewReader(`{"role":"bot"}`), trellistest.NoCSRF(), trellistest.Header("Authorization", "Bearer "+secret))
	if res.StatusCode != 200 || !strings.Contains(res.Body, `"bot"`) {
		t.Errorf("bearer POST: %d %s", res.StatusCode, res.Body)
	}
	res = api.Do("GET", p, nil, trellistest.Header("Authorization", "Bearer trl_wrong"))
	if res.StatusCode != 401 {
		t.Errorf("bad bearer: %d", res.StatusCode)
	}
	// A second admin can be demoted once there are two.
	if code, b := call("POST", fmt.Sprintf("/admin/users/%d/roles", plain.ID), `{"role":"admin"}`); code != 200 {
		t.Fatalf("promote: %d %+v", code, b)
	}
	if code, _ := call("DELETE", fmt.Sprintf("/admin/users/%d/roles/admin", admin.ID), ""); code != 200 {
		t.Errorf("demote with another admin left: %d", code)
	}
}

func TestLastAdminUnderConcurrency(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			e := newEnv(t, store)
			ctx := context.Background()
			a, _ := e.app.Auth.CreateUser(ctx, "a@example.com", "", "password a", "admin")
			b, _ := e.app.Auth.CreateUser(ctx, "b@example.com", "", "password b", "admin")
			var wg sync.WaitGroup
			for _, id := range []int64{a.ID, b.ID} {
				wg.Go(func() { _, _ = e.app.Auth.Users.RemoveRole(ctx, id, "admin") })
			}
			wg.Wait()
			var n int
			if err := e.app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM user_roles WHERE role = 'admin'`).Scan(&n); err != nil || n != 1 {
				t.Fatalf("admins left: %d (%v)", n, err)
			}
		})
	}
}

func TestAPITokensFromTheAccountPage(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.register(t, "hal@example.com", "hal password")
	res := e.PostForm("/account/tokens", form("token_name", "laptop <script>"))
	m := regexp.MustCompile(`<code id="new-token">(trl_[a-z0-9]+)</code>`).FindStringSubmatch(res.Body)
	if res.StatusCode != http.StatusCreated || m == nil {
		t.Fatalf("create token: %d %s", res.StatusCode, res.Body)
	}
	if strings.Contains(res.Body, "laptop <script>") || !strings.Contains(res.Body, "laptop &lt;script&gt;") {
		t.Error("token name not escaped")
	}
	if strings.Contains(e.Get("/account").Body, m[1]) {
		t.Error("token secret shown again")
	}
	api := e.visitor()
	// A token authenticates API calls but cannot manage the account.
	if res := api.Get("/account", trellistest.Header("Authorization", "Bearer "+m[1])); res.StatusCode != 403 {
		t.Fatalf("bearer GET /account: %d", res.StatusCode)
	}
	if res := api.PostForm("/account/tokens", form("token_name", "more"), trellistest.NoCSRF(), trellistest.Header("Authorization", "bearer "+m[1])); res.StatusCode != 403 {
		t.Fatalf("bearer token minting: %d", res.StatusCode)
	}
	id := regexp.MustCompile(`/account/tokens/(\d+)/revoke`).FindStringSubmatch(e.Get("/account").Body)
	if id == nil {
		t.Fatal("no revoke form")
	}
	other := e.visitor()
	other.register(t, "ivy@example.com", "ivy password")
	if res := other.PostForm("/account/tokens/"+id[1]+"/revoke", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("revoking another user's token: %d", res.StatusCode)
	}
	e.PostForm("/account/tokens/"+id[1]+"/revoke", nil)
	if res := api.Get("/", trellistest.Header("Authorization", "Bearer "+m[1]), trellistest.Header("Accept", "application/json")); res.StatusCode != 401 {
		t.Errorf("revoked token still works: %d", res.StatusCode)
	}
	// Changing the password revokes every token.
	res = e.PostForm("/account/tokens", form("token_name", "second"))
	second := regexp.MustCompile(`<code id="new-token">(trl_[a-z0-9]+)</code>`).FindStringSubmatch(res.Body)[1]
	if res := api.Get("/", trellistest.Header("Authorization", "Bearer "+second)); res.StatusCode != 200 {
		t.Fatalf("second token: %d", res.StatusCode)
	}
	e.PostForm("/account/password", form("current_password", "hal password", "password", "hal password 2", "password_confirm", "hal password 2"))
	if res := api.Get("/", trellistest.Header("Authorization", "Bearer "+second)); res.StatusCode != 401 {
		t.Errorf("token survived a password change: %d", res.StatusCode)
	}
}

func TestXSSInEchoedFields(t *testing.T) {
	e := newEnv(t, "sqlite")
	payload := `"><script>alert(1)</script>`
	res := e.PostForm("/register", form("email", "x@example.com"+payload, "name", payload, "password", "pw", "password_confirm", "pw"))
	if strings.Contains(res.Body, "<script>alert(1)") {
		t.Fatal("register form echoes unescaped input")
	}
	res = e.PostForm("/login", form("email", payload, "password", "x", "next", payload))
	if strings.Contains(res.Body, "<script>alert(1)") {
		t.Fatal("login form echoes unescaped input")
	}
	e.register(t, "xss@example.com", "xss password")
	e.PostForm("/logout", nil)
	if _, err := e.app.Auth.CreateUser(context.Background(), "named@example.com", payload, "named password"); err != nil {
		t.Fatal(err)
	}
	e.login(t, "named@example.com", "named password")
	for _, p := range []string{"/", "/account"} {
		if body := e.Get(p).Body; strings.Contains(body, "<script>alert(1)") {
			t.Errorf("%s renders the display name unescaped", p)
		}
	}
}

func TestLoginRateLimits(t *testing.T) {
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) { testLoginRateLimits(t, store) })
	}
}

func testLoginRateLimits(t *testing.T, limiter string) {
	e := newEnv(t, "sqlite", func(c *config.Config) {
		c.RateLimit.Login = "3/1m"
		c.Server.TrustedProxies = []string{"127.0.0.1"}
		if limiter == "redis" {
			c.Redis.URL, c.Redis.KeyPrefix = trellistest.RedisURL(t)
			c.RateLimit.Store = "redis"
		}
	})
	e.register(t, "jo@example.com", "jo password")
	e.PostForm("/logout", nil)
	from := func(ip string) trellistest.RequestOption { return trellistest.Header("X-Forwarded-For", ip) }
	// Per IP: the fourth attempt from one address is refused.
	for i := range 3 {
		if res := e.login(t, fmt.Sprintf("u%d@example.com", i), "x", from("198.51.100.1")); res.StatusCode != 422 {
			t.Fatalf("attempt %d: %d", i, res.StatusCode)
		}
	}
	res := e.login(t, "u9@example.com", "x", from("198.51.100.1"))
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || res.Header.Get("RateLimit-Limit") != "3" {
		t.Fatalf("fourth attempt: %d %v", res.StatusCode, res.Header)
	}
	if !strings.Contains(res.Body, "Too many attempts") {
		t.Error("429 page does not explain")
	}
	frag := e.login(t, "u9@example.com", "x", from("198.51.100.1"), trellistest.HTMX("login-form"))
	if frag.StatusCode != 429 || frag.Header.Get("HX-Retarget") != "#trellis-error" {
		t.Errorf("htmx 429: %d %v", frag.StatusCode, frag.Header)
	}
	// Per account: guesses at one account from many addresses are refused too.
	for i := range 3 {
		e.login(t, "jo@example.com", "wrong", from(fmt.Sprintf("203.0.113.%d", i+1)))
	}
	res = e.login(t, "jo@example.com", "jo password", from("203.0.113.99"))
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("per-account limit: %d", res.StatusCode)
	}
	if res.Header.Get("Retry-After") == "" || res.Header.Get("RateLimit-Limit") != "3" || res.Header.Get("RateLimit-Remaining") != "0" ||
		res.Header.Get("RateLimit-Policy") != "3;w=60" {
		t.Errorf("per-account 429 headers: %v", res.Header)
	}
	// Other accounts and addresses are unaffected.
	if res := e.login(t, "someone@example.com", "x", from("192.0.2.7")); res.StatusCode != 422 {
		t.Errorf("unrelated login: %d", res.StatusCode)
	}
}

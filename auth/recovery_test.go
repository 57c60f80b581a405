package auth_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/trellistest"
)

// backends runs fn on SQLite, PostgreSQL and Redis sessions.
func backends(t *testing.T, fn func(t *testing.T, newEnv func(...func(*config.Config)) *env)) {
	for _, store := range []string{"sqlite", "postgres", "redis"} {
		t.Run(store, func(t *testing.T) {
			fn(t, func(m ...func(*config.Config)) *env { return newEnv(t, store, m...) })
		})
	}
}

// resetLinkFor asks for a reset link for email as a fresh visitor and
// returns the link's path from the mail.
func (e *env) resetLinkFor(t *testing.T, email string) string {
	t.Helper()
	res := e.visitor().PostForm("/password/forgot", form("email", email))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("forgot %s: %d %s", email, res.StatusCode, res.Body)
	}
	return trellistest.LinkIn(t, e.ta.WaitForMail(email), "/password/reset/")
}

// newToken creates an API token on the account page and returns it.
func (e *env) newToken(t *testing.T) string {
	t.Helper()
	res := e.PostForm("/account/tokens", form("token_name", "ci"))
	m := regexp.MustCompile(`<code id="new-token">([^<]+)</code>`).FindStringSubmatch(res.Body)
	if m == nil {
		t.Fatalf("no new token: %d %s", res.StatusCode, res.Body)
	}
	return m[1]
}

func (e *env) bearerStatus(t *testing.T, token string) int {
	t.Helper()
	return e.visitor().Get("/account", trellistest.Header("Authorization", "Bearer "+token), trellistest.Header("Accept", "application/json")).StatusCode
}

func TestPasswordResetEndToEnd(t *testing.T) {
	backends(t, func(t *testing.T, newEnv func(...func(*config.Config)) *env) {
		e := newEnv(func(c *config.Config) { c.Logging.AccessLog, c.Logging.Level = true, "info" })
		e.ta.CreateUser("ann@example.com", "old password")
		// Another browser stays signed in, and an API token exists.
		other := e.visitor()
		other.SignIn("ann@example.com", "old password")
		token := other.newToken(t)
		if got := e.bearerStatus(t, token); got == http.StatusUnauthorized {
			t.Fatalf("fresh API token refused: %d", got)
		}

		login := e.Get("/login").AssertStatus(http.StatusOK)
		if !strings.Contains(login.Body, `href="/password/forgot"`) || !strings.Contains(login.Body, "Forgot password?") {
			t.Fatal("the login page has no Forgot password? link")
		}
		e.Get("/password/forgot").AssertStatus(http.StatusOK).AssertContains(`action="/password/forgot"`)
		e.PostForm("/password/forgot", form("email", "ANN@example.com")).AssertStatus(http.StatusOK).AssertContains("Check your email")
		m := e.ta.WaitForMail("ann@example.com")
		if !strings.Contains(m.Subject, "Reset") {
			t.Errorf("reset mail subject %q", m.Subject)
		}
		link := trellistest.LinkIn(t, m, "/password/reset/")
		if !strings.Contains(m.Text, e.URL+link) && !strings.Contains(m.Text, "http") {
			t.Errorf("the mail's link is not absolute:\n%s", m.Text)
		}
		secret := strings.TrimPrefix(link, "/password/reset/")
		if len(secret) < 43 {
			t.Fatalf("token %q is shorter than 32 bytes", secret)
		}

		// The link moves the token into a renewed session and leaves the
		// address bar. A session id known before (say, planted by an
		// attacker) does not get the token.
		e.PostForm("/session/put/planted", form("value", "yes"))
		before := e.sessionCookie()
		if before == nil {
			t.Fatal("no session before following the link")
		}
		res := e.Get(link).AssertRedirect("/password/reset")
		if res.Header.Get("Referrer-Policy") != "no-referrer" || res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("link answer headers: %v", res.Header)
		}
		if after := e.sessionCookie(); after == nil || after.Value == before.Value {
			t.Error("following the reset link did not renew the session id")
		}
		fixated := e.visitor()
		u, _ := url.Parse(e.URL)
		fixated.Client.Jar.SetCookies(u, []*http.Cookie{before})
		fixated.Get("/password/reset").AssertStatus(http.StatusBadRequest)
		page := e.Get("/password/reset").AssertStatus(http.StatusOK).AssertContains("Choose a new password").AssertContains("ann@example.com")
		if page.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("reset form Referrer-Policy %q", page.Header.Get("Referrer-Policy"))
		}
		// The same rules as register.
		e.PostForm("/password/reset", form("password", "short", "password_confirm", "short")).AssertStatus(http.StatusUnprocessableEntity).AssertContains("at least 8")
		e.PostForm("/password/reset", form("password", "new password 1", "password_confirm", "new password 2")).AssertStatus(http.StatusUnprocessableEntity).AssertContains("do not match")
		held := e.sessionCookie()
		e.PostForm("/password/reset", form("password", "new password", "password_confirm", "new password")).AssertRedirect("/")
		if got := e.who(t); got != "user:ann@example.com" {
			t.Fatalf("after the reset: %q, want signed in", got)
		}
		if c := e.sessionCookie(); c == nil || c.Value == held.Value {
			t.Error("the reset did not sign in with a fresh session id")
		}
		// Every other session and API token is gone.
		if got := other.who(t); got != "anonymous" {
			t.Errorf("the other session survived the reset: %q", got)
		}
		if got := e.bearerStatus(t, token); got != http.StatusUnauthorized {
			t.Errorf("API token after the reset: %d, want 401", got)
		}
		// Only the new password works.
		if res := e.visitor().login(t, "ann@example.com", "old password"); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("old password after the reset: %d", res.StatusCode)
		}
		e.visitor().SignIn("ann@example.com", "new password")

		// The link works once.
		v := e.visitor()
		v.Get(link).AssertStatus(http.StatusBadRequest).AssertContains("This link does not work").AssertContains(`href="/password/forgot"`)
		v.Get("/password/reset").AssertStatus(http.StatusBadRequest)
		v.PostForm("/password/reset", form("password", "third password", "password_confirm", "third password")).AssertStatus(http.StatusBadRequest)

		// The token never reaches the logs; the access log shows the
		// redacted path.
		logs := e.logs.String()
		if strings.Contains(logs, secret) {
			t.Errorf("the reset token is in the logs:\n%s", logs)
		}
		if !strings.Contains(logs, "/password/reset/[redacted]") {
			t.Errorf("the access log does not show the redacted link:\n%s", logs)
		}
	})
}

// The answer to a reset request is the same for known and unknown
// addresses; only the known one gets mail.
func TestPasswordResetEnumeration(t *testing.T) {
	backends(t, func(t *testing.T, newEnv func(...func(*config.Config)) *env) {
		e := newEnv()
		e.ta.CreateUser("known@example.com", "known password")
		answer := func(email string, opts ...trellistest.RequestOption) (int, string) {
			res := e.visitor().PostForm("/password/forgot", form("email", email), opts...)
			body := strings.ReplaceAll(res.Body, email, "EMAIL")
			body = regexp.MustCompile(`content="[^"]*"`).ReplaceAllString(body, `content=""`) // CSRF token, nonces
			body = regexp.MustCompile(`nonce="[^"]*"`).ReplaceAllString(body, `nonce=""`)
			return res.StatusCode, body
		}
		us, ub := answer("nobody@example.com")
		ks, kb := answer("known@example.com")
		if us != http.StatusOK || us != ks || ub != kb {
			t.Errorf("unknown address: %d, known: %d; bodies equal: %v\n%s\n---\n%s", us, ks, ub == kb, ub, kb)
		}
		us, ub = answer("nobody@example.com", trellistest.HTMX("forgot-form"))
		ks, kb = answer("known@example.com", trellistest.HTMX("forgot-form"))
		if us != http.StatusOK || us != ks || ub != kb {
			t.Errorf("htmx: unknown address: %d, known: %d\n%s\n---\n%s", us, ks, ub, kb)
		}
		waitFor(t, func() bool {
			n := 0
			for _, m := range e.ta.Mails() {
				if len(m.To) == 1 && m.To[0] == "known@example.com" {
					n++
				}
			}
			return n == 2
		})
		time.Sleep(300 * time.Millisecond) // let the unknown address's jobs finish too
		for _, m := range e.ta.Mails() {
			for _, to := range m.To {
				if strings.Contains(to, "nobody@") {
					t.Errorf("a mail went to the unknown address: %q", m.Subject)
				}
			}
		}
		// A malformed address is a form error, not a 500.
		e.PostForm("/password/forgot", form("email", "not an address")).AssertStatus(http.StatusUnprocessableEntity).AssertContains("valid email")
		e.PostForm("/password/forgot", form("email", "x@example.com"+strings.Repeat("a", 500))).AssertStatus(http.StatusUnprocessableEntity)
	})
}

// Expired, tampered and malformed tokens get the clear 400 page.
func TestPasswordResetBadTokens(t *testing.T) {
	backends(t, func(t *testing.T, newEnv func(...func(*config.Config)) *env) {
		e := newEnv()
		e.ta.CreateUser("ann@example.com", "old password")
		link := e.resetLinkFor(t, "ann@example.com")
		secret := strings.TrimPrefix(link, "/password/reset/")
		flip := map[byte]byte{'A': 'B'}[secret[10]]
		if flip == 0 {
			flip = 'A'
		}
		tampered := secret[:10] + string(flip) + secret[11:]
		for _, bad := range []string{tampered, secret[:42], secret + "A", "x", strings.Repeat("A", 5000), url.PathEscape("../../etc/passwd"), "%00"} {
			res := e.visitor().Get("/password/reset/" + bad)
			if res.StatusCode != http.StatusBadRequest && res.StatusCode != http.StatusNotFound {
				t.Errorf("token %.20q: %d, want 400", bad, res.StatusCode)
			}
		}
		e.visitor().Get("/password/reset/" + tampered).AssertStatus(http.StatusBadRequest).AssertContains("Ask for a new link")
		// htmx gets a fragment for the same error.
		e.visitor().Get("/password/reset/"+tampered, trellistest.HTMX("")).AssertStatus(http.StatusBadRequest).AssertFragment()

		// Expiry: the link dies when its time is up, also once it sits in
		// the session.
		v := e.visitor()
		v.Get(link).AssertRedirect("/password/reset")
		if _, err := e.app.DB.SQL.ExecContext(context.Background(), e.app.DB.Rebind(`UPDATE user_tokens SET expires_at = ?`), time.Now().Add(-time.Second).UTC()); err != nil {
			t.Fatal(err)
		}
		v.Get("/password/reset").AssertStatus(http.StatusBadRequest)
		v.PostForm("/password/reset", form("password", "new password", "password_confirm", "new password")).AssertStatus(http.StatusBadRequest)
		e.visitor().Get(link).AssertStatus(http.StatusBadRequest)
		e.visitor().SignIn("ann@example.com", "old password")

		// A link is tied to the address it went to: once the account has
		// another address, it is dead, however the address changed.
		moved := e.resetLinkFor(t, "ann@example.com")
		if _, err := e.app.DB.SQL.ExecContext(context.Background(), e.app.DB.Rebind(`UPDATE users SET email = ? WHERE email = ?`), "ann@moved.example.com", "ann@example.com"); err != nil {
			t.Fatal(err)
		}
		e.visitor().Get(moved).AssertStatus(http.StatusBadRequest)
	})
}

// Any password change kills outstanding reset links, also one already
// opened in a browser.
func TestPasswordResetAfterPasswordChange(t *testing.T) {
	backends(t, func(t *testing.T, newEnv func(...func(*config.Config)) *env) {
		e := newEnv()
		e.ta.CreateUser("ann@example.com", "old password")
		unopened := e.resetLinkFor(t, "ann@example.com")
		opened := e.resetLinkFor(t, "ann@example.com")
		v := e.visitor()
		v.Get(opened).AssertRedirect("/password/reset")

		owner := e.visitor()
		owner.SignIn("ann@example.com", "old password")
		owner.PostForm("/account/password", form("current_password", "old password", "password", "changed password", "password_confirm", "changed password")).AssertRedirect("/account")

		e.visitor().Get(unopened).AssertStatus(http.StatusBadRequest)
		v.PostForm("/password/reset", form("password", "attacker password", "password_confirm", "attacker password")).AssertStatus(http.StatusBadRequest)
		e.visitor().SignIn("ann@example.com", "changed password")

		// And a reset kills the other outstanding links.
		first := e.resetLinkFor(t, "ann@example.com")
		second := e.resetLinkFor(t, "ann@example.com")
		w := e.visitor()
		w.Get(first).AssertRedirect("/password/reset")
		w.PostForm("/password/reset", form("password", "reset password", "password_confirm", "reset password")).AssertRedirect("/")
		e.visitor().Get(second).AssertStatus(http.StatusBadRequest)
	})
}

func TestPasswordResetRateLimits(t *testing.T) {
	backends(t, func(t *testing.T, newEnv func(...func(*config.Config)) *env) {
		e := newEnv(func(c *config.Config) {
			c.RateLimit.Reset = "2/1m"
			if c.Redis.URL != "" {
				c.RateLimit.Store = "redis"
			}
			c.Server.TrustedProxies = []string{"127.0.0.1", "::1"}
		})
		from := func(ip string) trellistest.RequestOption { return trellistest.Header("X-Forwarded-For", ip) }
		ask := func(email, ip string, opts ...trellistest.RequestOption) *trellistest.Response {
			return e.visitor().PostForm("/password/forgot", form("email", email), append(opts, from(ip))...)
		}
		// Per address, whatever the IP (and whether or not it has an account).
		ask("target@example.com", "10.0.0.1").AssertStatus(http.StatusOK)
		ask("target@example.com", "10.0.0.2").AssertStatus(http.StatusOK)
		res := ask("target@example.com", "10.0.0.3").AssertStatus(http.StatusTooManyRequests).AssertContains("Too many attempts")
		if res.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		ask("other@example.com", "10.0.0.3").AssertStatus(http.StatusOK)
		// Per IP, whatever the address; htmx gets a fragment.
		ask("a@example.com", "10.0.0.9").AssertStatus(http.StatusOK)
		ask("b@example.com", "10.0.0.9").AssertStatus(http.StatusOK)
		ask("c@example.com", "10.0.0.9", trellistest.HTMX("forgot-form")).AssertStatus(http.StatusTooManyRequests).AssertFragment().AssertContains("Too many attempts")
	})
}

package auth_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/trellistest"
)

// verifiedOnly adds /members, behind RequireUser and RequireVerified.
func (e *env) verifiedOnly() {
	e.app.With(e.app.Auth.RequireUser, e.app.Auth.RequireVerified).Get("/members", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "members only")
	})
}

func TestEmailVerification(t *testing.T) {
	backends(t, func(t *testing.T, newEnv func(...func(*config.Config)) *env) {
		e := newEnv()
		e.verifiedOnly()
		e.Get("/members").AssertRedirect("/login?next=%2Fmembers")
		e.register(t, "vera@example.com", "vera password")
		m := e.ta.WaitForMail("vera@example.com")
		if !strings.Contains(m.Subject, "Confirm") {
			t.Errorf("verification mail subject %q", m.Subject)
		}
		link := trellistest.LinkIn(t, m, "/email/verify/")

		e.Get("/account").AssertStatus(http.StatusOK).AssertContains("not confirmed").AssertContains(`action="/account/verify"`)
		e.Get("/members").AssertStatus(http.StatusForbidden).AssertContains("Confirm your email address first")
		e.Get("/members", trellistest.HTMX("")).AssertStatus(http.StatusForbidden).AssertFragment().AssertRetarget("#trellis-error")
		e.Get("/members", trellistest.Header("Accept", "application/json")).AssertStatus(http.StatusForbidden).AssertContains(`"status":403`)

		// The link verifies, from any browser, once.
		res := e.visitor().Get(link).AssertStatus(http.StatusOK).AssertContains("vera@example.com is confirmed")
		if res.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("verification page Referrer-Policy %q", res.Header.Get("Referrer-Policy"))
		}
		e.Get("/members").AssertStatus(http.StatusOK).AssertContains("members only")
		acct := e.Get("/account").AssertContains("confirmed")
		if strings.Contains(acct.Body, "not confirmed") {
			t.Error("the account page still says not confirmed")
		}
		e.visitor().Get(link).AssertStatus(http.StatusBadRequest).AssertContains("This link does not work")
		u, err := e.app.Auth.Users.ByEmail(context.Background(), "vera@example.com")
		if err != nil || !u.Verified() || u.EmailVerifiedAt == nil {
			t.Fatalf("user after verification: %+v %v", u, err)
		}
		// Resending once verified sends nothing.
		e.PostForm("/account/verify", nil).AssertRedirect("/account")
		if got := e.Get("/account").Body; !strings.Contains(got, "already confirmed") {
			t.Error("resend when verified did not say so")
		}
		if strings.Contains(e.logs.String(), strings.TrimPrefix(link, "/email/verify/")) {
			t.Error("the verification token is in the logs")
		}
	})
}

func TestEmailVerificationExpiryAndResend(t *testing.T) {
	backends(t, func(t *testing.T, newEnv func(...func(*config.Config)) *env) {
		e := newEnv(func(c *config.Config) {
			c.RateLimit.Verify = "2/1m"
			if c.Redis.URL != "" {
				c.RateLimit.Store = "redis"
			}
		})
		e.verifiedOnly()
		e.register(t, "eve@example.com", "eve password")
		first := trellistest.LinkIn(t, e.ta.WaitForMail("eve@example.com"), "/email/verify/")
		if _, err := e.app.DB.SQL.ExecContext(context.Background(), e.app.DB.Rebind(`UPDATE user_tokens SET expires_at = ?`), time.Now().Add(-time.Minute).UTC()); err != nil {
			t.Fatal(err)
		}
		e.Get(first).AssertStatus(http.StatusBadRequest).AssertContains("from your account page")
		e.Get("/members").AssertStatus(http.StatusForbidden)

		// Two new links a minute, then 429 (the htmx request gets a fragment).
		e.PostForm("/account/verify", nil).AssertRedirect("/account")
		second := trellistest.LinkIn(t, e.ta.WaitForMail("eve@example.com"), "/email/verify/")
		e.PostForm("/account/verify", nil).AssertRedirect("/account")
		third := trellistest.LinkIn(t, e.ta.WaitForMail("eve@example.com"), "/email/verify/")
		e.PostForm("/account/verify", nil, trellistest.HTMX("")).AssertStatus(http.StatusTooManyRequests).AssertFragment().AssertContains("Too many attempts")
		if second == third || second == first {
			t.Error("resent links repeat")
		}
		e.Get(second).AssertStatus(http.StatusOK)
		e.Get(third).AssertStatus(http.StatusBadRequest) // verified: the others are revoked
		e.Get("/members").AssertStatus(http.StatusOK)
		// Anonymous visitors cannot resend.
		e.visitor().PostForm("/account/verify", nil).AssertRedirect("/login?next=%2F")
	})
}

func TestEmailChange(t *testing.T) {
	backends(t, func(t *testing.T, newEnv func(...func(*config.Config)) *env) {
		e := newEnv()
		e.ta.CreateUser("old@example.com", "ann password")
		e.ta.CreateUser("bob@example.com", "bob password")
		e.SignIn("old@example.com", "ann password")
		resetLink := e.resetLinkFor(t, "old@example.com")

		// Wrong password, bad or same address: 422 and no mail.
		e.PostForm("/account/email", form("email", "new@example.com", "current_password", "wrong password")).
			AssertStatus(http.StatusUnprocessableEntity).AssertContains("current password is not correct")
		e.PostForm("/account/email", form("email", "not-an-address", "current_password", "ann password"), trellistest.HTMX("email-form")).
			AssertStatus(http.StatusUnprocessableEntity).AssertFragment().AssertContains("valid email")
		e.PostForm("/account/email", form("email", "OLD@example.com", "current_password", "ann password")).
			AssertStatus(http.StatusUnprocessableEntity).AssertContains("already your address")

		e.PostForm("/account/email", form("email", "New@Example.com", "current_password", "ann password")).AssertRedirect("/account")
		e.Get("/account").AssertContains("We sent a confirmation link to new@example.com")
		confirm := e.ta.WaitForMail("new@example.com")
		link := trellistest.LinkIn(t, confirm, "/email/change/")
		notice := e.ta.WaitForMail("old@example.com")
		if !strings.Contains(notice.Text, "new@example.com") || strings.Contains(notice.Text, "/email/change/") {
			t.Errorf("notice to the old address:\n%s", notice.Text)
		}
		// Nothing changed yet.
		if u, err := e.app.Auth.Users.ByEmail(context.Background(), "old@example.com"); err != nil || u.Email != "old@example.com" {
			t.Fatalf("the address changed before confirmation: %v %v", u, err)
		}
		e.visitor().SignIn("old@example.com", "ann password")

		e.visitor().Get(link).AssertStatus(http.StatusOK).AssertContains("now new@example.com")
		u, err := e.app.Auth.Users.ByEmail(context.Background(), "new@example.com")
		if err != nil || !u.Verified() {
			t.Fatalf("after confirmation: %+v %v", u, err)
		}
		e.visitor().SignIn("new@example.com", "ann password")
		if res := e.visitor().login(t, "old@example.com", "ann password"); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("the old address still signs in: %d", res.StatusCode)
		}
		// The reset link sent to the old address is dead, and the
		// confirmation works once.
		e.visitor().Get(resetLink).AssertStatus(http.StatusBadRequest)
		e.visitor().Get(link).AssertStatus(http.StatusBadRequest)
		var left int
		if err := e.app.DB.SQL.QueryRowContext(context.Background(), e.app.DB.Rebind(`SELECT count(*) FROM user_tokens WHERE user_id = ?`), u.ID).Scan(&left); err != nil || left != 0 {
			t.Errorf("%d mailed tokens outlive the change of address (%v)", left, err)
		}
		// The signed-in session follows the account.
		if got := e.who(t); got != "user:new@example.com" {
			t.Errorf("session after the change: %q", got)
		}
	})
}

// Asking for an address another account has looks the same to the
// requester; its owner gets a notice, and nothing changes.
func TestEmailChangeToTakenAddress(t *testing.T) {
	backends(t, func(t *testing.T, newEnv func(...func(*config.Config)) *env) {
		e := newEnv()
		e.ta.CreateUser("ann@example.com", "ann password")
		e.ta.CreateUser("bob@example.com", "bob password")
		e.SignIn("ann@example.com", "ann password")
		free := e.PostForm("/account/email", form("email", "free@example.com", "current_password", "ann password"))
		taken := e.PostForm("/account/email", form("email", "bob@example.com", "current_password", "ann password"))
		if free.StatusCode != taken.StatusCode || free.Header.Get("Location") != taken.Header.Get("Location") {
			t.Errorf("free: %d %q, taken: %d %q", free.StatusCode, free.Header.Get("Location"), taken.StatusCode, taken.Header.Get("Location"))
		}
		e.Get("/account").AssertContains("We sent a confirmation link to bob@example.com")
		m := e.ta.WaitForMail("bob@example.com")
		if strings.Contains(m.Text, "/email/change/") || !strings.Contains(m.Text, "already has an account") {
			t.Errorf("mail to the taken address:\n%s", m.Text)
		}
		e.ta.WaitForMail("ann@example.com")
		for _, email := range []string{"ann@example.com", "bob@example.com"} {
			if _, err := e.app.Auth.Users.ByEmail(context.Background(), email); err != nil {
				t.Fatalf("%s after asking for a taken address: %v", email, err)
			}
		}

		// The free address is taken before its link is followed: 409, and
		// nothing changes.
		link := trellistest.LinkIn(t, e.ta.WaitForMail("free@example.com"), "/email/change/")
		e.ta.CreateUser("free@example.com", "other password")
		e.visitor().Get(link).AssertStatus(http.StatusConflict).AssertContains("Another account uses this address")
		e.visitor().SignIn("ann@example.com", "ann password")
	})
}

// RequireVerified is a Guard the routes command can list.
func TestRequireVerifiedIsAGuard(t *testing.T) {
	e := newEnv(t, "sqlite")
	h := e.app.Auth.RequireVerified(http.NotFoundHandler())
	g, ok := h.(auth.Guard)
	if !ok || g.Requirement() != "verified" || g.Next() == nil {
		t.Fatalf("RequireVerified: %T", h)
	}
}

// Every account mail is registered as a preview, rendered with sample
// data: an HTML part, a text part and, where the mail has one, an
// absolute link on the app.
func TestAccountMailPreviews(t *testing.T) {
	e := newEnv(t, "sqlite")
	links := map[string]string{
		"auth/password-reset": "/password/reset/", "auth/verify-email": "/email/verify/", "auth/change-email": "/email/change/",
		"auth/change-email-notice": "", "auth/email-taken": "",
	}
	names := e.app.Mail.Previews()
	for name, link := range links {
		if !slices.Contains(names, name) {
			t.Errorf("preview %s not registered (have %v)", name, names)
			continue
		}
		m, err := e.app.Mail.RenderPreview(context.Background(), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m.Subject == "" || !strings.Contains(m.HTML, "<p>") || strings.Contains(m.Text, "<p>") || !strings.Contains(m.Text, "Trellis") {
			t.Errorf("%s: subject %q\nHTML %s\ntext %s", name, m.Subject, m.HTML, m.Text)
		}
		if link != "" && !strings.Contains(m.Text, e.app.Mail.URL(link)) {
			t.Errorf("%s: the text part has no absolute %s link:\n%s", name, link, m.Text)
		}
	}
}

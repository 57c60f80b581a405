package trellis_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/mail"
	"github.com/trellis-go/trellis/mail/outbox"
	"github.com/trellis-go/trellis/trellistest"
)

// devProfile builds the app in development, where the outbox pages are
// open.
var devProfile = trellistest.Configure(func(c *config.Config) { c.Profile = config.Development })

// hostile is a display name an attacker registers with.
const hostile = `<script>alert(1)</script><img src=x onerror=alert(2)>`

// TestMailOutboxPages: the outbox lists, shows and frames mail with every
// attacker-controlled string escaped, the HTML part in a sandbox, and
// clears on a CSRF-protected POST.
func TestMailOutboxPages(t *testing.T) {
	trellistest.ForEachBackend(t, func(t *testing.T, b trellistest.Backend) {
		a := mailApp(t, b, devProfile)
		a.PostForm("/invite", url.Values{"email": {"mal@example.com"}, "name": {hostile}}).AssertStatus(204)
		m := a.WaitForMail("mal@example.com")

		list := a.Get("/dev/mail").AssertStatus(200).AssertFullPage().AssertContains("You are invited").AssertContains("mal@example.com")
		detailURL := fmt.Sprintf("/dev/mail/%d", m.ID)
		list.AssertContains(`href="` + detailURL + `"`)
		a.Get("/dev/mail?part=list", trellistest.HTMX("mail-list")).AssertStatus(200).AssertFragment().AssertContains(detailURL)

		detail := a.Get(detailURL).AssertStatus(200)
		detail.AssertContains(`sandbox="allow-popups allow-popups-to-escape-sandbox"`).AssertContains(`src="` + detailURL + `/html"`)
		// The text part's link is clickable and opens in a new tab.
		detail.AssertContains(`<a href="http://127.0.0.1:3000/accept?token=t0k3n&amp;who=1" target="_blank" rel="noopener noreferrer">`)
		for _, bad := range []string{"<script>alert", "<img src=x"} {
			if strings.Contains(detail.Body, bad) || strings.Contains(list.Body, bad) {
				t.Errorf("a page carries the attacker's markup %q unescaped", bad)
			}
		}

		frame := a.Get(detailURL + "/html").AssertStatus(200)
		if got := frame.Header.Get("Content-Security-Policy"); got != outbox.FrameCSP {
			t.Errorf("frame CSP = %q", got)
		}
		if got := frame.Header.Get("X-Frame-Options"); got != "SAMEORIGIN" {
			t.Errorf("frame X-Frame-Options = %q", got)
		}
		frame.AssertContains(`<base target="_blank">`).AssertContains("Hello &lt;script&gt;")

		raw := a.Get(detailURL + "/raw").AssertStatus(200).AssertContains("Subject: You are invited")
		if ct := raw.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("raw Content-Type = %q", ct)
		}

		for _, path := range []string{"/dev/mail/999999", "/dev/mail/abc", "/dev/mail/-1/html", "/dev/mail/0/raw"} {
			a.Get(path).AssertStatus(http.StatusNotFound)
		}

		a.PostForm("/dev/mail/clear", nil, trellistest.NoCSRF()).AssertStatus(http.StatusForbidden)
		if n := len(a.Mails()); n != 1 {
			t.Fatalf("a forged clear deleted mail: %d left", n)
		}
		a.PostForm("/dev/mail/clear", nil).AssertRedirect("/dev/mail")
		if n := len(a.Mails()); n != 0 {
			t.Errorf("clear left %d mails", n)
		}
		a.Get("/dev/mail").AssertStatus(200).AssertContains("No mail yet.")
	})
}

// TestMailOutboxAccess: outside development the pages are absent, unless
// mail.outbox_ui is on, and then for admins only; MountAt and Without move
// or drop them.
func TestMailOutboxAccess(t *testing.T) {
	a := mailApp(t, trellistest.SQLite)
	a.Get("/dev/mail").AssertStatus(http.StatusNotFound)
	a.Get("/dev/mail/previews").AssertStatus(http.StatusNotFound)

	a = mailApp(t, trellistest.SQLite, trellistest.Configure(func(c *config.Config) { c.Mail.OutboxUI = true }))
	if res := a.Get("/dev/mail"); res.StatusCode == http.StatusOK {
		t.Errorf("an anonymous visitor sees the outbox")
	}
	a.CreateUser("user@example.com", "correct horse battery")
	a.CreateUser("admin@example.com", "correct horse battery", "admin")
	a.SignIn("user@example.com", "correct horse battery")
	a.Get("/dev/mail").AssertStatus(http.StatusForbidden)
	a.Get("/dev/mail/previews").AssertStatus(http.StatusForbidden)
	a.PostForm("/dev/mail/clear", nil).AssertStatus(http.StatusForbidden)
	a.SignOut()
	a.SignIn("admin@example.com", "correct horse battery")
	a.Get("/dev/mail").AssertStatus(http.StatusOK).AssertContains("Mail outbox")

	moved := mailApp(t, trellistest.SQLite, devProfile, trellistest.Options(trellis.MountAt(trellis.MailOutbox, "/ops/mail")))
	moved.Get("/dev/mail").AssertStatus(http.StatusNotFound)
	moved.Get("/ops/mail").AssertStatus(http.StatusOK).AssertContains(`href="/ops/mail/previews"`)

	off := mailApp(t, trellistest.SQLite, devProfile, trellistest.Options(trellis.Without(trellis.MailOutbox)))
	off.Get("/dev/mail").AssertStatus(http.StatusNotFound)
}

// TestMailPreviews: every registered preview renders with its sample data,
// escaped, its HTML framed like the outbox's; a broken preview says so
// instead of failing the page.
func TestMailPreviews(t *testing.T) {
	a := mailApp(t, trellistest.SQLite, devProfile)
	a.App.Mail.Preview("invitation", func(ctx context.Context) mail.Message {
		return mail.Message{To: []string{"sample@example.com"}, Subject: "Invitation <sample>", HTML: inviteHTML(hostile, a.App.Mail.URL("/accept?token=sample"))}
	})
	a.App.Mail.Preview("broken one", func(ctx context.Context) mail.Message { return mail.Message{Subject: "no recipient"} })

	page := a.Get("/dev/mail/previews").AssertStatus(200).AssertContains("invitation").AssertContains("Invitation &lt;sample&gt;")
	page.AssertContains(`src="/dev/mail/previews/invitation/html"`).AssertContains("This preview fails to render").AssertContains("no To address")
	page.AssertContains(`href="http://127.0.0.1:3000/accept?token=sample"`)
	if strings.Contains(page.Body, "<script>alert") {
		t.Error("the previews page carries the attacker's markup unescaped")
	}
	frame := a.Get("/dev/mail/previews/invitation/html").AssertStatus(200).AssertContains("Hello &lt;script&gt;")
	if frame.Header.Get("Content-Security-Policy") != outbox.FrameCSP {
		t.Errorf("preview frame CSP = %q", frame.Header.Get("Content-Security-Policy"))
	}
	a.Get("/dev/mail/previews/broken%20one/html").AssertStatus(http.StatusUnprocessableEntity)
	a.Get("/dev/mail/previews/nope/html").AssertStatus(http.StatusNotFound)
	if n := len(a.Mails()); n != 0 {
		t.Errorf("rendering previews stored %d mails", n)
	}
}

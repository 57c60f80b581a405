package trellistest

import (
	"context"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	trellismail "github.com/trellis-go/trellis/mail"
)

// mailWait is how long WaitForMail waits.
const mailWait = 10 * time.Second

// outbox returns the app's outbox, failing the test when mail goes over
// SMTP instead.
func (a *App) outbox() *trellismail.Outbox {
	a.t.Helper()
	if a.App.Mail == nil {
		a.t.Fatal("the app has no mailer (built WithoutDatabase?)")
	}
	o := a.App.Mail.Outbox()
	if o == nil {
		a.t.Fatal("the app sends mail over SMTP (mail.smtp_url is set); there is no outbox to read")
	}
	return o
}

// Mails returns every mail in the app's outbox, newest first.
func (a *App) Mails() []trellismail.Mail {
	a.t.Helper()
	list, err := a.outbox().List(context.Background(), 0)
	if err != nil {
		a.t.Fatalf("reading the outbox: %v", err)
	}
	return list
}

// WaitForMail waits (up to 10 s) for the newest outbox mail addressed to
// to (as To, Cc or Bcc; "ann@example.com" or "Ann <ann@example.com>") that
// arrived after the previous WaitForMail for that address, and fails the
// test on timeout. It starts the app's job workers if no request has yet.
func (a *App) WaitForMail(to string) trellismail.Mail {
	a.t.Helper()
	addr := to
	if p, err := mail.ParseAddress(to); err == nil {
		addr = p.Address
	}
	addr = strings.ToLower(addr)
	o := a.outbox()
	if err := a.App.Start(context.Background()); err != nil {
		a.t.Fatalf("starting the app: %v", err)
	}
	a.mailMu.Lock()
	after := a.mailSeen[addr]
	a.mailMu.Unlock()
	deadline := time.Now().Add(mailWait)
	for {
		list, err := o.List(context.Background(), 0)
		if err != nil {
			a.t.Fatalf("reading the outbox: %v", err)
		}
		for _, m := range list {
			if m.ID <= after {
				break
			}
			if addressedTo(m, addr) {
				a.mailMu.Lock()
				if a.mailSeen == nil {
					a.mailSeen = map[string]int64{}
				}
				a.mailSeen[addr] = m.ID
				a.mailMu.Unlock()
				return m
			}
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("no mail to %s arrived within %s (outbox: %d mails)", to, mailWait, len(list))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// addressedTo reports whether addr (lower case) is among m's recipients.
func addressedTo(m trellismail.Mail, addr string) bool {
	for _, r := range m.Recipients {
		if strings.ToLower(r) == addr {
			return true
		}
	}
	return false
}

// linkRE finds absolute http(s) links in text.
var linkRE = regexp.MustCompile(`https?://[^\s<>()"']+`)

// LinkIn returns the first link in m's text part whose path starts with
// pathPrefix, as path and query only (ready for the test client), and
// fails the test when there is none.
func LinkIn(t testing.TB, m trellismail.Mail, pathPrefix string) string {
	t.Helper()
	for _, raw := range linkRE.FindAllString(m.Text, -1) {
		u, err := url.Parse(strings.TrimRight(raw, ".,;:!?"))
		if err != nil || !strings.HasPrefix(u.Path, pathPrefix) {
			continue
		}
		return u.RequestURI()
	}
	t.Fatalf("mail %q has no link to %s…; its text part:\n%s", m.Subject, pathPrefix, m.Text)
	return ""
}

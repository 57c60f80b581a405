package trellis_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/internal/smtptest"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/mail"
	"github.com/trellis-go/trellis/trellistest"
)

// smtpConfig points the app at srv and makes job retries quick.
func smtpConfig(srv *smtptest.Server, userinfo, tlsMode string) trellistest.AppOption {
	return trellistest.Configure(func(c *config.Config) {
		c.Mail.SMTPURL = fmt.Sprintf("smtp://%s127.0.0.1:%s?tls=%s", userinfo, srv.Port(), tlsMode)
		c.Jobs.PollInterval, c.Jobs.FetchCooldown = 50*time.Millisecond, 10*time.Millisecond
		c.Jobs.RetryBase, c.Jobs.RetryMax = 50*time.Millisecond, 200*time.Millisecond
	})
}

// mailJob waits until the app's only mail job reaches status and returns
// its detail.
func mailJob(t *testing.T, app *trellis.App, status jobs.Status) *jobs.Detail {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := app.Jobs.List(context.Background(), jobs.ListParams{Kind: mail.JobKind})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Jobs) == 1 && res.Jobs[0].Status == status {
			d, err := app.Jobs.Get(context.Background(), res.Jobs[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail job reached %s: %+v", status, res.Jobs)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestMailOverSMTP delivers through a real SMTP server on loopback with
// STARTTLS (trusting its certificate through mail.ca_file) and implicit TLS
// (through WithMailTLS), both with AUTH PLAIN.
func TestMailOverSMTP(t *testing.T) {
	for _, mode := range []string{smtptest.StartTLS, smtptest.ImplicitTLS} {
		t.Run(mode, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{TLS: mode, Username: "mailer", Password: "s3cret pass"})
			opts := []trellistest.AppOption{smtpConfig(srv, "mailer:s3cret%20pass@", mode)}
			if mode == smtptest.StartTLS {
				ca := srv.WriteCA(t, t.TempDir())
				opts = append(opts, trellistest.Configure(func(c *config.Config) { c.Mail.CAFile = ca }))
			} else {
				opts = append(opts, trellistest.Options(trellis.WithMailTLS(&tls.Config{RootCAs: srv.Pool, MinVersion: tls.VersionTLS12})))
			}
			a := mailApp(t, trellistest.SQLite, opts...)
			if a.App.Mail.Outbox() != nil {
				t.Fatal("an app with mail.smtp_url has an outbox")
			}
			a.PostForm("/invite", url.Values{"email": {"bob@example.com"}, "name": {"Bob"}}).AssertStatus(204)
			got := srv.WaitFor(t, 1, 15*time.Second)
			m := got[0]
			if m.From != "no-reply@localhost" || len(m.To) != 1 || m.To[0] != "bob@example.com" {
				t.Errorf("envelope: from %q to %v", m.From, m.To)
			}
			if !strings.Contains(string(m.Data), "Subject: You are invited") || !strings.Contains(string(m.Data), "text/html") {
				t.Errorf("data:\n%s", m.Data)
			}
			mailJob(t, a.App, jobs.StatusCompleted)
		})
	}
}

// TestMailSMTPWithoutTrustFails: a self-signed certificate the client was
// not told to trust is not accepted; the job retries (an operator may fix
// the trust) until its attempts run out.
func TestMailSMTPWithoutTrustFails(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.StartTLS})
	a := mailApp(t, trellistest.SQLite, smtpConfig(srv, "", "starttls"))
	a.PostForm("/invite", url.Values{"email": {"bob@example.com"}}).AssertStatus(204)
	d := mailJob(t, a.App, jobs.StatusDead)
	if d.Attempt != d.MaxAttempts || d.Attempt < 2 || !strings.Contains(d.Errors[0].Error, "certificate") {
		t.Errorf("attempt %d of %d (a TLS failure is retried), errors %+v", d.Attempt, d.MaxAttempts, d.Errors)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d mails delivered over an untrusted connection", n)
	}
}

// TestMailSMTPTemporaryFailureRetries: the server answers 451 twice, then
// accepts; the job retries and the mail arrives exactly once.
func TestMailSMTPTemporaryFailureRetries(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{Reply: func(n int) error {
		if n <= 2 {
			return smtptest.Temporary("Greylisted, try again later")
		}
		return nil
	}})
	a := mailApp(t, trellistest.SQLite, smtpConfig(srv, "", "none"))
	a.PostForm("/invite", url.Values{"email": {"carl@example.com"}}).AssertStatus(204)
	srv.WaitFor(t, 1, 15*time.Second)
	d := mailJob(t, a.App, jobs.StatusCompleted)
	if d.Attempt != 3 || len(d.Errors) != 2 || !strings.Contains(d.Errors[0].Error, "451") || !strings.Contains(d.Errors[0].Error, "Greylisted") {
		t.Errorf("attempt %d, errors %+v", d.Attempt, d.Errors)
	}
	time.Sleep(300 * time.Millisecond) // a duplicate would show by now
	if n := len(srv.Messages()); n != 1 || srv.Seen() != 3 {
		t.Errorf("accepted %d mails of %d offered; want 1 of 3", n, srv.Seen())
	}
}

// TestMailSMTPPermanentFailureDeadLetters: a 550 reply dead-letters the job
// at once, with the server's reply in its error for the jobs dashboard.
func TestMailSMTPPermanentFailureDeadLetters(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{Reply: func(int) error { return smtptest.Permanent("Mailbox dan@example.com does not exist") }})
	a := mailApp(t, trellistest.SQLite, smtpConfig(srv, "", "none"))
	a.PostForm("/invite", url.Values{"email": {"dan@example.com"}}).AssertStatus(204)
	d := mailJob(t, a.App, jobs.StatusDead)
	if d.Attempt != 1 || len(d.Errors) != 1 {
		t.Fatalf("attempt %d, errors %+v: want one attempt", d.Attempt, d.Errors)
	}
	if e := d.Errors[0].Error; !strings.Contains(e, "550") || !strings.Contains(e, "Mailbox dan@example.com does not exist") {
		t.Errorf("the error does not carry the server's reply: %q", e)
	}
	if srv.Seen() != 1 {
		t.Errorf("offered %d times, want 1", srv.Seen())
	}
	// The admin API shows the same reply to admins.
	a.CreateUser("admin@example.com", "correct horse battery", "admin")
	a.SignIn("admin@example.com", "correct horse battery")
	a.Get(fmt.Sprintf("/admin/jobs/%d", d.ID)).AssertStatus(200).AssertContains("does not exist")
}

// TestMailSMTPWrongPasswordDeadLetters: 535 (authentication failed) is a
// 5xx: retrying with the same password cannot succeed, so the job is
// dead-lettered at once.
func TestMailSMTPWrongPasswordDeadLetters(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.ImplicitTLS, Username: "mailer", Password: "right"})
	a := mailApp(t, trellistest.SQLite, smtpConfig(srv, "mailer:wrong@", "tls"),
		trellistest.Options(trellis.WithMailTLS(&tls.Config{RootCAs: srv.Pool, MinVersion: tls.VersionTLS12})))
	a.PostForm("/invite", url.Values{"email": {"erin@example.com"}}).AssertStatus(204)
	d := mailJob(t, a.App, jobs.StatusDead)
	if d.Attempt != 1 || len(d.Errors) != 1 || !strings.Contains(d.Errors[0].Error, "535") {
		t.Errorf("attempt %d, errors %+v", d.Attempt, d.Errors)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d mails accepted without authentication", n)
	}
}

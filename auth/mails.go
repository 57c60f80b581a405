package auth

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis/mail"
	"github.com/trellis-go/trellis/ui"
)

// accountMail is one mail auth sends.
type accountMail struct {
	To, Subject string
	HTML, Text  templ.Component
}

// view fills in the mail view for user u (nil: a stranger).
func (a *Auth) view(u *User, email, link string, ttl time.Duration) ui.MailView {
	v := ui.MailView{Site: a.opts.SiteName, Name: "there", Email: email, Link: link, Expires: humanDuration(ttl)}
	if u != nil {
		v.Name = u.DisplayName()
	}
	return v
}

func (a *Auth) resetMail(u *User, link string) accountMail {
	v := a.view(u, u.Email, link, a.opts.ResetTokenTTL)
	return accountMail{To: u.Email, Subject: "Reset your " + v.Site + " password", HTML: ui.ResetMailHTML(v), Text: ui.ResetMailText(v)}
}

func (a *Auth) verifyMail(u *User, link string) accountMail {
	v := a.view(u, u.Email, link, a.opts.VerifyTokenTTL)
	return accountMail{To: u.Email, Subject: "Confirm your " + v.Site + " address", HTML: ui.VerifyMailHTML(v), Text: ui.VerifyMailText(v)}
}

func (a *Auth) changeMail(u *User, email, link string) accountMail {
	v := a.view(u, email, link, a.opts.VerifyTokenTTL)
	return accountMail{To: email, Subject: "Confirm your new " + v.Site + " address", HTML: ui.ChangeMailHTML(v), Text: ui.ChangeMailText(v)}
}

func (a *Auth) changeNoticeMail(u *User, email string) accountMail {
	v := a.view(u, email, "", 0)
	return accountMail{To: u.Email, Subject: "Your " + v.Site + " address is about to change", HTML: ui.ChangeNoticeHTML(v), Text: ui.ChangeNoticeText(v)}
}

func (a *Auth) emailTakenMail(email string) accountMail {
	v := a.view(nil, email, "", 0)
	return accountMail{To: email, Subject: "Someone tried to use this address on " + v.Site, HTML: ui.EmailTakenHTML(v), Text: ui.EmailTakenText(v)}
}

// humanDuration says d in words: "1 hour", "48 hours", "30 minutes".
func humanDuration(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.Itoa(n) + " " + unit + "s"
	}
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int(d/time.Minute), "minute")
	}
	return plural(int(d/time.Second), "second")
}

// sendTx renders m and enqueues it in tx, so it goes out only if tx
// commits. Without a mailer it sends nothing.
func (a *Auth) sendTx(ctx context.Context, tx *sql.Tx, m accountMail) error {
	if a.opts.Mail == nil {
		return nil
	}
	if err := a.opts.Mail.SendTx(ctx, tx, m.message()); err != nil {
		return fmt.Errorf("auth: sending %q: %w", m.Subject, err)
	}
	return nil
}

func (m accountMail) message() mail.Message {
	return mail.Message{To: []string{m.To}, Subject: m.Subject, HTML: m.HTML, Text: m.Text}
}

// link is the absolute URL of path on this app (app.base_url), or path
// itself without a mailer.
func (a *Auth) link(path string) string {
	if a.opts.Mail == nil {
		return path
	}
	return a.opts.Mail.URL(path)
}

// registerPreviews shows every account mail at /dev/mail/previews, with
// sample data.
func (a *Auth) registerPreviews() {
	if a.opts.Mail == nil {
		return
	}
	sample := &User{ID: 1, Email: "ann@example.com", Name: "Ann Example"}
	token := strings.Repeat("x", 43)
	for name, build := range map[string]func() accountMail{
		"auth/password-reset": func() accountMail { return a.resetMail(sample, a.link(a.Paths().Reset()+"/"+token)) },
		"auth/verify-email":   func() accountMail { return a.verifyMail(sample, a.link(a.Paths().Verify()+"/"+token)) },
		"auth/change-email": func() accountMail {
			return a.changeMail(sample, "ann@new.example.com", a.link(a.Paths().ChangeEmail()+"/"+token))
		},
		"auth/change-email-notice": func() accountMail { return a.changeNoticeMail(sample, "ann@new.example.com") },
		"auth/email-taken":         func() accountMail { return a.emailTakenMail("ann@example.com") },
	} {
		a.opts.Mail.Preview(name, func(context.Context) mail.Message { return build().message() })
	}
}

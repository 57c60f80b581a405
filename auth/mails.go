package auth

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/a-h/templ"
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

// sendTx enqueues m in tx. PLACEHOLDER until the mail core is merged.
func (a *Auth) sendTx(ctx context.Context, tx *sql.Tx, m accountMail) error { return nil }

// link is the absolute URL of path. PLACEHOLDER until the mail core is merged.
func (a *Auth) link(path string) string { return path }

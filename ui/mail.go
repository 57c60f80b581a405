package ui

import (
	"context"
	"io"
	"strings"

	"github.com/a-h/templ"
)

// MailView is what the account mails show.
type MailView struct {
	// Site is the app's name.
	Site string
	// Name greets the recipient (their display name or address).
	Name string
	// Link is the absolute link the mail carries, if any.
	Link string
	// Email is the address the mail is about.
	Email string
	// Expires says how long the link works, such as "1 hour".
	Expires string
}

// text is a plain-text mail part: the lines joined with newlines, written
// as they are (no HTML escaping).
func text(lines ...string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
		return err
	})
}

// ResetMailText is the plain-text part of the password-reset mail.
func ResetMailText(v MailView) templ.Component {
	return text("Hello "+v.Name+",", "",
		"Someone (hopefully you) asked to reset the password of your "+v.Site+" account, "+v.Email+".",
		"Choose a new password here:", "", v.Link, "",
		"The link works once, for "+v.Expires+". If you did not ask, ignore this mail: your password stays as it is.",
		"", "-- ", v.Site)
}

// VerifyMailText is the plain-text part of the address-confirmation mail.
func VerifyMailText(v MailView) templ.Component {
	return text("Hello "+v.Name+",", "",
		"Please confirm that "+v.Email+" is the address of your "+v.Site+" account:", "", v.Link, "",
		"The link works for "+v.Expires+". If you did not create an account, ignore this mail.",
		"", "-- ", v.Site)
}

// ChangeMailText is the plain-text part of the mail to a new address.
func ChangeMailText(v MailView) templ.Component {
	return text("Hello "+v.Name+",", "",
		"You asked to make "+v.Email+" the address of your "+v.Site+" account. Nothing changes until you confirm:", "", v.Link, "",
		"The link works for "+v.Expires+". If you did not ask, ignore this mail.",
		"", "-- ", v.Site)
}

// ChangeNoticeText is the plain-text part of the notice to the current
// address.
func ChangeNoticeText(v MailView) templ.Component {
	return text("Hello "+v.Name+",", "",
		"Someone signed in to your "+v.Site+" account asked to change its address to "+v.Email+". It changes only if that address confirms.",
		"If this was not you, sign in and change your password now: whoever did it knows it.",
		"", "-- ", v.Site)
}

// EmailTakenText is the plain-text part of the notice to an address that
// already has an account.
func EmailTakenText(v MailView) templ.Component {
	return text("Hello,", "",
		"Someone asked to move another "+v.Site+" account to "+v.Email+", but this address already has an account, so nothing changed.",
		"If that was you, sign in to the account this address already has. Otherwise you can ignore this mail.",
		"", "-- ", v.Site)
}

package ui

import (
	"github.com/a-h/templ"
	"strconv"
	"time"

	"github.com/trellis-go/trellis/form"
	"github.com/trellis-go/trellis/session"
)

// AuthPaths is the prefix the account pages are mounted under ("" for the
// root); its methods build their URLs.
type AuthPaths string

// Login is the login page.
func (p AuthPaths) Login() string { return string(p) + "/login" }

// Register is the registration page.
func (p AuthPaths) Register() string { return string(p) + "/register" }

// Logout is where the log-out form posts.
func (p AuthPaths) Logout() string { return string(p) + "/logout" }

// Account is the account page; the account forms post below it.
func (p AuthPaths) Account() string { return string(p) + "/account" }

// Forgot is the "forgot password" form.
func (p AuthPaths) Forgot() string { return string(p) + "/password/forgot" }

// Reset is the new-password form; reset links are Reset()+"/{token}".
func (p AuthPaths) Reset() string { return string(p) + "/password/reset" }

// Verify prefixes the links that confirm an account's address:
// Verify()+"/{token}".
func (p AuthPaths) Verify() string { return string(p) + "/email/verify" }

// ChangeEmail prefixes the links that confirm a new address:
// ChangeEmail()+"/{token}".
func (p AuthPaths) ChangeEmail() string { return string(p) + "/email/change" }

// AccountView is what the account page shows.
type AccountView struct {
	// Paths locates the account forms.
	Paths AuthPaths
	Email string
	Name  string
	Roles []string
	Since time.Time
	// VerifiedAt is when the address was confirmed; nil when it is not.
	VerifiedAt *time.Time
	Tokens     []TokenView
	Created    string // a token secret just created, shown once
	// Password and Token are the password-change and token forms.
	Password *form.Form
	Token    *form.Form
	// EmailChange is the change-of-address form.
	EmailChange *form.Form
	// NoPassword is set for accounts that sign in through providers only:
	// the page explains how to add a password instead of showing the
	// password and address change forms, which ask for the current one.
	NoPassword bool
	// Sections are more cards after the password card, such as the
	// sign-in providers the account is linked to.
	Sections []templ.Component
}

// ProviderButton is one "Sign in with …" button.
type ProviderButton struct {
	// Name is the provider's configured name.
	Name string
	// Label is the provider's name for people ("GitHub").
	Label string
	// Action is the URL the button's form posts to.
	Action string
}

// TokenView is one API token on the account page.
type TokenView struct {
	ID        int64
	Name      string
	CreatedAt time.Time
	LastUsed  *time.Time
}

func flashClass(l session.Level) string { return "flash flash-" + string(l) }

func tokenRevokeURL(p AuthPaths, id int64) string {
	return p.Account() + "/tokens/" + strconv.FormatInt(id, 10) + "/revoke"
}

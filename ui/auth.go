package ui

import (
	"strconv"
	"time"

	"github.com/trellis-go/trellis/session"
)

// AuthForm is the state of a login or registration form.
type AuthForm struct {
	// Email and Name are echoed back; passwords never are.
	Email string
	Name  string
	// Next is where to go after signing in.
	Next string
	// Errors maps field names to messages.
	Errors map[string]string
	// Error is a message about the whole form.
	Error string
	// Registration says whether to link to /register.
	Registration bool
}

// AccountView is what the account page shows.
type AccountView struct {
	Email   string
	Name    string
	Roles   []string
	Since   time.Time
	Tokens  []TokenView
	Created string // a token secret just created, shown once
	Errors  map[string]string
}

// TokenView is one API token on the account page.
type TokenView struct {
	ID        int64
	Name      string
	CreatedAt time.Time
	LastUsed  *time.Time
}

func flashClass(l session.Level) string { return "flash flash-" + string(l) }

func fieldID(name string) string { return "field-" + name }

func errorID(name string) string { return "field-" + name + "-error" }

func ariaInvalid(msg string) string {
	if msg != "" {
		return "true"
	}
	return "false"
}

func tokenRevokeURL(id int64) string {
	return "/account/tokens/" + strconv.FormatInt(id, 10) + "/revoke"
}

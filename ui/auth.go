package ui

import (
	"strconv"
	"time"

	"github.com/trellis-go/trellis/form"
	"github.com/trellis-go/trellis/session"
)

// AccountView is what the account page shows.
type AccountView struct {
	Email   string
	Name    string
	Roles   []string
	Since   time.Time
	Tokens  []TokenView
	Created string // a token secret just created, shown once
	// Password and Token are the password-change and token forms.
	Password *form.Form
	Token    *form.Form
}

// TokenView is one API token on the account page.
type TokenView struct {
	ID        int64
	Name      string
	CreatedAt time.Time
	LastUsed  *time.Time
}

func flashClass(l session.Level) string { return "flash flash-" + string(l) }

func tokenRevokeURL(id int64) string {
	return "/account/tokens/" + strconv.FormatInt(id, 10) + "/revoke"
}

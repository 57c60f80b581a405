package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/trellis-go/trellis/form"
	"github.com/trellis-go/trellis/middleware"
	"github.com/trellis-go/trellis/ratelimit"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/session"
	"github.com/trellis-go/trellis/ui"
)

// keyResetHash is the session key holding the SHA-256 of the reset token
// the browser arrived with, so the token leaves the address bar at once.
const keyResetHash = "auth.reset_token_hash"

// Password reset, as OWASP's Forgot Password cheat sheet describes it:
//
//   - POST /password/forgot answers the same page with the same status for
//     every well-formed address, and does the same work for each: it
//     enqueues one job (resetRequest) that looks the address up and, for an
//     account, stores a token and enqueues the mail in one transaction. So
//     neither the answer nor its timing says whether an account exists.
//   - The token is 32 random bytes; only its SHA-256 is stored, with an
//     expiry (auth.reset_token_ttl), the address it went to and a
//     fingerprint of the password hash: any password change, or a change
//     of address, kills it. It works once.
//   - GET /password/reset/{token} moves the token out of the URL into the
//     session (renewed, so a fixated session id learns nothing) and
//     redirects to /password/reset: the token is not in the browser's
//     history, and no later page can leak it in a Referer. The access log
//     redacts it (see RedactedPaths).
//   - POST /password/reset sets the new password (the register rules),
//     revokes every session and API token, and signs the user in with a
//     fresh session id.

// RedactedPaths lists the path prefixes, for account pages mounted at
// prefix, whose remainder is a secret token from a mail; logs must not
// show what follows them.
func RedactedPaths(prefix string) []string {
	p := ui.AuthPaths(prefix)
	return []string{p.Reset() + "/", p.Verify() + "/", p.ChangeEmail() + "/"}
}

// forgotPage shows the "forgot password" form.
func (a *Auth) forgotPage(w http.ResponseWriter, r *http.Request) {
	a.opts.Render.Page(w, r, "Reset your password", ui.ForgotPage(a.Paths(), form.NewForm(nil)))
}

func (a *Auth) forgotView(f *form.Form) render.View {
	return render.View{Title: "Reset your password", Content: ui.ForgotPage(a.Paths(), f), Partial: ui.ForgotForm(a.Paths(), f)}
}

// forgot asks for a reset link. Its answer depends only on the address
// being well formed and on the rate limits, never on an account existing.
func (a *Auth) forgot(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	email := NormalizeEmail(r.PostFormValue("email"))
	f := form.NewForm(url.Values{"email": {email}})
	if msg := ValidateEmail(email); msg != "" {
		f.AddError("email", msg)
		a.opts.Forms.Invalid(w, r, f, a.forgotView)
		return
	}
	// Per address, known or not, so that the limit reveals nothing either.
	if !a.allow(w, r, "reset-address:"+email, a.opts.ResetRate) {
		return
	}
	if err := a.requestReset(ctx, email); err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	a.opts.Logger.InfoContext(ctx, "password reset requested", slog.String("client_ip", middleware.ClientIPFrom(r).String()))
	w.Header().Set("Cache-Control", "no-store")
	a.opts.Render.View(w, r, render.View{Title: "Check your email", Content: ui.ForgotSentPage(a.Paths(), email), Partial: ui.ForgotSent(a.Paths(), email)})
}

// allow counts one event against key at rate; it answers 429 and returns
// false when the limit is reached. A limiter failure lets the request
// through (and is logged), as for every auth limit.
func (a *Auth) allow(w http.ResponseWriter, r *http.Request, key string, rate ratelimit.Rate) bool {
	if a.opts.Limiter == nil || rate.Limit == 0 {
		return true
	}
	res, err := a.opts.Limiter.Allow(r.Context(), key, rate)
	switch {
	case err != nil:
		a.limiterFailed(w, r, err)
	case !res.Allowed:
		ratelimit.SetHeaders(w.Header(), rate, res)
		a.tooMany(w, r, res)
		return false
	}
	return true
}

// sendReset stores a reset token for the account with address email, if
// there is one, and enqueues its mail in the same transaction. For an
// unknown address it does nothing.
func (a *Auth) sendReset(ctx context.Context, email string) error {
	u, err := a.Users.ByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return a.inTx(ctx, func(tx *sql.Tx) error {
		secret, err := a.MailTokens.Issue(ctx, tx, PurposeReset, u, u.Email, a.opts.ResetTokenTTL)
		if err != nil {
			return err
		}
		return a.sendTx(ctx, tx, a.resetMail(u, a.link(a.Paths().Reset()+"/"+secret)))
	})
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (a *Auth) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := a.opts.DB.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	return nil
}

// noLeak keeps a page carrying (or reached with) a token out of caches
// and Referer headers.
func noLeak(w http.ResponseWriter) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
}

// invalidLink answers a link that is malformed, unknown, expired or used:
// a 400 page saying so, with a way to ask for a new one.
func (a *Auth) invalidLink(w http.ResponseWriter, r *http.Request, again, againLabel string) {
	noLeak(w)
	a.opts.Render.View(w, r, render.View{Status: http.StatusBadRequest, Title: "This link does not work",
		Content: ui.InvalidLinkPage(again, againLabel)})
}

// resetLink takes the token out of the URL: when it is valid, its hash
// goes into a renewed session and the browser is sent to the form.
func (a *Auth) resetLink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	secret := r.PathValue("token")
	if !wellFormed(secret) {
		a.invalidLink(w, r, a.Paths().Forgot(), "Ask for a new link")
		return
	}
	_, _, err := a.validReset(ctx, hashToken(secret))
	if errors.Is(err, ErrInvalidToken) {
		a.invalidLink(w, r, a.Paths().Forgot(), "Ask for a new link")
		return
	}
	if err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	// A session id planted before the user clicked would otherwise carry
	// the reset token to whoever planted it.
	if err := a.opts.Sessions.RenewToken(ctx); err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	a.opts.Sessions.Put(ctx, keyResetHash, hashToken(secret))
	noLeak(w)
	http.Redirect(w, r, a.Paths().Reset(), http.StatusSeeOther)
}

// sessionReset returns the reset token the session holds when it is still
// valid (see validReset).
func (a *Auth) sessionReset(ctx context.Context) (*MailToken, *User, error) {
	return a.validReset(ctx, a.opts.Sessions.GetString(ctx, keyResetHash))
}

// validReset returns the reset token with SHA-256 hash and its account
// when the token is unexpired and the account's address and password are
// still those it was sent for; else ErrInvalidToken.
func (a *Auth) validReset(ctx context.Context, hash string) (*MailToken, *User, error) {
	t, err := a.MailTokens.FindHash(ctx, a.opts.DB.SQL, PurposeReset, hash)
	if err != nil {
		return nil, nil, err
	}
	u, err := a.Users.ByID(ctx, t.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrInvalidToken
	}
	if err != nil {
		return nil, nil, err
	}
	if !resetValidFor(t, u) {
		return nil, nil, ErrInvalidToken
	}
	return t, u, nil
}

// resetValidFor reports whether reset token t may still change u's
// password: u's password and address are those the token was sent for.
func resetValidFor(t *MailToken, u *User) bool {
	return t.PasswordFingerprint == passwordFingerprint(u.PasswordHash) && t.Email == u.Email
}

func (a *Auth) resetView(email string, f *form.Form) render.View {
	return render.View{Title: "Choose a new password", Content: ui.ResetPage(a.Paths(), email, f), Partial: ui.ResetForm(a.Paths(), email, f)}
}

// resetPage shows the new-password form for the session's reset token.
func (a *Auth) resetPage(w http.ResponseWriter, r *http.Request) {
	_, u, err := a.sessionReset(r.Context())
	if errors.Is(err, ErrInvalidToken) {
		a.invalidLink(w, r, a.Paths().Forgot(), "Ask for a new link")
		return
	}
	if err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	noLeak(w)
	a.opts.Render.View(w, r, a.resetView(u.Email, form.NewForm(nil)))
}

// reset sets the new password: in one transaction it uses up the token
// (checking it still matches the account), stores the hash, ends every
// session (by bumping the session version) and deletes every API token
// and reset token. Then this browser is signed in with a new session id.
func (a *Auth) reset(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	_, u, err := a.sessionReset(ctx)
	if errors.Is(err, ErrInvalidToken) {
		a.invalidLink(w, r, a.Paths().Forgot(), "Ask for a new link")
		return
	}
	if err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	noLeak(w)
	password, f := newPassword(r)
	if !f.Valid() {
		a.opts.Forms.Invalid(w, r, f, func(f *form.Form) render.View { return a.resetView(u.Email, f) })
		return
	}
	hash, err := a.opts.Hasher.Hash(ctx, password)
	if err != nil {
		a.hashFailed(w, r, err)
		return
	}
	u, err = a.applyReset(ctx, a.opts.Sessions.GetString(ctx, keyResetHash), hash)
	if errors.Is(err, ErrInvalidToken) {
		a.invalidLink(w, r, a.Paths().Forgot(), "Ask for a new link")
		return
	}
	if err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	a.opts.Sessions.Remove(ctx, keyResetHash)
	if err := a.Login(ctx, u); err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	if err := a.forgetDevices(ctx, u.ID); err != nil {
		a.opts.Logger.WarnContext(ctx, "password reset: devices not forgotten", slog.Any("error", err))
	}
	if err := a.rememberDevice(ctx, w, r, u.ID); err != nil {
		a.opts.Logger.WarnContext(ctx, "password reset: device cookie not issued", slog.Any("error", err))
	}
	a.opts.Logger.InfoContext(ctx, "password reset", slog.Int64("user_id", u.ID), slog.String("client_ip", middleware.ClientIPFrom(r).String()))
	a.opts.Sessions.Flash(ctx, session.Success, "Your password was changed and you are signed in. Every other session was logged out and API tokens revoked.")
	render.Redirect(w, r, "/")
}

// applyReset uses the reset token with SHA-256 hash to set passwordHash,
// and returns the updated account.
func (a *Auth) applyReset(ctx context.Context, hash, passwordHash string) (*User, error) {
	var id int64
	err := a.inTx(ctx, func(tx *sql.Tx) error {
		t, err := a.MailTokens.Take(ctx, tx, PurposeReset, hash)
		if err != nil {
			return err
		}
		var current, email string
		err = tx.QueryRowContext(ctx, a.opts.DB.Rebind(`SELECT password_hash, email FROM users WHERE id = ?`), t.UserID).Scan(&current, &email)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrInvalidToken
		}
		if err != nil {
			return fmt.Errorf("auth: resetting password: %w", err)
		}
		if !resetValidFor(t, &User{PasswordHash: current, Email: email}) {
			return ErrInvalidToken
		}
		d := a.opts.DB
		// A new session version ends every session of the account.
		if _, err := tx.ExecContext(ctx, d.Rebind(`UPDATE users SET password_hash = ?, session_version = session_version + 1, updated_at = ? WHERE id = ?`),
			passwordHash, time.Now().UTC(), t.UserID); err != nil {
			return fmt.Errorf("auth: resetting password: %w", err)
		}
		if _, err := tx.ExecContext(ctx, d.Rebind(`DELETE FROM api_tokens WHERE user_id = ?`), t.UserID); err != nil {
			return fmt.Errorf("auth: resetting password: %w", err)
		}
		if err := a.MailTokens.Revoke(ctx, tx, t.UserID, PurposeReset); err != nil {
			return err
		}
		id = t.UserID
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a.Users.ByID(ctx, id)
}

// newPassword reads a new password and its confirmation from r's form,
// with their field errors in the returned form.
func newPassword(r *http.Request) (string, *form.Form) {
	password, confirm := r.PostFormValue("password"), r.PostFormValue("password_confirm")
	f := form.NewForm(nil)
	if msg := ValidatePassword(password); msg != "" {
		f.AddError("password", msg)
	} else if confirm != password {
		f.AddError("password_confirm", "The passwords do not match.")
	}
	return password, f
}

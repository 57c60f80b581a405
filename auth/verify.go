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

	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/form"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/session"
	"github.com/trellis-go/trellis/ui"
)

// Email verification and email change:
//
//   - Registering sends a link to /email/verify/{token}
//     (auth.verify_token_ttl); following it sets the account's
//     email_verified_at. The account page shows the status and sends a new
//     link on request (ratelimit.verify, per account).
//   - Changing the address (account page, with the current password)
//     sends a link to the new address (/email/change/{token}) and a notice
//     to the old one; nothing changes until the link is followed. The new
//     address then counts as verified, and every token of the account —
//     reset links sent to the old address included — is revoked.
//   - Asking for an address that another account has answers exactly as
//     for a free one (the requester learns nothing); the owner of that
//     address gets a notice instead of a link.

// sendVerification stores a verification token for u's address and
// enqueues the mail with its link, in one transaction.
func (a *Auth) sendVerification(ctx context.Context, u *User) error {
	return a.inTx(ctx, func(tx *sql.Tx) error {
		secret, err := a.MailTokens.Issue(ctx, tx, PurposeVerify, u, u.Email, a.opts.VerifyTokenTTL)
		if err != nil {
			return err
		}
		return a.sendTx(ctx, tx, a.verifyMail(u, a.link(a.Paths().Verify()+"/"+secret)))
	})
}

// verifyLink marks the address verified. The link is all the proof
// needed: it went to that address.
func (a *Auth) verifyLink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	noLeak(w)
	secret := r.PathValue("token")
	if !wellFormed(secret) {
		a.invalidLink(w, r, a.Paths().Account(), "Ask for a new link from your account page")
		return
	}
	var email string
	err := a.inTx(ctx, func(tx *sql.Tx) error {
		t, err := a.MailTokens.Take(ctx, tx, PurposeVerify, hashToken(secret))
		if err != nil {
			return err
		}
		// Only the current address: a link to an address the account has
		// since left verifies nothing.
		res, err := tx.ExecContext(ctx, a.opts.DB.Rebind(`UPDATE users SET email_verified_at = COALESCE(email_verified_at, ?), updated_at = ?
			WHERE id = ? AND email = ?`), time.Now().UTC(), time.Now().UTC(), t.UserID, t.Email)
		if err != nil {
			return fmt.Errorf("auth: verifying email: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrInvalidToken
		}
		email = t.Email
		return a.MailTokens.Revoke(ctx, tx, t.UserID, PurposeVerify)
	})
	if errors.Is(err, ErrInvalidToken) {
		a.invalidLink(w, r, a.Paths().Account(), "Ask for a new link from your account page")
		return
	}
	if err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	a.opts.Logger.InfoContext(ctx, "email verified")
	a.opts.Render.Page(w, r, "Address confirmed", ui.LinkDonePage("Address confirmed", "Thank you: "+email+" is confirmed.", a.Paths().Account()))
}

// resendVerification sends a new verification link from the account page.
func (a *Auth) resendVerification(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := CurrentUser(ctx)
	if u.EmailVerifiedAt != nil {
		a.opts.Sessions.Flash(ctx, session.Info, "Your address is already confirmed.")
		render.Redirect(w, r, a.Paths().Account())
		return
	}
	if err := a.sendVerification(ctx, u); err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	a.opts.Sessions.Flash(ctx, session.Success, "We sent a new confirmation link to "+u.Email+".")
	render.Redirect(w, r, a.Paths().Account())
}

// changeEmail asks to move the account to a new address.
func (a *Auth) changeEmail(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := CurrentUser(ctx)
	email := NormalizeEmail(r.PostFormValue("email"))
	f := form.NewForm(url.Values{"email": {email}})
	if msg := ValidateEmail(email); msg != "" {
		f.AddError("email", msg)
	} else if email == u.Email {
		f.AddError("email", "This is already your address.")
	}
	if !a.accountFormValid(w, r, u, f, ui.EmailForm) {
		return
	}
	err := a.inTx(ctx, func(tx *sql.Tx) error {
		var other int64
		err := tx.QueryRowContext(ctx, a.opts.DB.Rebind(`SELECT id FROM users WHERE email = ?`), email).Scan(&other)
		switch {
		case err == nil:
			// Taken: tell the address's owner, not the requester.
			if err := a.sendTx(ctx, tx, a.emailTakenMail(email)); err != nil {
				return err
			}
		case errors.Is(err, sql.ErrNoRows):
			if err := a.MailTokens.Revoke(ctx, tx, u.ID, PurposeChange); err != nil {
				return err
			}
			secret, err := a.MailTokens.Issue(ctx, tx, PurposeChange, u, email, a.opts.VerifyTokenTTL)
			if err != nil {
				return err
			}
			if err := a.sendTx(ctx, tx, a.changeMail(u, email, a.link(a.Paths().ChangeEmail()+"/"+secret))); err != nil {
				return err
			}
		default:
			return fmt.Errorf("auth: changing email: %w", err)
		}
		return a.sendTx(ctx, tx, a.changeNoticeMail(u, email))
	})
	if err != nil {
		a.opts.Render.Error(w, r, err)
		return
	}
	a.opts.Logger.InfoContext(ctx, "email change requested", slog.Int64("user_id", u.ID))
	a.opts.Sessions.Flash(ctx, session.Success, "We sent a confirmation link to "+email+". Your address changes when you open it.")
	render.Redirect(w, r, a.Paths().Account())
}

// changeLink moves the account to the address the link went to.
func (a *Auth) changeLink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	noLeak(w)
	secret := r.PathValue("token")
	if !wellFormed(secret) {
		a.invalidLink(w, r, a.Paths().Account(), "Change the address again from your account page")
		return
	}
	var t *MailToken
	err := a.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if t, err = a.MailTokens.Take(ctx, tx, PurposeChange, hashToken(secret)); err != nil {
			return err
		}
		now := time.Now().UTC()
		res, err := tx.ExecContext(ctx, a.opts.DB.Rebind(`UPDATE users SET email = ?, email_verified_at = ?, updated_at = ? WHERE id = ?`), t.Email, now, now, t.UserID)
		if db.IsUniqueViolation(err) {
			return ErrEmailTaken
		}
		if err != nil {
			return fmt.Errorf("auth: changing email: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrInvalidToken
		}
		// Links sent to the old address (resets, verifications) and other
		// pending changes die with it.
		return a.MailTokens.Revoke(ctx, tx, t.UserID)
	})
	switch {
	case errors.Is(err, ErrInvalidToken):
		a.invalidLink(w, r, a.Paths().Account(), "Change the address again from your account page")
	case errors.Is(err, ErrEmailTaken):
		// Whoever follows the link owns the address, so this reveals
		// nothing new.
		a.opts.Render.Error(w, r, render.NewError(http.StatusConflict, "Another account uses this address now, so it cannot become yours. Sign in to that account instead, or choose another address."))
	case err != nil:
		a.opts.Render.Error(w, r, err)
	default:
		a.opts.Logger.InfoContext(ctx, "email changed", slog.Int64("user_id", t.UserID))
		a.opts.Render.Page(w, r, "Address changed", ui.LinkDonePage("Address changed", "Your account's address is now "+t.Email+".", a.Paths().Account()))
	}
}

// RequireVerified lets through signed-in users whose address is
// verified. Anonymous visitors are treated as by RequireUser; signed-in
// users with an unverified address get 403 (page, htmx fragment or JSON)
// pointing to the account page, where they can ask for a new link. The
// handlers it returns are Guards with the requirement "verified".
func (a *Auth) RequireVerified(next http.Handler) http.Handler {
	return &verifiedGuard{a: a, next: next}
}

type verifiedGuard struct {
	a    *Auth
	next http.Handler
}

func (g *verifiedGuard) Requirement() string { return "verified" }

func (g *verifiedGuard) Next() http.Handler { return g.next }

func (g *verifiedGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u := CurrentUser(r.Context())
	switch {
	case u == nil:
		g.a.deny(w, r)
	case u.EmailVerifiedAt == nil:
		g.a.opts.Render.Error(w, r, render.NewError(http.StatusForbidden, "Confirm your email address first: follow the link we sent to "+
			u.Email+", or ask for a new one on your account page ("+g.a.Paths().Account()+")."))
	default:
		g.next.ServeHTTP(w, r)
	}
}

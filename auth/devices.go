package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"
)

// Device cookies, as OWASP describes them for slowing down password
// guessing without locking owners out: a browser that has signed in to an
// account gets a random token in a long-lived cookie, and the server keeps
// its hash per account. Login attempts from such a browser skip the
// per-account limit that anyone could exhaust (they have a limit of their
// own, per device), so an attacker who floods an account with failures
// slows down only other unknown browsers, never its owner.

// deviceCookie is the cookie's name; "__Host-" is added when cookies are
// Secure.
const deviceCookie = "trellis_device"

// deviceLifetime is how long a browser stays known after its last sign-in.
const deviceLifetime = 365 * 24 * time.Hour

// secureCookies reports whether cookies are sent over HTTPS only, as the
// session cookie is.
func (a *Auth) secureCookies() bool { return a.opts.Sessions != nil && a.opts.Sessions.Cookie.Secure }

func (a *Auth) deviceCookieName() string {
	if a.secureCookies() {
		return "__Host-" + deviceCookie
	}
	return deviceCookie
}

// deviceToken returns the device token the browser sent, or "".
func (a *Auth) deviceToken(r *http.Request) string {
	c, err := r.Cookie(a.deviceCookieName())
	if err != nil || len(c.Value) != 43 {
		return ""
	}
	return c.Value
}

// knownDevice reports whether the browser's device token was issued by a
// sign-in to user id within deviceLifetime.
func (a *Auth) knownDevice(ctx context.Context, token string, userID int64) (bool, error) {
	if token == "" {
		return false, nil
	}
	var n int
	err := a.opts.DB.SQL.QueryRowContext(ctx, a.opts.DB.Rebind(`SELECT count(*) FROM user_devices WHERE token_hash = ? AND user_id = ? AND created_at > ?`),
		hashToken(token), userID, time.Now().Add(-deviceLifetime).Unix()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("auth: checking device: %w", err)
	}
	return n > 0, nil
}

// rememberDevice records a successful sign-in of user id from this
// browser, issuing a device token when it has none, and (re)sets the
// cookie.
func (a *Auth) rememberDevice(ctx context.Context, w http.ResponseWriter, r *http.Request, userID int64) error {
	token := a.deviceToken(r)
	if token == "" {
		raw := make([]byte, 32)
		_, _ = rand.Read(raw)
		token = base64.RawURLEncoding.EncodeToString(raw)
	}
	d := a.opts.DB
	now := time.Now().Unix()
	_, err := d.SQL.ExecContext(ctx, d.Rebind(`INSERT INTO user_devices (token_hash, user_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (token_hash, user_id) DO UPDATE SET created_at = excluded.created_at`), hashToken(token), userID, now)
	if err != nil {
		return fmt.Errorf("auth: remembering device: %w", err)
	}
	http.SetCookie(w, &http.Cookie{
		Name: a.deviceCookieName(), Value: token, Path: "/", MaxAge: int(deviceLifetime.Seconds()),
		HttpOnly: true, Secure: a.secureCookies(), SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// forgetDevices forgets every browser known for user id, for example when
// the password changes.
func (a *Auth) forgetDevices(ctx context.Context, userID int64) error {
	d := a.opts.DB
	if _, err := d.SQL.ExecContext(ctx, d.Rebind(`DELETE FROM user_devices WHERE user_id = ?`), userID); err != nil {
		return fmt.Errorf("auth: forgetting devices: %w", err)
	}
	return nil
}

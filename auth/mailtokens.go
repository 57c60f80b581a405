package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trellis-go/trellis/db"
)

// Purpose says what a mailed token is for.
type Purpose string

// The purposes of mailed tokens.
const (
	// PurposeReset tokens set a new password (/password/reset/{token}).
	PurposeReset Purpose = "reset"
	// PurposeVerify tokens confirm the account's current address.
	PurposeVerify Purpose = "verify"
	// PurposeChange tokens confirm a new address, which replaces the
	// account's address when confirmed.
	PurposeChange Purpose = "change"
)

// ErrInvalidToken is returned for a mailed token that is unknown, expired,
// already used, or no longer matches its account (the password or the
// address changed since it was sent).
var ErrInvalidToken = errors.New("auth: invalid or expired link")

// tokenBytes is the entropy of a mailed token: 256 bits.
const tokenBytes = 32

// MailToken is a stored mailed token. The secret itself went out in a mail
// and only its SHA-256 is kept.
type MailToken struct {
	ID      int64
	UserID  int64
	Purpose Purpose
	// Email is where the link was sent; for PurposeChange, the new address.
	Email string
	// PasswordFingerprint ties reset tokens to the password they may
	// replace (see passwordFingerprint).
	PasswordFingerprint string
	CreatedAt           time.Time
	ExpiresAt           time.Time
}

// MailTokens stores the single-use tokens sent in account mails.
type MailTokens struct {
	db  *db.DB
	now func() time.Time
}

// NewMailTokens returns the mailed-token store.
func NewMailTokens(d *db.DB) *MailTokens { return &MailTokens{db: d, now: time.Now} }

// newSecret returns 32 random bytes as 43 URL-safe characters.
func newSecret() string {
	raw := make([]byte, tokenBytes)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(raw)
}

// wellFormed reports whether s could be a secret from newSecret, so junk
// never reaches the database.
func wellFormed(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// passwordFingerprint identifies a password hash without revealing it. A
// reset token records the fingerprint of the password at the time it was
// asked for; once the password changes in any way (a reset, the account
// page, a rehash) the fingerprints differ and the token is dead.
func passwordFingerprint(passwordHash string) string {
	sum := sha256.Sum256([]byte("trellis-reset:" + passwordHash))
	return hex.EncodeToString(sum[:16])
}

// Issue stores a new token for u in tx and returns its secret. email is
// where the link goes; reset tokens record u's password fingerprint. The
// user's expired tokens of the same purpose are removed on the way.
func (m *MailTokens) Issue(ctx context.Context, tx *sql.Tx, purpose Purpose, u *User, email string, ttl time.Duration) (string, error) {
	now := m.now().UTC()
	if _, err := tx.ExecContext(ctx, m.db.Rebind(`DELETE FROM user_tokens WHERE user_id = ? AND purpose = ? AND expires_at < ?`), u.ID, string(purpose), now); err != nil {
		return "", fmt.Errorf("auth: issuing %s token: %w", purpose, err)
	}
	fp := ""
	if purpose == PurposeReset {
		fp = passwordFingerprint(u.PasswordHash)
	}
	secret := newSecret()
	_, err := tx.ExecContext(ctx, m.db.Rebind(`INSERT INTO user_tokens (user_id, purpose, token_hash, email, password_fingerprint, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), u.ID, string(purpose), hashToken(secret), NormalizeEmail(email), fp, now, now.Add(ttl))
	if err != nil {
		return "", fmt.Errorf("auth: issuing %s token: %w", purpose, err)
	}
	return secret, nil
}

// Find returns the unexpired token of purpose whose secret is secret, or
// ErrInvalidToken.
func (m *MailTokens) Find(ctx context.Context, purpose Purpose, secret string) (*MailToken, error) {
	if !wellFormed(secret) {
		return nil, ErrInvalidToken
	}
	return m.FindHash(ctx, m.db.SQL, purpose, hashToken(secret))
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// FindHash is Find by the secret's SHA-256 (hex), as kept in a session, on
// q (the database or a transaction).
func (m *MailTokens) FindHash(ctx context.Context, q queryRower, purpose Purpose, hash string) (*MailToken, error) {
	if len(hash) != 64 {
		return nil, ErrInvalidToken
	}
	t := &MailToken{Purpose: purpose}
	err := q.QueryRowContext(ctx, m.db.Rebind(`SELECT id, user_id, email, password_fingerprint, created_at, expires_at
		FROM user_tokens WHERE token_hash = ? AND purpose = ?`), hash, string(purpose)).
		Scan(&t.ID, &t.UserID, &t.Email, &t.PasswordFingerprint, &t.CreatedAt, &t.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("auth: checking %s token: %w", purpose, err)
	}
	if !m.now().Before(t.ExpiresAt) {
		return nil, ErrInvalidToken
	}
	return t, nil
}

// Take deletes the token of purpose whose SHA-256 is hash in tx
// and returns it when it has not expired, so each token works once: of two concurrent uses one
// gets ErrInvalidToken. It is a write first, so on SQLite tx holds the
// write lock from its first statement.
func (m *MailTokens) Take(ctx context.Context, tx *sql.Tx, purpose Purpose, hash string) (*MailToken, error) {
	if len(hash) != 64 {
		return nil, ErrInvalidToken
	}
	t := &MailToken{Purpose: purpose}
	err := tx.QueryRowContext(ctx, m.db.Rebind(`DELETE FROM user_tokens WHERE token_hash = ? AND purpose = ?
		RETURNING id, user_id, email, password_fingerprint, created_at, expires_at`), hash, string(purpose)).
		Scan(&t.ID, &t.UserID, &t.Email, &t.PasswordFingerprint, &t.CreatedAt, &t.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("auth: using %s token: %w", purpose, err)
	}
	if !m.now().Before(t.ExpiresAt) {
		return nil, ErrInvalidToken // expired: deleted all the same
	}
	return t, nil
}

// Revoke deletes the user's tokens of the given purposes (all purposes
// when none are given), in tx when tx is not nil.
func (m *MailTokens) Revoke(ctx context.Context, tx *sql.Tx, userID int64, purposes ...Purpose) error {
	query, args := `DELETE FROM user_tokens WHERE user_id = ?`, []any{userID}
	if len(purposes) > 0 {
		query += ` AND purpose IN (?` + strings.Repeat(", ?", len(purposes)-1) + `)`
		for _, p := range purposes {
			args = append(args, string(p))
		}
	}
	var err error
	if tx != nil {
		_, err = tx.ExecContext(ctx, m.db.Rebind(query), args...)
	} else {
		_, err = m.db.SQL.ExecContext(ctx, m.db.Rebind(query), args...)
	}
	if err != nil {
		return fmt.Errorf("auth: revoking mailed tokens: %w", err)
	}
	return nil
}

package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trellis-go/trellis/db"
)

// tokenPrefix marks Trellis API tokens so secret scanners can spot them.
const tokenPrefix = "trl_"

// Token describes an API token; the secret itself is shown once, at
// creation, and only its SHA-256 is stored.
type Token struct {
	ID         int64
	UserID     int64
	Name       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  *time.Time
}

// Tokens stores API tokens.
type Tokens struct {
	db    *db.DB
	users *Users
}

// NewTokens returns the API token store.
func NewTokens(d *db.DB) *Tokens { return &Tokens{db: d, users: NewUsers(d)} }

func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Create makes a token for the user and returns its secret (shown once).
// ttl <= 0 means it never expires.
func (t *Tokens) Create(ctx context.Context, userID int64, name string, ttl time.Duration) (string, *Token, error) {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	secret := tokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))
	tok := &Token{UserID: userID, Name: name, CreatedAt: time.Now().UTC()}
	if ttl > 0 {
		exp := tok.CreatedAt.Add(ttl)
		tok.ExpiresAt = &exp
	}
	err := t.db.SQL.QueryRowContext(ctx, t.db.Rebind(`INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?) RETURNING id`),
		userID, name, hashToken(secret), tok.CreatedAt, tok.ExpiresAt).Scan(&tok.ID)
	if err != nil {
		return "", nil, fmt.Errorf("auth: creating API token: %w", err)
	}
	return secret, tok, nil
}

// List returns the user's tokens, newest first.
func (t *Tokens) List(ctx context.Context, userID int64) ([]Token, error) {
	rows, err := t.db.SQL.QueryContext(ctx, t.db.Rebind(`SELECT id, user_id, name, created_at, last_used_at, expires_at
		FROM api_tokens WHERE user_id = ? ORDER BY id DESC`), userID)
	if err != nil {
		return nil, fmt.Errorf("auth: listing API tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var tok Token
		var used, exp sql.NullTime
		if err := rows.Scan(&tok.ID, &tok.UserID, &tok.Name, &tok.CreatedAt, &used, &exp); err != nil {
			return nil, fmt.Errorf("auth: listing API tokens: %w", err)
		}
		if used.Valid {
			tok.LastUsedAt = &used.Time
		}
		if exp.Valid {
			tok.ExpiresAt = &exp.Time
		}
		out = append(out, tok)
	}
	return out, rows.Err()
}

// Revoke deletes one of the user's tokens; ErrNotFound when it is not theirs.
func (t *Tokens) Revoke(ctx context.Context, userID, tokenID int64) error {
	res, err := t.db.SQL.ExecContext(ctx, t.db.Rebind(`DELETE FROM api_tokens WHERE id = ? AND user_id = ?`), tokenID, userID)
	if err != nil {
		return fmt.Errorf("auth: revoking API token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// RevokeAll deletes every token of the user.
func (t *Tokens) RevokeAll(ctx context.Context, userID int64) error {
	if _, err := t.db.SQL.ExecContext(ctx, t.db.Rebind(`DELETE FROM api_tokens WHERE user_id = ?`), userID); err != nil {
		return fmt.Errorf("auth: revoking API tokens: %w", err)
	}
	return nil
}

// Authenticate returns the user owning an unexpired token, or ErrNotFound.
func (t *Tokens) Authenticate(ctx context.Context, secret string) (*User, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 128 {
		return nil, ErrNotFound
	}
	var id, userID int64
	var exp sql.NullTime
	err := t.db.SQL.QueryRowContext(ctx, t.db.Rebind(`SELECT id, user_id, expires_at FROM api_tokens WHERE token_hash = ?`), hashToken(secret)).Scan(&id, &userID, &exp)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && exp.Valid && exp.Time.Before(time.Now())) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("auth: checking API token: %w", err)
	}
	if _, err := t.db.SQL.ExecContext(ctx, t.db.Rebind(`UPDATE api_tokens SET last_used_at = ? WHERE id = ?`), time.Now().UTC(), id); err != nil {
		return nil, fmt.Errorf("auth: checking API token: %w", err)
	}
	return t.users.ByID(ctx, userID)
}

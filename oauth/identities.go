package oauth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/db"
)

// Errors of Identities.
var (
	// ErrLinkedElsewhere: the provider account is linked to another user.
	ErrLinkedElsewhere = errors.New("oauth: this provider account is linked to another user")
	// ErrProviderLinked: the user already has another account of this
	// provider linked.
	ErrProviderLinked = errors.New("oauth: the user already has an account of this provider linked")
	// ErrLastSignIn: unlinking would leave the user no way to sign in (no
	// password and no other provider).
	ErrLastSignIn = errors.New("oauth: this is the user's last way to sign in")
	// ErrNotLinked: the user has no account of this provider linked.
	ErrNotLinked = errors.New("oauth: not linked")
)

// Linked is one provider account linked to a user.
type Linked struct {
	// Provider is the provider's configured name.
	Provider string
	// Subject is the provider's id for the account.
	Subject string
	// Email is the account's address at the provider when last seen.
	Email string
	// CreatedAt is when it was linked.
	CreatedAt time.Time
}

// Identities stores the provider accounts linked to users (the
// user_identities table).
type Identities struct {
	db *db.DB
}

// NewIdentities returns the store.
func NewIdentities(d *db.DB) *Identities { return &Identities{db: d} }

// UserID returns the id of the user linked to provider's subject, or
// auth.ErrNotFound.
func (s *Identities) UserID(ctx context.Context, provider, subject string) (int64, error) {
	var id int64
	err := s.db.SQL.QueryRowContext(ctx, s.db.Rebind(`SELECT user_id FROM user_identities WHERE provider = ? AND subject = ?`), provider, subject).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, auth.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("oauth: finding identity: %w", err)
	}
	return id, nil
}

// Touch records a sign-in with the identity and its current address, and
// returns the user it belongs to; auth.ErrNotFound when no user has it.
func (s *Identities) Touch(ctx context.Context, provider, subject, email string) (userID int64, err error) {
	err = s.db.SQL.QueryRowContext(ctx, s.db.Rebind(`UPDATE user_identities SET last_used_at = ?, email = ? WHERE provider = ? AND subject = ? RETURNING user_id`),
		time.Now().UTC(), email, provider, subject).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, auth.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("oauth: recording sign-in: %w", err)
	}
	return userID, nil
}

// List returns the provider accounts linked to user id, by provider.
func (s *Identities) List(ctx context.Context, userID int64) ([]Linked, error) {
	rows, err := s.db.SQL.QueryContext(ctx, s.db.Rebind(`SELECT provider, subject, email, created_at FROM user_identities WHERE user_id = ? ORDER BY provider`), userID)
	if err != nil {
		return nil, fmt.Errorf("oauth: listing identities: %w", err)
	}
	defer rows.Close()
	var out []Linked
	for rows.Next() {
		var l Linked
		if err := rows.Scan(&l.Provider, &l.Subject, &l.Email, &l.CreatedAt); err != nil {
			return nil, fmt.Errorf("oauth: listing identities: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// Link links provider's subject to user id. It fails with
// ErrLinkedElsewhere when the subject belongs to another user and
// ErrProviderLinked when the user has another account of this provider;
// linking the same pair again is not an error.
func (s *Identities) Link(ctx context.Context, userID int64, provider string, id *Identity) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.link(ctx, tx, userID, provider, id) })
}

func (s *Identities) link(ctx context.Context, tx *sql.Tx, userID int64, provider string, id *Identity) error {
	var owner int64
	err := tx.QueryRowContext(ctx, s.db.Rebind(`SELECT user_id FROM user_identities WHERE provider = ? AND subject = ?`), provider, id.Subject).Scan(&owner)
	switch {
	case err == nil && owner == userID:
		return nil
	case err == nil:
		return ErrLinkedElsewhere
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	_, err = tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO user_identities (user_id, provider, subject, email, created_at) VALUES (?, ?, ?, ?, ?)`),
		userID, provider, id.Subject, id.Email, time.Now().UTC())
	if db.IsUniqueViolation(err) {
		// Either a concurrent link of the same subject, or the user's
		// other account of this provider.
		return ErrProviderLinked
	}
	return err
}

// CreateUser creates an account for a first sign-in: the provider's
// verified address (marked verified), its name and no password, linked to
// the identity, in one transaction. It fails with auth.ErrEmailTaken when
// the address belongs to an account, and ErrLinkedElsewhere when a
// concurrent sign-in linked the identity first.
func (s *Identities) CreateUser(ctx context.Context, provider string, id *Identity) (int64, error) {
	var userID int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := time.Now().UTC()
		name := strings.TrimSpace(id.Name)
		if utf8.RuneCountInString(name) > 100 {
			name = string([]rune(name)[:100])
		}
		err := tx.QueryRowContext(ctx, s.db.Rebind(`INSERT INTO users (email, display_name, password_hash, email_verified_at, created_at, updated_at)
			VALUES (?, ?, '', ?, ?, ?) RETURNING id`), auth.NormalizeEmail(id.Email), name, now, now, now).Scan(&userID)
		if db.IsUniqueViolation(err) {
			return auth.ErrEmailTaken
		}
		if err != nil {
			return err
		}
		if err := s.link(ctx, tx, userID, provider, id); err != nil {
			if errors.Is(err, ErrProviderLinked) {
				return ErrLinkedElsewhere // the new user has no other identity
			}
			return err
		}
		return nil
	})
	return userID, err
}

// Unlink removes user id's account of provider, unless it is the user's
// last way to sign in (no password and no other provider): then it fails
// with ErrLastSignIn and changes nothing. ErrNotLinked when there is none.
func (s *Identities) Unlink(ctx context.Context, userID int64, provider string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// Lock the user's row first: two concurrent unlinks of a user's
		// two providers must not both see the other one still there.
		var hash string
		err := tx.QueryRowContext(ctx, s.db.Rebind(`UPDATE users SET updated_at = ? WHERE id = ? RETURNING password_hash`), time.Now().UTC(), userID).Scan(&hash)
		if errors.Is(err, sql.ErrNoRows) {
			return auth.ErrNotFound
		}
		if err != nil {
			return err
		}
		var linked, this int
		if err := tx.QueryRowContext(ctx, s.db.Rebind(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN provider = ? THEN 1 ELSE 0 END), 0) FROM user_identities WHERE user_id = ?`),
			provider, userID).Scan(&linked, &this); err != nil {
			return err
		}
		if this == 0 {
			return ErrNotLinked
		}
		if hash == "" && linked <= 1 {
			return ErrLastSignIn
		}
		_, err = tx.ExecContext(ctx, s.db.Rebind(`DELETE FROM user_identities WHERE user_id = ? AND provider = ?`), userID, provider)
		return err
	})
}

// tx runs fn in a transaction and returns fn's error as it is.
func (s *Identities) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	return nil
}

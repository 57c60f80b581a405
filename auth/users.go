package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trellis-go/trellis/db"
)

// RoleAdmin is the role that may manage roles and see admin pages.
const RoleAdmin = "admin"

// Errors returned by Users.
var (
	ErrNotFound    = errors.New("auth: user not found")
	ErrEmailTaken  = errors.New("auth: email already registered")
	ErrLastAdmin   = errors.New("auth: cannot remove the last admin")
	ErrInvalidRole = errors.New("auth: invalid role name")
)

// User is an account.
type User struct {
	ID           int64
	Email        string
	Name         string
	PasswordHash string
	Roles        []string
	// EmailVerifiedAt is when the address was confirmed (a verification
	// or change-of-address link, or Users.MarkVerified); nil until then.
	EmailVerifiedAt *time.Time
	SessionVersion  int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Verified reports whether the account's address is confirmed.
func (u *User) Verified() bool { return u != nil && u.EmailVerifiedAt != nil }

// HasRole reports whether the user has role.
func (u *User) HasRole(role string) bool { return u != nil && slices.Contains(u.Roles, role) }

// DisplayName is the name, or the email when no name was given.
func (u *User) DisplayName() string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// NormalizeEmail trims and lower-cases an address; emails are unique
// case-insensitively.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateEmail reports a user-facing problem with an email address, or "".
func ValidateEmail(s string) string {
	if s == "" {
		return "Email is required."
	}
	if len(s) > 254 || !utf8.ValidString(s) {
		return "Email is too long."
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
		return "Enter a valid email address, like name@example.com."
	}
	return ""
}

var roleName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// ValidRole reports whether role is a well-formed role name: a lower-case
// letter, then up to 31 letters, digits, '-' or '_'.
func ValidRole(role string) bool { return roleName.MatchString(role) }

// Users stores accounts in the app's database.
type Users struct {
	db *db.DB
}

// NewUsers returns the account store.
func NewUsers(d *db.DB) *Users { return &Users{db: d} }

const userColumns = `id, email, display_name, password_hash, email_verified_at, session_version, created_at, updated_at`

// scanUser scans userColumns, then extra columns into extra.
func scanUser(row interface{ Scan(...any) error }, extra ...any) (*User, error) {
	u := &User{}
	var verified sql.NullTime
	dest := append([]any{&u.ID, &u.Email, &u.Name, &u.PasswordHash, &verified, &u.SessionVersion, &u.CreatedAt, &u.UpdatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	if verified.Valid {
		u.EmailVerifiedAt = &verified.Time
	}
	return u, nil
}

// Create stores a new account with a normalized email and returns it.
func (s *Users) Create(ctx context.Context, email, name, passwordHash string) (*User, error) {
	now := time.Now().UTC()
	row := s.db.SQL.QueryRowContext(ctx, s.db.Rebind(`INSERT INTO users (email, display_name, password_hash, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) RETURNING `+userColumns), NormalizeEmail(email), strings.TrimSpace(name), passwordHash, now, now)
	u, err := scanUser(row)
	if err != nil {
		if db.IsUniqueViolation(err) {
			return nil, ErrEmailTaken
		}
		return nil, fmt.Errorf("auth: creating user: %w", err)
	}
	return u, nil
}

// ByEmail finds an account by email, case-insensitively, with its roles.
func (s *Users) ByEmail(ctx context.Context, email string) (*User, error) {
	return s.one(ctx, `email = ?`, NormalizeEmail(email))
}

// ByID finds an account with its roles.
func (s *Users) ByID(ctx context.Context, id int64) (*User, error) {
	return s.one(ctx, `id = ?`, id)
}

// rolesColumn selects a user's roles, sorted, as a JSON array ("[]" for
// none) in the same query as the user: LoadUser runs on every signed-in
// request, so it costs one round trip, not two.
func (s *Users) rolesColumn() string {
	if s.db.Dialect == db.Postgres {
		return `(SELECT COALESCE(json_agg(role ORDER BY role), '[]'::json)::text FROM user_roles WHERE user_id = users.id)`
	}
	return `(SELECT json_group_array(role ORDER BY role) FROM user_roles WHERE user_id = users.id)`
}

// one loads the user matching where (one placeholder) and its roles in a
// single query.
func (s *Users) one(ctx context.Context, where string, arg any) (*User, error) {
	var roles string
	query := s.db.Rebind(`SELECT ` + userColumns + `, ` + s.rolesColumn() + ` FROM users WHERE ` + where)
	u, err := scanUser(s.db.SQL.QueryRowContext(ctx, query, arg), &roles)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("auth: loading user: %w", err)
	}
	if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
		return nil, fmt.Errorf("auth: loading roles: %w", err)
	}
	return u, nil
}

// Roles lists a user's roles, sorted.
func (s *Users) Roles(ctx context.Context, id int64) ([]string, error) {
	return queryRoles(ctx, s.db.SQL, s.db.Rebind(`SELECT role FROM user_roles WHERE user_id = ? ORDER BY role`), id)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryRoles(ctx context.Context, q querier, query string, id int64) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, id)
	if err != nil {
		return nil, fmt.Errorf("auth: loading roles: %w", err)
	}
	defer rows.Close()
	roles := []string{}
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, fmt.Errorf("auth: loading roles: %w", err)
		}
		roles = append(roles, r)
	}
	return roles, rows.Err()
}

// SetPasswordHash replaces a user's password hash.
func (s *Users) SetPasswordHash(ctx context.Context, id int64, hash string) error {
	_, err := s.db.SQL.ExecContext(ctx, s.db.Rebind(`UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`), hash, time.Now().UTC(), id)
	if err != nil {
		return fmt.Errorf("auth: updating password: %w", err)
	}
	return nil
}

// MarkVerified records that the user's address is confirmed (keeping the
// first confirmation time), for tools that vouch for an address.
func (s *Users) MarkVerified(ctx context.Context, id int64) error {
	now := time.Now().UTC()
	res, err := s.db.SQL.ExecContext(ctx, s.db.Rebind(`UPDATE users SET email_verified_at = COALESCE(email_verified_at, ?), updated_at = ? WHERE id = ?`), now, now, id)
	if err != nil {
		return fmt.Errorf("auth: marking email verified: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// BumpSessionVersion invalidates every session of the user and returns the
// new version (the caller stores it in the session it keeps).
func (s *Users) BumpSessionVersion(ctx context.Context, id int64) (int64, error) {
	var v int64
	err := s.db.SQL.QueryRowContext(ctx, s.db.Rebind(`UPDATE users SET session_version = session_version + 1, updated_at = ? WHERE id = ? RETURNING session_version`),
		time.Now().UTC(), id).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("auth: revoking sessions: %w", err)
	}
	return v, nil
}

// AddRole grants role (idempotently) and returns the user's roles.
func (s *Users) AddRole(ctx context.Context, id int64, role string) ([]string, error) {
	if !ValidRole(role) {
		return nil, ErrInvalidRole
	}
	return s.changeRoles(ctx, id, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO user_roles (user_id, role) VALUES (?, ?) ON CONFLICT (user_id, role) DO NOTHING`), id, role)
		return err
	})
}

// RemoveRole revokes role and returns the user's roles. Removing admin from
// the last admin fails with ErrLastAdmin and changes nothing.
func (s *Users) RemoveRole(ctx context.Context, id int64, role string) ([]string, error) {
	if !ValidRole(role) {
		return nil, ErrInvalidRole
	}
	return s.changeRoles(ctx, id, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`DELETE FROM user_roles WHERE user_id = ? AND role = ?`), id, role); err != nil {
			return err
		}
		if role != RoleAdmin {
			return nil
		}
		var admins int
		if err := tx.QueryRowContext(ctx, s.db.Rebind(`SELECT COUNT(*) FROM user_roles WHERE role = ?`), RoleAdmin).Scan(&admins); err != nil {
			return err
		}
		if admins == 0 {
			return ErrLastAdmin
		}
		return nil
	})
}

// changeRoles runs change in a transaction that first locks the user row,
// so concurrent role changes (and the last-admin check) serialise.
func (s *Users) changeRoles(ctx context.Context, id int64, change func(*sql.Tx) error) ([]string, error) {
	tx, err := s.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("auth: changing roles: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	lock := `UPDATE users SET updated_at = ? WHERE id = ?`
	if s.db.Dialect == db.Postgres {
		// Serialise admin-count checks across users too.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7467)`); err != nil {
			return nil, fmt.Errorf("auth: changing roles: %w", err)
		}
	}
	res, err := tx.ExecContext(ctx, s.db.Rebind(lock), time.Now().UTC(), id)
	if err != nil {
		return nil, fmt.Errorf("auth: changing roles: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, ErrNotFound
	}
	if err := change(tx); err != nil {
		if errors.Is(err, ErrLastAdmin) {
			return nil, err
		}
		return nil, fmt.Errorf("auth: changing roles: %w", err)
	}
	roles, err := queryRoles(ctx, tx, s.db.Rebind(`SELECT role FROM user_roles WHERE user_id = ? ORDER BY role`), id)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("auth: changing roles: %w", err)
	}
	return roles, nil
}

// Count returns the number of accounts.
func (s *Users) Count(ctx context.Context) (int, error) {
	var n int
	err := s.db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

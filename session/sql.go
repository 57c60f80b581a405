package session

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/trellis-go/trellis/db"
)

// SQL is a Backend in the app's database (SQLite or PostgreSQL), in the
// tables trellis_sessions and trellis_session_values created by the
// framework's migrations. Each value is its own row, so applying a delta
// never reads or rewrites the rest of the session.
type SQL struct {
	db *db.DB
	q  sqlQueries
}

type sqlQueries struct {
	load, upsert, clear, update, setValue, delValue, del, expired string
}

// NewSQL returns a Backend using d.
func NewSQL(d *db.DB) *SQL {
	return &SQL{db: d, q: sqlQueries{
		load: d.Rebind(`SELECT s.expiry, v.key, v.value FROM trellis_sessions s
			LEFT JOIN trellis_session_values v ON v.token = s.token
			WHERE s.token = ? AND s.expiry > ?`),
		upsert:   d.Rebind(`INSERT INTO trellis_sessions (token, expiry) VALUES (?, ?) ON CONFLICT (token) DO UPDATE SET expiry = excluded.expiry`),
		clear:    d.Rebind(`DELETE FROM trellis_session_values WHERE token = ?`),
		update:   d.Rebind(`UPDATE trellis_sessions SET expiry = ? WHERE token = ? AND expiry > ?`),
		setValue: d.Rebind(`INSERT INTO trellis_session_values (token, key, value) VALUES (?, ?, ?) ON CONFLICT (token, key) DO UPDATE SET value = excluded.value`),
		delValue: d.Rebind(`DELETE FROM trellis_session_values WHERE token = ? AND key = ?`),
		del:      d.Rebind(`DELETE FROM trellis_sessions WHERE token = ?`),
		expired:  d.Rebind(`DELETE FROM trellis_sessions WHERE expiry <= ?`),
	}}
}

// Load implements Backend.
func (s *SQL) Load(ctx context.Context, token string) (map[string][]byte, time.Time, bool, error) {
	rows, err := s.db.SQL.QueryContext(ctx, s.q.load, token, time.Now().UnixMilli())
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("session: loading: %w", err)
	}
	defer rows.Close()
	var (
		values map[string][]byte
		expiry int64
	)
	for rows.Next() {
		var key sql.NullString
		var value []byte
		if err := rows.Scan(&expiry, &key, &value); err != nil {
			return nil, time.Time{}, false, fmt.Errorf("session: loading: %w", err)
		}
		if values == nil {
			values = map[string][]byte{}
		}
		if key.Valid {
			values[key.String] = value
		}
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, false, fmt.Errorf("session: loading: %w", err)
	}
	if values == nil {
		return nil, time.Time{}, false, nil
	}
	return values, time.UnixMilli(expiry), true, nil
}

// Save implements Backend.
func (s *SQL) Save(ctx context.Context, token string, values map[string][]byte, expiry time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q.upsert, token, expiry.UnixMilli()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.clear, token); err != nil {
			return err
		}
		for k, v := range values {
			if _, err := tx.ExecContext(ctx, s.q.setValue, token, k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// Apply implements Backend.
func (s *SQL) Apply(ctx context.Context, token string, set map[string][]byte, del []string, expiry time.Time) (bool, error) {
	existed := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.update, expiry.UnixMilli(), token, time.Now().UnixMilli())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // destroyed meanwhile: write nothing
		}
		existed = true
		for k, v := range set {
			if _, err := tx.ExecContext(ctx, s.q.setValue, token, k, v); err != nil {
				return err
			}
		}
		for _, k := range del {
			if _, err := tx.ExecContext(ctx, s.q.delValue, token, k); err != nil {
				return err
			}
		}
		return nil
	})
	return existed, err
}

// Delete implements Backend.
func (s *SQL) Delete(ctx context.Context, token string) error {
	if _, err := s.db.SQL.ExecContext(ctx, s.q.del, token); err != nil {
		return fmt.Errorf("session: deleting: %w", err)
	}
	return nil
}

// DeleteExpired implements Backend.
func (s *SQL) DeleteExpired(ctx context.Context) (int, error) {
	res, err := s.db.SQL.ExecContext(ctx, s.q.expired, time.Now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("session: deleting expired: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// inTx runs fn in a transaction, together with the writes deferred in
// ctx's db.Batch (see db.RunBatch): a failure of either rolls back both,
// and the session middleware then answers the request with an error.
func (s *SQL) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	if err := fn(tx); err != nil {
		return errors.Join(fmt.Errorf("session: %w", err), tx.Rollback())
	}
	// Writes the request deferred (a mail it sends) commit with its
	// session: one transaction for the request, not one per write.
	committed, err := db.RunBatch(ctx, s.db, tx)
	if err != nil {
		return errors.Join(fmt.Errorf("session: %w", err), tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("session: committing: %w", err)
	}
	committed()
	return nil
}

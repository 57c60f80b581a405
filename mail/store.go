package mail

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/jobs"
)

// columns are the stored fields of a mail, in both tables.
const columns = `created_at, sender, recipients, to_addrs, subject, html, text, raw`

// insertQueued stores a rendered mail for its delivery job and returns its
// queue id. enqueued says whether the caller enqueues the job in the same
// transaction; if not, the relay does once it has committed. trace is the
// sender's trace context ("" for none), which the job continues.
func insertQueued(ctx context.Context, d *db.DB, tx *sql.Tx, m *Mail, enqueued bool, trace string) (int64, error) {
	rcpts, _ := json.Marshal(m.Recipients)
	to, _ := json.Marshal(m.To)
	p, err := json.Marshal(m.parts)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, d.Rebind(`INSERT INTO trellis_mail_queue (`+columns+`, enqueued, trace, parts)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		m.CreatedAt.UnixMicro(), m.From, string(rcpts), string(to), m.Subject, m.HTML, m.Text, []byte{}, enqueued, trace, string(p)).Scan(&id)
	return id, err
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanMail reads id followed by columns, and then extra.
func scanMail(s scanner, extra ...any) (*Mail, error) {
	var (
		m         Mail
		created   int64
		rcpts, to string
	)
	if err := s.Scan(append([]any{&m.ID, &created, &m.From, &rcpts, &to, &m.Subject, &m.HTML, &m.Text, &m.Raw}, extra...)...); err != nil {
		return nil, err
	}
	m.CreatedAt = time.UnixMicro(created).UTC()
	if err := json.Unmarshal([]byte(rcpts), &m.Recipients); err != nil {
		return nil, fmt.Errorf("mail %d: recipients: %w", m.ID, err)
	}
	if err := json.Unmarshal([]byte(to), &m.To); err != nil {
		return nil, fmt.Errorf("mail %d: to: %w", m.ID, err)
	}
	return &m, nil
}

// queued loads a mail waiting for delivery and builds its raw bytes;
// ErrNotFound when it was delivered already.
func queued(ctx context.Context, d *db.DB, id int64) (*Mail, error) {
	var p string
	m, err := scanMail(d.SQL.QueryRowContext(ctx, d.Rebind(`SELECT id, `+columns+`, parts FROM trellis_mail_queue WHERE id = ?`), id), &p)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	// Neither error goes away on a retry: the job dead-letters at once.
	if p != "" {
		if err := json.Unmarshal([]byte(p), &m.parts); err != nil {
			return nil, jobs.Permanent(fmt.Errorf("mail %d: parts: %w", id, err))
		}
	}
	if err := build(m); err != nil {
		return nil, jobs.Permanent(fmt.Errorf("mail %d: %w", id, err))
	}
	return m, nil
}

// deleteQueued removes a delivered mail from the queue.
func deleteQueued(ctx context.Context, d *db.DB, id int64) error {
	_, err := d.SQL.ExecContext(ctx, d.Rebind(`DELETE FROM trellis_mail_queue WHERE id = ?`), id)
	return err
}

// Outbox holds mail stored instead of sent (development, tests). Only the
// newest mails are kept (mail.outbox_keep, default 500).
type Outbox struct {
	db   *db.DB
	keep int
}

// deliver moves queued mail id, built, into the outbox, once: a second
// delivery of the same id finds nothing to move.
func (o *Outbox) deliver(ctx context.Context, id int64) (moved bool, err error) {
	m, err := queued(ctx, o.db, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	tx, err := o.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, o.db.Rebind(`INSERT INTO trellis_mail_outbox (`+columns+`)
		SELECT created_at, sender, recipients, to_addrs, subject, html, text, ? FROM trellis_mail_queue WHERE id = ?`), m.Raw, id)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, o.db.Rebind(`DELETE FROM trellis_mail_queue WHERE id = ?`), id); err != nil {
		return false, err
	}
	// Keep the newest o.keep mails.
	if _, err := tx.ExecContext(ctx, o.db.Rebind(`DELETE FROM trellis_mail_outbox WHERE id <= (
		SELECT id FROM trellis_mail_outbox ORDER BY id DESC LIMIT 1 OFFSET ?)`), o.keep); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// List returns up to limit mails, newest first (limit <= 0: all kept).
func (o *Outbox) List(ctx context.Context, limit int) ([]Mail, error) {
	if limit <= 0 || limit > o.keep {
		limit = o.keep
	}
	rows, err := o.db.SQL.QueryContext(ctx, o.db.Rebind(`SELECT id, `+columns+` FROM trellis_mail_outbox ORDER BY id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("mail: listing the outbox: %w", err)
	}
	defer rows.Close()
	var out []Mail
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, fmt.Errorf("mail: listing the outbox: %w", err)
		}
		out = append(out, *m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mail: listing the outbox: %w", err)
	}
	return out, nil
}

// Get returns one mail; ErrNotFound when absent.
func (o *Outbox) Get(ctx context.Context, id int64) (*Mail, error) {
	m, err := scanMail(o.db.SQL.QueryRowContext(ctx, o.db.Rebind(`SELECT id, `+columns+` FROM trellis_mail_outbox WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("mail: reading outbox mail %d: %w", id, err)
	}
	return m, nil
}

// Clear deletes every mail in the outbox and returns how many.
func (o *Outbox) Clear(ctx context.Context) (int64, error) {
	res, err := o.db.SQL.ExecContext(ctx, `DELETE FROM trellis_mail_outbox`)
	if err != nil {
		return 0, fmt.Errorf("mail: clearing the outbox: %w", err)
	}
	return res.RowsAffected()
}

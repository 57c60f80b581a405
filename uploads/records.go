package uploads

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/trellis-go/trellis/storage"
)

// ErrNotFound is returned (wrapped) for a file that does not exist or is
// not ready.
var ErrNotFound = errors.New("uploads: file not found")

const fileColumns = `id, COALESCE(owner_id, 0), storage_key, field, size, content_type, sha256, original_name, width, height, COALESCE(thumb_key, ''), created_at`

func scanFile(row interface{ Scan(...any) error }) (*File, error) {
	var f File
	err := row.Scan(&f.ID, &f.OwnerID, &f.Key, &f.Field, &f.Size, &f.ContentType, &f.SHA256, &f.Name, &f.Width, &f.Height, &f.ThumbKey, &f.CreatedAt)
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// Get returns the ready file with the given id, or ErrNotFound.
func (m *Manager) Get(ctx context.Context, id int64) (*File, error) {
	f, err := scanFile(m.db.SQL.QueryRowContext(ctx, m.db.Rebind(`SELECT `+fileColumns+` FROM trellis_files WHERE id = ? AND status = 'ready'`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("uploads: file %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("uploads: loading file %d: %w", id, err)
	}
	return f, nil
}

// List returns the ready files among ids, in id order; missing ids are
// left out.
func (m *Manager) List(ctx context.Context, ids []int64) ([]*File, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := m.db.SQL.QueryContext(ctx, m.db.Rebind(`SELECT `+fileColumns+` FROM trellis_files WHERE status = 'ready' AND id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) ORDER BY id`), args...)
	if err != nil {
		return nil, fmt.Errorf("uploads: listing files: %w", err)
	}
	defer rows.Close()
	var out []*File
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, fmt.Errorf("uploads: listing files: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// insertPending writes the pending row for an object about to be stored.
func (m *Manager) insertPending(ctx context.Context, f *File) error {
	err := m.db.SQL.QueryRowContext(ctx, m.db.Rebind(`INSERT INTO trellis_files
		(owner_id, storage_key, field, size, content_type, sha256, original_name, width, height, status, created_at)
		VALUES (?, ?, ?, 0, ?, '', ?, 0, 0, 'pending', ?) RETURNING id`),
		nullID(f.OwnerID), f.Key, f.Field, f.ContentType, f.Name, f.CreatedAt).Scan(&f.ID)
	if err != nil {
		return fmt.Errorf("uploads: recording an upload: %w", err)
	}
	return nil
}

// markReady fills in what storing found out and makes the row visible.
func (m *Manager) markReady(ctx context.Context, tx *sql.Tx, f *File) error {
	res, err := tx.ExecContext(ctx, m.db.Rebind(`UPDATE trellis_files SET size = ?, content_type = ?, sha256 = ?, original_name = ?, width = ?, height = ?, status = 'ready'
		WHERE id = ? AND status = 'pending'`), f.Size, f.ContentType, f.SHA256, f.Name, f.Width, f.Height, f.ID)
	if err != nil {
		return fmt.Errorf("uploads: recording file %d: %w", f.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("uploads: file %d was removed while it was uploaded", f.ID)
	}
	return nil
}

// discard removes stored objects and their rows after a failed upload;
// what it cannot remove the cleanup job will. It runs even when the
// request was cancelled (a dropped client is a common cause), but keeps
// the request's trace.
func (m *Manager) discard(ctx context.Context, files []*File) {
	ctx = context.WithoutCancel(ctx)
	for _, f := range files {
		if err := m.Store.Delete(ctx, f.Key); err != nil {
			m.logger.Warn("uploads: removing an object of a failed upload", "key", f.Key, "error", err)
			continue
		}
		if f.ID != 0 {
			if _, err := m.db.SQL.ExecContext(ctx, m.db.Rebind(`DELETE FROM trellis_files WHERE id = ?`), f.ID); err != nil {
				m.logger.Warn("uploads: removing the row of a failed upload", "id", f.ID, "error", err)
			}
		}
	}
}

// DeleteTx deletes the rows of files ids inside the app's transaction tx
// (for example with the note they belong to) and returns a function that
// removes their objects: call it after the commit. Objects it fails to
// remove, or that a crash leaves, have no row and are removed by the
// cleanup job.
func (m *Manager) DeleteTx(ctx context.Context, tx *sql.Tx, ids ...int64) (purge func(context.Context), err error) {
	var keys []string
	for _, id := range ids {
		var key, thumb string
		err := tx.QueryRowContext(ctx, m.db.Rebind(`DELETE FROM trellis_files WHERE id = ? RETURNING storage_key, COALESCE(thumb_key, '')`), id).Scan(&key, &thumb)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("uploads: deleting file %d: %w", id, err)
		}
		keys = append(keys, key)
		if thumb != "" {
			keys = append(keys, thumb)
		}
	}
	return func(ctx context.Context) {
		for _, k := range keys {
			if err := m.Store.Delete(ctx, k); err != nil {
				m.logger.Warn("uploads: removing a deleted file's object (the cleanup job will retry)", "key", k, "error", err)
			}
		}
	}, nil
}

// Delete deletes files ids: their rows, then their objects.
func (m *Manager) Delete(ctx context.Context, ids ...int64) error {
	tx, err := m.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("uploads: deleting files: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	purge, err := m.DeleteTx(ctx, tx, ids...)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("uploads: deleting files: %w", err)
	}
	purge(ctx)
	return nil
}

// open opens f's object, or its thumbnail.
func (m *Manager) open(ctx context.Context, key string) (storage.Object, error) {
	obj, err := m.Store.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("uploads: opening %s: %w", key, err)
	}
	return obj, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

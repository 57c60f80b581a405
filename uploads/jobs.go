package uploads

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"time"

	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/storage"
)

// thumbType is the content type of every thumbnail.
const thumbType = "image/png"

// ThumbnailArgs is the job that makes a file's thumbnail.
type ThumbnailArgs struct {
	// FileID is the image's record.
	FileID int64 `json:"file_id"`
	// Size is the thumbnail's longest side in pixels.
	Size int `json:"size"`
}

// Kind names the job.
func (ThumbnailArgs) Kind() string { return "trellis_file_thumbnail" }

type thumbWorker struct {
	jobs.WorkerDefaults[ThumbnailArgs]
	m *Manager
}

// Work decodes the stored image (checking its size again), scales it and
// stores the thumbnail under a new key recorded on the file's row.
func (w *thumbWorker) Work(ctx context.Context, job *jobs.Job[ThumbnailArgs]) error {
	m := w.m
	f, err := m.Get(ctx, job.Args.FileID)
	if errors.Is(err, ErrNotFound) {
		return nil // deleted since
	}
	if err != nil {
		return err
	}
	if f.ThumbKey != "" {
		return nil
	}
	size := job.Args.Size
	if size <= 0 || size > 1024 {
		return jobs.Permanent(fmt.Errorf("uploads: thumbnail size %d is not from 1 to 1024", size))
	}
	obj, err := m.open(ctx, f.Key)
	if errors.Is(err, storage.ErrNotFound) {
		return jobs.Permanent(err)
	}
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(obj, f.Size+1))
	_ = obj.Close()
	if err != nil {
		return fmt.Errorf("uploads: reading file %d: %w", f.ID, err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return jobs.Permanent(fmt.Errorf("uploads: file %d is not an image: %w", f.ID, err))
	}
	if err := m.checkPixels(cfg, 1); err != nil {
		return jobs.Permanent(err)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return jobs.Permanent(fmt.Errorf("uploads: decoding file %d: %w", f.ID, err))
	}
	var out bytes.Buffer
	if err := png.Encode(&out, thumbnail(img, size)); err != nil {
		return fmt.Errorf("uploads: encoding a thumbnail: %w", err)
	}
	key := storage.NewKey()
	if err := m.Store.Put(ctx, key, bytes.NewReader(out.Bytes()), int64(out.Len()), thumbType); err != nil {
		return err
	}
	res, err := m.db.SQL.ExecContext(ctx, m.db.Rebind(`UPDATE trellis_files SET thumb_key = ? WHERE id = ? AND thumb_key IS NULL`), key, f.ID)
	if n, _ := rowsAffected(res, err); err != nil || n != 1 {
		_ = m.Store.Delete(ctx, key)
		if err != nil {
			return fmt.Errorf("uploads: recording the thumbnail of file %d: %w", f.ID, err)
		}
	}
	return nil
}

func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// CleanupArgs is the periodic job that removes what failed or interrupted
// uploads and deletions left: rows still pending after
// storage.cleanup_after (with their objects), objects older than that with
// no row, and stale temporary files of the local store.
type CleanupArgs struct{}

// Kind names the job.
func (CleanupArgs) Kind() string { return "trellis_files_cleanup" }

type cleanupWorker struct {
	jobs.WorkerDefaults[CleanupArgs]
	m *Manager
}

// Work runs Cleanup.
func (w *cleanupWorker) Work(ctx context.Context, _ *jobs.Job[CleanupArgs]) error {
	_, err := w.m.Cleanup(ctx)
	return err
}

// CleanupReport counts what Cleanup removed.
type CleanupReport struct {
	// PendingRows are rows of uploads that never finished.
	PendingRows int
	// Orphans are objects without a row.
	Orphans int
	// TempFiles are the local store's stale temporary files.
	TempFiles int
}

// Cleanup removes, older than storage.cleanup_after: pending rows and
// their objects, objects no row refers to, and temporary files. The
// cleanup job runs it on storage.cleanup_schedule.
func (m *Manager) Cleanup(ctx context.Context) (CleanupReport, error) {
	var rep CleanupReport
	before := m.now().Add(-m.cfg.CleanupAfter)
	rows, err := m.db.SQL.QueryContext(ctx, m.db.Rebind(`SELECT id, storage_key FROM trellis_files WHERE status = 'pending' AND created_at < ?`), before.UTC())
	if err != nil {
		return rep, fmt.Errorf("uploads: cleanup: %w", err)
	}
	type pending struct {
		id  int64
		key string
	}
	var stale []pending
	for rows.Next() {
		var p pending
		if err := rows.Scan(&p.id, &p.key); err != nil {
			_ = rows.Close()
			return rep, fmt.Errorf("uploads: cleanup: %w", err)
		}
		stale = append(stale, p)
	}
	_ = rows.Close()
	for _, p := range stale {
		if err := m.Store.Delete(ctx, p.key); err != nil {
			return rep, fmt.Errorf("uploads: cleanup: %w", err)
		}
		if _, err := m.db.SQL.ExecContext(ctx, m.db.Rebind(`DELETE FROM trellis_files WHERE id = ? AND status = 'pending'`), p.id); err != nil {
			return rep, fmt.Errorf("uploads: cleanup: %w", err)
		}
		rep.PendingRows++
	}
	err = m.Store.Walk(ctx, func(info storage.Info) error {
		if !info.ModTime.Before(before) {
			return nil
		}
		var n int
		if err := m.db.SQL.QueryRowContext(ctx, m.db.Rebind(`SELECT COUNT(*) FROM trellis_files WHERE storage_key = ? OR thumb_key = ?`), info.Key, info.Key).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if err := m.Store.Delete(ctx, info.Key); err != nil {
			return err
		}
		rep.Orphans++
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("uploads: cleanup: %w", err)
	}
	if sw, ok := m.Store.(interface {
		SweepTemp(context.Context, time.Time) (int, error)
	}); ok {
		n, err := sw.SweepTemp(ctx, before)
		rep.TempFiles = n
		if err != nil {
			return rep, fmt.Errorf("uploads: cleanup: %w", err)
		}
	}
	return rep, nil
}

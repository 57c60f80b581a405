package demo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/authz"
	"github.com/trellis-go/trellis/examples/demo/views"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/session"
	"github.com/trellis-go/trellis/uploads"
)

// avatarPolicy: one image, at most 2 MB, re-encoded, with a thumbnail for
// the header.
var avatarPolicy = uploads.Field{Name: "avatar", Types: strings.Split(views.AvatarTypes, ","), MaxBytes: 2 << 20, Image: true, Thumbnail: 64, Required: true}

// attachmentPolicy: up to 5 allowlisted files of at most 10 MB each.
var attachmentPolicy = uploads.Field{Name: "file", Types: strings.Split(views.AttachmentTypes, ","), MaxBytes: 10 << 20, MaxFiles: 5, Required: true}

// files serves the demo's avatar page and note attachments.
type files struct {
	app *trellis.App
}

func (f *files) routes(app *trellis.App, n *notes) {
	app.With(app.Auth.RequireUser).Get("/account/avatar", f.avatarPage)
	app.Upload("/account/avatar", app.Auth.RequireUser(http.HandlerFunc(f.uploadAvatar)).ServeHTTP)
	// Attaching files edits the note: the same policy decides.
	edit := app.Authz.Require("note.edit", n.load, authz.Hide("note.read"))
	app.Upload("/notes/{id}/files", app.Auth.RequireUser(edit(http.HandlerFunc(f.attach))).ServeHTTP)
}

// avatar returns the user's avatar (zero when none).
func (f *files) avatar(ctx context.Context, userID int64) (views.Avatar, error) {
	var a views.Avatar
	var thumb string
	d := f.app.DB
	err := d.SQL.QueryRowContext(ctx, d.Rebind(`SELECT f.id, COALESCE(f.thumb_key, '') FROM demo_avatars a JOIN trellis_files f ON f.id = a.file_id
		WHERE a.user_id = ? AND f.status = 'ready'`), userID).Scan(&a.FileID, &thumb)
	if errors.Is(err, sql.ErrNoRows) {
		return views.Avatar{}, nil
	}
	if err != nil {
		return views.Avatar{}, fmt.Errorf("demo: loading the avatar: %w", err)
	}
	a.Thumb = thumb != ""
	return a, nil
}

// navAvatar is the header's avatar; the nav renders even when the
// database is down, so errors show no avatar.
func (f *files) navAvatar(ctx context.Context) (views.Avatar, bool) {
	u := auth.CurrentUser(ctx)
	if u == nil {
		return views.Avatar{}, false
	}
	a, _ := f.avatar(ctx, u.ID)
	return a, true
}

func (f *files) avatarPage(w http.ResponseWriter, r *http.Request) {
	a, err := f.avatar(r.Context(), auth.CurrentUser(r.Context()).ID)
	if err != nil {
		f.app.Render.Error(w, r, err)
		return
	}
	f.app.Render.Page(w, r, "Your avatar", views.AvatarPage(a, ""))
}

func (f *files) uploadAvatar(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	user := auth.CurrentUser(ctx).ID
	var old int64
	_, err := f.app.Files.Receive(r, user, uploads.Policy{
		Fields: []uploads.Field{avatarPolicy}, MaxFiles: 1, MaxBytes: 3 << 20,
		Attach: func(ctx context.Context, tx *sql.Tx, fs []*uploads.File, _ url.Values) error {
			d := f.app.DB
			if err := tx.QueryRowContext(ctx, d.Rebind(`SELECT file_id FROM demo_avatars WHERE user_id = ?`), user).Scan(&old); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("demo: reading the old avatar: %w", err)
			}
			_, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO demo_avatars (user_id, file_id) VALUES (?, ?)
				ON CONFLICT (user_id) DO UPDATE SET file_id = excluded.file_id`), user, fs[0].ID)
			if err != nil {
				return fmt.Errorf("demo: saving the avatar: %w", err)
			}
			return nil
		},
	})
	if err != nil {
		a, _ := f.avatar(ctx, user)
		msg := uploads.Message(err)
		f.app.Files.FormError(w, r, err, "#avatar-panel", render.View{Title: "Your avatar", Content: views.AvatarPage(a, msg), Partial: views.AvatarPanel(a, msg)})
		return
	}
	if old != 0 {
		if err := f.app.Files.Delete(ctx, old); err != nil {
			f.app.Logger.Warn("demo: deleting the old avatar", "error", err)
		}
	}
	f.app.Sessions.Flash(ctx, session.Success, "Avatar updated.")
	render.Redirect(w, r, "/account/avatar")
}

// noteFiles lists a note's attachments.
func (f *files) noteFiles(ctx context.Context, noteID int64) ([]views.Attachment, error) {
	d := f.app.DB
	rows, err := d.SQL.QueryContext(ctx, d.Rebind(`SELECT f.id, f.original_name, f.size, f.content_type FROM demo_note_files n
		JOIN trellis_files f ON f.id = n.file_id WHERE n.note_id = ? AND f.status = 'ready' ORDER BY f.id`), noteID)
	if err != nil {
		return nil, fmt.Errorf("demo: listing attachments: %w", err)
	}
	defer rows.Close()
	var out []views.Attachment
	for rows.Next() {
		var a views.Attachment
		if err := rows.Scan(&a.FileID, &a.Name, &a.Size, &a.Type); err != nil {
			return nil, fmt.Errorf("demo: listing attachments: %w", err)
		}
		if a.Name == "" {
			a.Name = "file " + strconv.FormatInt(a.FileID, 10)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (f *files) attach(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	note := (&notes{}).find(r)
	user := auth.CurrentUser(ctx).ID
	_, err := f.app.Files.Receive(r, user, uploads.Policy{
		Fields: []uploads.Field{attachmentPolicy},
		Attach: func(ctx context.Context, tx *sql.Tx, fs []*uploads.File, _ url.Values) error {
			d := f.app.DB
			// The note may have been deleted while the files were sent.
			var owner int64
			if err := tx.QueryRowContext(ctx, d.Rebind(`SELECT user_id FROM notes WHERE id = ?`), note.ID).Scan(&owner); err != nil || owner != user {
				return errNoNote
			}
			for _, file := range fs {
				if _, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO demo_note_files (note_id, file_id) VALUES (?, ?)`), note.ID, file.ID); err != nil {
					return fmt.Errorf("demo: attaching a file: %w", err)
				}
			}
			return nil
		},
	})
	list, lerr := f.noteFiles(ctx, note.ID)
	if lerr != nil {
		f.app.Render.Error(w, r, lerr)
		return
	}
	if err != nil {
		msg := uploads.Message(err)
		f.app.Files.FormError(w, r, err, "#note-files", render.View{Title: note.Title, Content: views.NotePageWithFiles(*note, list, msg), Partial: views.NoteFiles(note.ID, list, msg)})
		return
	}
	if len(list) > 0 {
		f.app.Sessions.Flash(ctx, session.Success, "Attached.")
	}
	render.Redirect(w, r, "/notes/"+strconv.FormatInt(note.ID, 10))
}

// deleteNoteFiles deletes the files attached to a note inside tx; call
// the returned function after the commit.
func (f *files) deleteNoteFiles(ctx context.Context, tx *sql.Tx, noteID int64) (func(context.Context), error) {
	d := f.app.DB
	rows, err := tx.QueryContext(ctx, d.Rebind(`SELECT file_id FROM demo_note_files WHERE note_id = ?`), noteID)
	if err != nil {
		return nil, fmt.Errorf("demo: listing attachments: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("demo: listing attachments: %w", err)
		}
		ids = append(ids, id)
	}
	_ = rows.Close()
	return f.app.Files.DeleteTx(ctx, tx, ids...)
}

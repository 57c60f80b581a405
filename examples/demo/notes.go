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
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/authz"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/examples/demo/views"
	"github.com/trellis-go/trellis/form"
	"github.com/trellis-go/trellis/htmx"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/session"
)

// NoteInput is the note form.
type NoteInput struct {
	Title string `form:"title" validate:"required,max=120" label:"Title"`
	Body  string `form:"body" validate:"max=10000" label:"Body"`
}

// notesPerPage is the page size of the list (and of infinite scroll).
const notesPerPage = 20

// notes serves the Notes resource. Who may read, edit and delete a note
// is decided by the policies (policies/notes.cedar); a note the user may
// not even read is answered 404, so its existence does not leak. The list
// shows the signed-in user's own notes.
type notes struct {
	app   *trellis.App
	db    *db.DB
	files *files
}

func (n *notes) routes(app *trellis.App) {
	app.Route("/notes", func(r chi.Router) {
		r.Use(app.Auth.RequireUser)
		r.Get("/", n.list)
		r.Get("/new", n.newPage)
		r.Post("/", n.create)
		read := app.Authz.Require("note.read", n.load, authz.Hide("note.read"))
		edit := app.Authz.Require("note.edit", n.load, authz.Hide("note.read"))
		del := app.Authz.Require("note.delete", n.load, authz.Hide("note.read"))
		r.With(read).Get("/{id}", n.show)
		r.With(edit).Get("/{id}/edit", n.edit)
		r.With(edit).Put("/{id}", n.update)
		r.With(del).Delete("/{id}", n.delete)
	})
}

// place is where a note is shown: a list row, the show page's card, or a
// full page (no JavaScript). Inline edits keep it so the answer fits.
func place(r *http.Request) string {
	switch v := r.FormValue("in"); v {
	case "row", "card":
		if htmx.IsRequest(r) {
			return v
		}
	}
	return "page"
}

func (n *notes) userID(r *http.Request) int64 { return auth.CurrentUser(r.Context()).ID }

var errNoNote = render.NewError(http.StatusNotFound, "That note does not exist.")

// load is the guards' ResourceFunc: the note in the path, whoever owns it.
func (n *notes) load(r *http.Request) (authz.Resource, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return authz.Resource{}, errNoNote
	}
	var note views.Note
	err = n.db.SQL.QueryRowContext(r.Context(), n.db.Rebind(`SELECT id, user_id, title, body, created_at, updated_at FROM notes WHERE id = ?`),
		id).Scan(&note.ID, &note.OwnerID, &note.Title, &note.Body, &note.CreatedAt, &note.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return authz.Resource{}, errNoNote
	}
	if err != nil {
		return authz.Resource{}, fmt.Errorf("demo: loading note: %w", err)
	}
	return note.Resource(), nil
}

// find is the note the guard loaded and authorized.
func (n *notes) find(r *http.Request) *views.Note {
	res, _ := authz.Loaded(r.Context())
	return res.Value.(*views.Note)
}

// search returns one page of the user's notes matching q, and the count.
func (n *notes) search(ctx context.Context, user int64, q string, page int) ([]views.Note, int, error) {
	where, args := "user_id = ?", []any{user}
	if q != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(q)) + "%"
		where += ` AND (lower(title) LIKE ? ESCAPE '\' OR lower(body) LIKE ? ESCAPE '\')`
		args = append(args, like, like)
	}
	var total int
	if err := n.db.SQL.QueryRowContext(ctx, n.db.Rebind(`SELECT COUNT(*) FROM notes WHERE `+where), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("demo: counting notes: %w", err)
	}
	rows, err := n.db.SQL.QueryContext(ctx, n.db.Rebind(`SELECT id, user_id, title, body, created_at, updated_at FROM notes WHERE `+where+
		` ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?`), append(args, notesPerPage, (page-1)*notesPerPage)...)
	if err != nil {
		return nil, 0, fmt.Errorf("demo: listing notes: %w", err)
	}
	defer rows.Close()
	var out []views.Note
	for rows.Next() {
		var note views.Note
		if err := rows.Scan(&note.ID, &note.OwnerID, &note.Title, &note.Body, &note.CreatedAt, &note.UpdatedAt); err != nil {
			return nil, 0, fmt.Errorf("demo: listing notes: %w", err)
		}
		out = append(out, note)
	}
	return out, total, rows.Err()
}

func (n *notes) list(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > 200 {
		n.app.Render.Error(w, r, render.NewError(http.StatusBadRequest, "The search is too long."))
		return
	}
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if r.URL.Query().Get("page") == "" {
		page, err = 1, nil
	}
	if err != nil || page < 1 || page > 10000 {
		n.app.Render.Error(w, r, render.NewError(http.StatusBadRequest, "The page number is not valid."))
		return
	}
	list, total, err := n.search(r.Context(), n.userID(r), q, page)
	if err != nil {
		n.app.Render.Error(w, r, err)
		return
	}
	v := views.NotesView{Notes: list, Total: total, Q: q, Page: page}
	if page*notesPerPage < total {
		next := url.Values{"page": {strconv.Itoa(page + 1)}}
		if q != "" {
			next.Set("q", q)
		}
		v.MoreURL = "/notes?" + next.Encode()
	}
	htmx.AddVary(w.Header(), htmx.HeaderTarget)
	partial := templ.Join(views.NoteResults(v), views.NoteCountOOB(total))
	if page > 1 {
		partial = views.NoteRows(v) // infinite scroll appends rows
	}
	n.app.Render.View(w, r, render.View{Title: "Your notes", Content: views.NotesPage(v), Partial: partial})
}

func noteView(f *form.Form) render.View {
	return render.View{Title: "New note", Content: views.NewNotePage(f), Partial: views.NewNoteForm(f)}
}

func (n *notes) newPage(w http.ResponseWriter, r *http.Request) {
	n.app.Render.Page(w, r, "New note", views.NewNotePage(form.NewForm(nil)))
}

func (n *notes) create(w http.ResponseWriter, r *http.Request) {
	var in NoteInput
	if _, ok := n.app.Forms.Bind(w, r, &in, noteView); !ok {
		return
	}
	now := time.Now().UTC()
	var id int64
	err := n.db.SQL.QueryRowContext(r.Context(), n.db.Rebind(`INSERT INTO notes (user_id, title, body, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`), n.userID(r), in.Title, in.Body, now, now).Scan(&id)
	if err != nil {
		n.app.Render.Error(w, r, fmt.Errorf("demo: creating note: %w", err))
		return
	}
	n.app.Sessions.Flash(r.Context(), session.Success, "Note created.")
	render.Redirect(w, r, "/notes/"+strconv.FormatInt(id, 10))
}

func (n *notes) show(w http.ResponseWriter, r *http.Request) {
	note := n.find(r)
	switch place(r) {
	case "row":
		n.app.Render.Fragment(w, r, http.StatusOK, views.NoteRow(*note))
	case "card":
		n.app.Render.Fragment(w, r, http.StatusOK, views.NoteCard(*note))
	default:
		list, err := n.files.noteFiles(r.Context(), note.ID)
		if err != nil {
			n.app.Render.Error(w, r, err)
			return
		}
		n.app.Render.Page(w, r, note.Title, views.NotePageWithFiles(*note, list, ""))
	}
}

// editView is the edit form where the note is shown.
func editView(note views.Note, where string) func(*form.Form) render.View {
	return func(f *form.Form) render.View {
		v := render.View{Title: "Edit note", Content: views.EditNotePage(note, f)}
		switch where {
		case "row":
			v.Partial = views.NoteEditRow(note, f)
		case "card":
			v.Partial = views.NoteEditCard(note, f)
		default:
			v.Partial = views.EditNoteForm(note, f)
		}
		return v
	}
}

func (n *notes) edit(w http.ResponseWriter, r *http.Request) {
	note := n.find(r)
	f := form.NewForm(url.Values{"title": {note.Title}, "body": {note.Body}})
	v := editView(*note, place(r))(f)
	n.app.Render.View(w, r, v)
}

func (n *notes) update(w http.ResponseWriter, r *http.Request) {
	note := n.find(r)
	where := place(r)
	var in NoteInput
	if _, ok := n.app.Forms.Bind(w, r, &in, editView(*note, where)); !ok {
		return
	}
	note.Title, note.Body, note.UpdatedAt = in.Title, in.Body, time.Now().UTC()
	_, err := n.db.SQL.ExecContext(r.Context(), n.db.Rebind(`UPDATE notes SET title = ?, body = ?, updated_at = ? WHERE id = ?`),
		note.Title, note.Body, note.UpdatedAt, note.ID)
	if err != nil {
		n.app.Render.Error(w, r, fmt.Errorf("demo: updating note: %w", err))
		return
	}
	n.app.Sessions.Flash(r.Context(), session.Success, "Note saved.")
	switch where {
	case "row":
		n.app.Render.Fragment(w, r, http.StatusOK, views.NoteRow(*note))
	case "card":
		n.app.Render.Fragment(w, r, http.StatusOK, views.NoteCard(*note))
	default:
		render.Redirect(w, r, "/notes/"+strconv.FormatInt(note.ID, 10))
	}
}

func (n *notes) delete(w http.ResponseWriter, r *http.Request) {
	note := n.find(r)
	// The note and its files' rows go in one transaction; the files'
	// objects after it (the cleanup job removes any a crash leaves).
	purge, err := n.deleteNote(r.Context(), note.ID)
	if err != nil {
		n.app.Render.Error(w, r, err)
		return
	}
	purge(context.WithoutCancel(r.Context()))
	n.app.Sessions.Flash(r.Context(), session.Info, "Note “"+note.Title+"” deleted.")
	if !htmx.IsRequest(r) || htmx.ParseRequest(r).Target != "note-"+strconv.FormatInt(note.ID, 10) {
		render.Redirect(w, r, "/notes")
		return
	}
	var total int
	if err := n.db.SQL.QueryRowContext(r.Context(), n.db.Rebind(`SELECT COUNT(*) FROM notes WHERE user_id = ?`), n.userID(r)).Scan(&total); err != nil {
		n.app.Render.Error(w, r, err)
		return
	}
	// The row swaps out with an empty body; the count updates out of band.
	n.app.Render.Fragment(w, r, http.StatusOK, views.NoteCountOOB(total))
}

// deleteNote deletes the note and its attachments' rows, returning what
// removes the attachments' objects.
func (n *notes) deleteNote(ctx context.Context, id int64) (func(context.Context), error) {
	tx, err := n.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("demo: deleting note: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	purge, err := n.files.deleteNoteFiles(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, n.db.Rebind(`DELETE FROM notes WHERE id = ?`), id); err != nil {
		return nil, fmt.Errorf("demo: deleting note: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("demo: deleting note: %w", err)
	}
	return purge, nil
}

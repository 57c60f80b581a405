package middleware

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
)

// deferredDB is a SQLite database with a table the handlers write to.
func deferredDB(t *testing.T) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), config.Default(config.Test).Database, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if _, err := d.SQL.Exec(`CREATE TABLE deferred (n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return d
}

func deferredRows(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.SQL.QueryRow(`SELECT COUNT(*) FROM deferred`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// rowsAtHeaders records, when the response's headers go out, how many rows
// the database holds.
type rowsAtHeaders struct {
	http.ResponseWriter
	t    *testing.T
	d    *db.DB
	rows int
	seen bool
}

func (w *rowsAtHeaders) note() {
	if !w.seen {
		w.seen, w.rows = true, deferredRows(w.t, w.d)
	}
}
func (w *rowsAtHeaders) WriteHeader(code int)        { w.note(); w.ResponseWriter.WriteHeader(code) }
func (w *rowsAtHeaders) Write(b []byte) (int, error) { w.note(); return w.ResponseWriter.Write(b) }
func (w *rowsAtHeaders) Flush()                      { w.note(); w.ResponseWriter.(http.Flusher).Flush() }

// TestDeferredCommitsBeforeTheResponse: whatever way a handler starts its
// response, the writes it deferred are committed first; a write deferred
// after that is refused (the caller writes at once).
func TestDeferredCommitsBeforeTheResponse(t *testing.T) {
	starts := map[string]func(w http.ResponseWriter){
		"WriteHeader": func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) },
		"Write":       func(w http.ResponseWriter) { _, _ = w.Write([]byte("hi")) },
		"WriteString": func(w http.ResponseWriter) { _, _ = io.WriteString(w, "hi") },
		"ReadFrom":    func(w http.ResponseWriter) { _, _ = w.(io.ReaderFrom).ReadFrom(strings.NewReader("hi")) },
		"Flush":       func(w http.ResponseWriter) { _ = http.NewResponseController(w).Flush() },
		"return":      func(http.ResponseWriter) {},
	}
	for name, start := range starts {
		t.Run(name, func(t *testing.T) {
			d := deferredDB(t)
			var late bool
			h := Deferred(d, slog.New(slog.DiscardHandler), func(w http.ResponseWriter, r *http.Request, status int, err error) {
				t.Errorf("onError(%d, %v) on a write that succeeds", status, err)
			})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for i := range 2 {
					if !db.Defer(r.Context(), d, func(ctx context.Context, tx *sql.Tx) error {
						_, err := tx.ExecContext(ctx, `INSERT INTO deferred (n) VALUES (?)`, i)
						return err
					}, nil) {
						t.Error("no batch in the request's context")
					}
				}
				start(w)
				late = db.Defer(r.Context(), d, func(context.Context, *sql.Tx) error { return nil }, nil)
			}))
			rec := &rowsAtHeaders{ResponseWriter: httptest.NewRecorder(), t: t, d: d}
			h.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
			if name != "return" && (!rec.seen || rec.rows != 2) {
				t.Fatalf("the response started with %d of 2 deferred rows committed (seen %v)", rec.rows, rec.seen)
			}
			if deferredRows(t, d) != 2 {
				t.Fatalf("%d rows after the request, want 2", deferredRows(t, d))
			}
			if late != (name == "return") {
				t.Fatalf("late Defer accepted = %v: a write deferred after the response started is refused (it would never commit), one before the handler's return is flushed then", late)
			}
		})
	}
}

// TestDeferredFailureAnswers500: when the deferred writes cannot commit,
// the handler's response (status, body, redirect) is dropped and onError
// answers 500; nothing of the failed writes stays.
func TestDeferredFailureAnswers500(t *testing.T) {
	for _, late := range []bool{false, true} {
		d := deferredDB(t)
		var logs bytes.Buffer
		var got error
		h := Deferred(d, slog.New(slog.NewTextHandler(&logs, nil)), func(w http.ResponseWriter, r *http.Request, status int, err error) {
			got = err
			w.WriteHeader(status)
			_, _ = io.WriteString(w, "error page")
		})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			db.Defer(r.Context(), d, func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO deferred (n) VALUES (1)`)
				return err
			}, nil)
			db.Defer(r.Context(), d, func(context.Context, *sql.Tx) error { return errors.New("disk full") }, nil)
			if late {
				return // the flush at the handler's return fails
			}
			w.Header().Set("Location", "/done")
			w.Header().Set("HX-Redirect", "/done")
			w.WriteHeader(http.StatusSeeOther)
			_, _ = io.WriteString(w, "see other")
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
		if rec.Code != http.StatusInternalServerError || rec.Body.String() != "error page" {
			t.Fatalf("late=%v: %d %q, want 500 and the error page", late, rec.Code, rec.Body.String())
		}
		if rec.Header().Get("Location") != "" || rec.Header().Get("HX-Redirect") != "" {
			t.Fatalf("the error page kept the handler's redirect: %v", rec.Header())
		}
		if got == nil || !strings.Contains(logs.String(), "disk full") {
			t.Fatalf("error %v, log %q: the failure is not reported", got, logs.String())
		}
		if deferredRows(t, d) != 0 {
			t.Fatal("a write of the failed batch was committed")
		}
	}
}

package trellis_test

import (
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/trellis-go/trellis/mail"
	"github.com/trellis-go/trellis/trellistest"
)

// TestMailCommitsWithTheRequest: a request that saves its session and
// sends a mail commits both in one transaction before its response: the
// mail is stored when the client has the answer, and when the mail cannot
// be stored the request fails as a whole — 500, and the session change is
// not saved either (with sessions in the database). A request that writes no session stores its mail just
// before its response, with the same guarantee.
func TestMailCommitsWithTheRequest(t *testing.T) {
	trellistest.ForEachBackend(t, func(t *testing.T, b trellistest.Backend) {
		a := trellistest.NewApp(t, nil, trellistest.OnBackend(b))
		send := func(w http.ResponseWriter, r *http.Request) bool {
			if err := a.App.Mail.Send(r.Context(), mail.Message{To: []string{"ann@example.com"}, Subject: "Note " + r.PostFormValue("note"), Text: mail.PlainText("x")}); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return false
			}
			return true
		}
		a.App.Post("/note", func(w http.ResponseWriter, r *http.Request) {
			a.App.Sessions.Put(r.Context(), "note", r.PostFormValue("note"))
			if send(w, r) {
				w.WriteHeader(http.StatusNoContent)
			}
		})
		a.App.Post("/mail-only", func(w http.ResponseWriter, r *http.Request) {
			if send(w, r) {
				http.Redirect(w, r, "/done", http.StatusSeeOther)
			}
		})
		a.App.Get("/note", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, a.App.Sessions.GetString(r.Context(), "note"))
		})
		stored := func() int {
			var n int
			if err := a.App.DB.SQL.QueryRow(`SELECT (SELECT COUNT(*) FROM trellis_mail_queue) + (SELECT COUNT(*) FROM trellis_mail_outbox)`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		a.PostForm("/note", url.Values{"note": {"one"}}).AssertStatus(http.StatusNoContent)
		if n := stored(); n != 1 {
			t.Fatalf("%d mails stored when the response arrived, want 1", n)
		}
		a.WaitForMail("ann@example.com")
		a.PostForm("/mail-only", url.Values{"note": {"two"}}).AssertStatus(http.StatusSeeOther)
		if n := stored(); n != 2 {
			t.Fatalf("%d mails stored when the response arrived, want 2", n)
		}

		// The mail cannot be stored: the request fails whole.
		if _, err := a.App.DB.SQL.Exec(`ALTER TABLE trellis_mail_queue RENAME TO trellis_mail_queue_away`); err != nil {
			t.Fatal(err)
		}
		// The SQL session store answers 503 when its save (which carried
		// the mail) fails; the mail's own transaction answers 500.
		if res := a.PostForm("/note", url.Values{"note": {"three"}}); res.StatusCode < 500 {
			t.Fatalf("POST /note whose mail cannot be stored: %d, want a 5xx", res.StatusCode)
		}
		res := a.PostForm("/mail-only", url.Values{"note": {"four"}})
		res.AssertStatus(http.StatusInternalServerError)
		if loc := res.Header.Get("Location"); loc != "" {
			t.Fatalf("the failed request still redirects to %q", loc)
		}
		if _, err := a.App.DB.SQL.Exec(`ALTER TABLE trellis_mail_queue_away RENAME TO trellis_mail_queue`); err != nil {
			t.Fatal(err)
		}
		// With sessions in Redis the session and the mail cannot share a
		// transaction: the session is saved, the answer is still an error.
		if body := a.Get("/note").Body; b != trellistest.Redis && body != "one" {
			t.Fatalf("session note %q after the failed request, want %q: it was saved without its mail", body, "one")
		}
		if n := stored(); n != 2 {
			t.Fatalf("%d mails stored, want 2", n)
		}
	})
}

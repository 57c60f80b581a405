package trellis_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/mail"
	"github.com/trellis-go/trellis/trellistest"
)

// inviteHTML is a mail body with a link; name is attacker-controlled.
func inviteHTML(name, link string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := fmt.Fprintf(w, `<p>Hello %s,</p><p><a href="%s">Accept the invitation</a></p>`,
			templ.EscapeString(name), templ.EscapeString(link))
		return err
	})
}

// mailApp serves POST /invite, which mails an invitation link to the
// posted address.
func mailApp(t *testing.T, b trellistest.Backend, opts ...trellistest.AppOption) *trellistest.App {
	t.Helper()
	a := trellistest.NewApp(t, nil, append([]trellistest.AppOption{trellistest.OnBackend(b)}, opts...)...)
	a.App.Post("/invite", func(w http.ResponseWriter, r *http.Request) {
		err := a.App.Mail.Send(r.Context(), mail.Message{
			To:      []string{r.PostFormValue("email")},
			Subject: "You are invited",
			HTML:    inviteHTML(r.PostFormValue("name"), a.App.Mail.URL("/accept?token=t0k3n&who=1")),
		})
		if errors.Is(err, mail.ErrInvalid) {
			http.Error(w, "That address cannot receive mail.", http.StatusUnprocessableEntity)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	a.App.Get("/accept", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "accepted %s", r.URL.Query().Get("token"))
	})
	return a
}

// TestMailThroughTheStack: a request sends a mail; the delivery job puts it
// in the outbox, where WaitForMail finds it with an absolute link the
// client can follow.
func TestMailThroughTheStack(t *testing.T) {
	trellistest.ForEachBackend(t, func(t *testing.T, b trellistest.Backend) {
		a := mailApp(t, b, trellistest.Configure(func(c *config.Config) { c.App.BaseURL = "https://app.example.com" }))
		a.PostForm("/invite", url.Values{"email": {"Ann <ann@example.com>"}, "name": {"<b>Ann</b>"}}).AssertStatus(http.StatusNoContent)

		m := a.WaitForMail("ann@example.com")
		if m.Subject != "You are invited" || len(m.To) != 1 || m.To[0] != "ann@example.com" {
			t.Fatalf("mail: subject %q, to %v", m.Subject, m.To)
		}
		if !strings.Contains(m.Text, "https://app.example.com/accept?token=t0k3n&who=1") {
			t.Errorf("the text part has no absolute link:\n%s", m.Text)
		}
		if strings.Contains(m.HTML, "<b>Ann</b>") || !strings.Contains(m.HTML, "&lt;b&gt;Ann&lt;/b&gt;") {
			t.Errorf("the name is not escaped in the HTML part:\n%s", m.HTML)
		}
		raw := string(m.Raw)
		for _, want := range []string{"Subject: You are invited", "Message-ID: <", "Date: ", `To: "Ann" <ann@example.com>`, "multipart/alternative", "text/html"} {
			if !strings.Contains(raw, want) {
				t.Errorf("raw source lacks %q:\n%s", want, raw)
			}
		}
		link := trellistest.LinkIn(t, m, "/accept")
		if link != "/accept?token=t0k3n&who=1" {
			t.Errorf("LinkIn = %q", link)
		}
		a.Get(link).AssertStatus(http.StatusOK).AssertContains("accepted t0k3n")

		// A second mail to the same address is a new one.
		a.PostForm("/invite", url.Values{"email": {"ann@example.com"}, "name": {"Ann"}}).AssertStatus(http.StatusNoContent)
		if m2 := a.WaitForMail("ann@example.com"); m2.ID <= m.ID {
			t.Errorf("WaitForMail returned mail %d again (first was %d)", m2.ID, m.ID)
		}
		if n := len(a.Mails()); n != 2 {
			t.Errorf("outbox holds %d mails, want 2", n)
		}

		// A bad address is the handler's 422, and nothing is queued.
		a.PostForm("/invite", url.Values{"email": {"not an address"}}).AssertStatus(http.StatusUnprocessableEntity)
	})
}

package form_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/csrf"
	"github.com/trellis-go/trellis/form"
	"github.com/trellis-go/trellis/session"
)

var (
	csrfInput   = regexp.MustCompile(`<input type="hidden" name="csrf_token" value="([A-Za-z0-9_-]{86})">`)
	methodInput = regexp.MustCompile(`<input type="hidden" name="_method" value="([A-Z]+)">`)
)

// TestElementCarriesCSRFAndMethod renders form.Element behind the real
// session and CSRF middleware: every form that posts carries a token the
// middleware accepts, PUT/PATCH/DELETE forms add _method, GET forms carry
// neither (a token in a URL would leak).
func TestElementCarriesCSRFAndMethod(t *testing.T) {
	sessions := session.New(config.Default(config.Test).Session, session.NewMemory(), slog.New(slog.DiscardHandler),
		func(w http.ResponseWriter, r *http.Request, err error) { t.Errorf("session: %v", err) })
	protect, err := csrf.New(csrf.Options{Sessions: sessions, OnError: func(w http.ResponseWriter, r *http.Request, status int, err error) {
		http.Error(w, err.Error(), status)
	}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		tag := form.Tag{ID: "f", Action: "/submit", Method: r.URL.Query().Get("method")}
		ctx := templ.WithChildren(r.Context(), templ.Raw(`<button>Send</button>`))
		if err := form.Element(tag).Render(ctx, w); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("POST /submit", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "accepted") })
	srv := httptest.NewServer(sessions.Middleware(protect.Middleware(mux)))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func(path string) string {
		t.Helper()
		res, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}

	for _, c := range []struct{ method, htmlMethod, override string }{
		{"post", "post", ""}, {"", "post", ""}, {"PUT", "post", "PUT"}, {"patch", "post", "PATCH"}, {"DELETE", "post", "DELETE"},
	} {
		body := get("/form?method=" + c.method)
		if !strings.HasPrefix(body, `<form id="f" method="`+c.htmlMethod+`" action="/submit"`) || !strings.HasSuffix(body, `<button>Send</button></form>`) {
			t.Errorf("%q: %s", c.method, body)
		}
		m := csrfInput.FindStringSubmatch(body)
		if m == nil {
			t.Errorf("%q form has no CSRF field: %s", c.method, body)
			continue
		}
		if o := methodInput.FindStringSubmatch(body); (o == nil) != (c.override == "") || (o != nil && o[1] != c.override) {
			t.Errorf("%q form _method: %v", c.method, o)
		}
		res, err := client.PostForm(srv.URL+"/submit", url.Values{"csrf_token": {m[1]}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || string(b) != "accepted" {
			t.Errorf("%q form's token refused: %d %s", c.method, res.StatusCode, b)
		}
	}
	body := get("/form?method=GET")
	if !strings.HasPrefix(body, `<form id="f" method="get"`) || strings.Contains(body, "csrf_token") || strings.Contains(body, "_method") {
		t.Errorf("GET form: %s", body)
	}
	// Without a token the same post is refused, so the acceptance above
	// is the form's doing.
	if res, err := client.PostForm(srv.URL+"/submit", nil); err != nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("post without the field: %v %v", res.StatusCode, err)
	}
}

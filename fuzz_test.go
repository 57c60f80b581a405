package trellis_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/form"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/trellistest"
)

type fuzzInput struct {
	Title string   `form:"title" validate:"required,max=20"`
	Count int      `form:"count" validate:"min=0"`
	Tags  []string `form:"tags"`
	Done  bool     `form:"done"`
}

// FuzzRequestDecoding sends arbitrary query strings and form bodies through
// the whole stack to handlers that decode them into a struct and use them
// in a database query. Whatever the bytes, the answer is never a 5xx.
func FuzzRequestDecoding(f *testing.F) {
	ta := trellistest.NewApp(f, nil, trellistest.Configure(func(c *config.Config) { c.CSRF.ExemptPaths = []string{"/fuzz/"} }))
	app := ta.App
	handler := func(w http.ResponseWriter, r *http.Request) {
		var in fuzzInput
		_, ok := app.Forms.Bind(w, r, &in, func(f *form.Form) render.View {
			return render.View{Title: "Fuzz", Content: templ.Raw("<p>invalid</p>")}
		})
		if !ok {
			return
		}
		var n int
		q := app.DB.Rebind("SELECT count(*) FROM users WHERE email = ? OR email = ?")
		if err := app.DB.SQL.QueryRowContext(r.Context(), q, r.URL.Query().Get("q"), in.Title).Scan(&n); err != nil {
			app.Render.Error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
	app.Get("/fuzz/search", handler)
	app.Post("/fuzz/form", handler)

	for _, seed := range []struct{ query, body, ctype string }{
		{"q=go", "title=hello&count=3&tags=a&tags=b&done=on", "application/x-www-form-urlencoded"},
		{"q=%00", "title=a%00b", "application/x-www-form-urlencoded"},
		{"q=%ff%c0%ae", "title=%ff&count=99999999999999999999", "application/x-www-form-urlencoded"},
		{"q=%zz&&==", "count=-1&count=x&done=maybe", "application/x-www-form-urlencoded"},
		{"", "--b\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nx\r\n--b--\r\n", "multipart/form-data; boundary=b"},
		{"", "--b\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n\x00\r\n", "multipart/form-data; boundary=b"},
		{"tags[0]=x", "tags[999999999]=x&_method=DELETE", "application/x-www-form-urlencoded"},
		{"", "\xff\xfe", "text/plain"},
	} {
		f.Add(seed.query, seed.body, seed.ctype)
	}
	f.Fuzz(func(t *testing.T, query, body, ctype string) {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			path := "/fuzz/search"
			if method == http.MethodPost {
				path = "/fuzz/form"
			}
			req := httptest.NewRequest(method, "/", strings.NewReader(body))
			req.URL.Path, req.URL.RawQuery = path, query
			req.Header.Set("Content-Type", ctype)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			rec := httptest.NewRecorder()
			app.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s?%q body %q (%s): %d\n%s", method, path, query, body, ctype, rec.Code, ta.Logs)
			}
		}
	})
}

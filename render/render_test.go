package render_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis/render"
)

func failing() templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		_, _ = io.WriteString(w, "<p>partial output that must not leak")
		return errors.New("template exploded")
	})
}

func TestRenderFailureBecomesA500Page(t *testing.T) {
	rd := render.New(render.Options{})
	rec := httptest.NewRecorder()
	rd.Page(rec, httptest.NewRequest("GET", "/", nil), "x", failing())
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "must not leak") || strings.Contains(rec.Body.String(), "exploded") {
		t.Errorf("partial output or error leaked: %q", rec.Body.String())
	}
}

func TestExtrasAppendToPartialsOnly(t *testing.T) {
	rd := render.New(render.Options{Layout: func(title string, c templ.Component) templ.Component {
		return templ.Join(templ.Raw("<html>"), c, templ.Raw("</html>"))
	}})
	rd.AddExtras(func(r *http.Request) templ.Component {
		return templ.Raw(`<div id="flash" hx-swap-oob="true">saved</div>`)
	})
	rd.AddExtras(func(r *http.Request) templ.Component { return nil })

	full := httptest.NewRecorder()
	rd.Page(full, httptest.NewRequest("GET", "/", nil), "t", templ.Raw("<p>body</p>"))
	if full.Body.String() != "<html><p>body</p></html>" {
		t.Errorf("full page = %q", full.Body.String())
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("HX-Request", "true")
	part := httptest.NewRecorder()
	rd.Page(part, req, "t", templ.Raw("<p>body</p>"))
	if part.Body.String() != `<p>body</p><div id="flash" hx-swap-oob="true">saved</div>` {
		t.Errorf("partial = %q", part.Body.String())
	}
	if part.Header().Get("Content-Length") != "57" || part.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("headers %v", part.Header())
	}
}

func TestStatusOf(t *testing.T) {
	cases := map[error]int{
		render.NewError(422, "bad"):   422,
		&http.MaxBytesError{Limit: 1}: 413,
		context.DeadlineExceeded:      504,
		errors.New("boom"):            500,
		errors.Join(errors.New("x"), render.NewError(404, "missing")): 404,
	}
	for err, want := range cases {
		if got := render.StatusOf(err); got != want {
			t.Errorf("StatusOf(%v) = %d, want %d", err, got, want)
		}
	}
}

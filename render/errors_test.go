package render_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis/render"
)

func layout(title string, c templ.Component) templ.Component {
	return templ.Join(templ.Raw("<html><title>"+title+"</title>"), c, templ.Raw("</html>"))
}

func request(method string, headers ...string) *http.Request {
	r := httptest.NewRequest(method, "/x", nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

func TestErrorText(t *testing.T) {
	cause := errors.New("disk full")
	for err, want := range map[error]string{
		render.NewError(404, "No such note."):                        "404 Not Found: No such note.",
		&render.Error{Status: 500, Err: cause}:                       "500 Internal Server Error: disk full",
		&render.Error{Status: 503, Message: "Later.", Err: cause}:    "503 Service Unavailable: Later.: disk full",
		&render.Error{Status: http.StatusTeapot}:                     "418 I'm a teapot",
		render.NewError(http.StatusUnprocessableEntity, "Fix this."): "422 Unprocessable Entity: Fix this.",
	} {
		if got := err.Error(); got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	}
	if !errors.Is(&render.Error{Status: 500, Err: cause}, cause) {
		t.Error("Unwrap does not reach the cause")
	}
}

// Every status with an error page has its own title and message; 4xx
// errors show the caller's message, 5xx errors never do.
func TestInfoTitlesAndMessages(t *testing.T) {
	cases := map[int][2]string{
		400: {"Bad request", "The request could not be understood. Check what you sent and try again."},
		401: {"Sign in required", "You need to sign in to see this page."},
		403: {"Access denied", "You do not have permission to do that."},
		404: {"Page not found", "The page you asked for does not exist or has moved."},
		405: {"Method not allowed", "This address does not accept that kind of request."},
		413: {"Request too large", "What you sent is larger than this site accepts."},
		422: {"Invalid input", "Some of what you sent is not valid. Correct it and try again."},
		429: {"Too many requests", "You are sending requests too quickly. Wait a moment and try again."},
		500: {"Something went wrong", "An unexpected error occurred on our side. It has been logged; please try again."},
		503: {"Service unavailable", "The service is temporarily unavailable. Please try again shortly."},
		504: {"Timed out", "The server took too long to answer. Please try again."},
	}
	ctx := context.Background()
	for status, want := range cases {
		if got := render.Info(ctx, status, ""); got.Status != status || got.Title != want[0] || got.Message != want[1] {
			t.Errorf("Info(%d) = %+v, want %q / %q", status, got, want[0], want[1])
		}
		got := render.Info(ctx, status, "internal detail")
		if status < 500 && got.Message != "internal detail" {
			t.Errorf("Info(%d) dropped the caller's message: %q", status, got.Message)
		}
		if status >= 500 && got.Message != want[1] {
			t.Errorf("Info(%d) showed the caller's message: %q", status, got.Message)
		}
	}
	if got := render.Info(ctx, http.StatusTeapot, "Short and stout."); got.Title != "I'm a teapot" || got.Message != "Short and stout." {
		t.Errorf("status without a page: %+v", got)
	}
}

func TestErrorResponses(t *testing.T) {
	var logs bytes.Buffer
	rd := render.New(render.Options{
		Layout: layout,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Classify: func(err error) int {
			if strings.Contains(err.Error(), "database") {
				return http.StatusServiceUnavailable
			}
			return 0
		},
	})
	rd.AddExtras(func(*http.Request) templ.Component { return templ.Raw(`<div id="flashes"></div>`) })
	serve := func(r *http.Request, err error) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Length", "999") // left by an earlier writer
		rd.Error(rec, r, err)
		return rec
	}

	// Browsers get a full page in the layout.
	page := serve(request("GET"), render.NewError(404, "No such note."))
	if page.Code != 404 || page.Body.String() != "<html><title>Page not found</title><h1>Page not found</h1><p>No such note.</p></html>" {
		t.Errorf("page: %d %q", page.Code, page.Body.String())
	}
	if page.Header().Get("Content-Length") != "85" || page.Header().Get("Content-Type") != "text/html; charset=utf-8" ||
		page.Header().Get("HX-Retarget") != "" {
		t.Errorf("page headers: %v", page.Header())
	}
	if v := page.Header().Get("Vary"); !strings.Contains(v, "HX-Request") || !strings.Contains(v, "Accept") {
		t.Errorf("page Vary: %q", v)
	}

	// htmx requests get the fragment, retargeted to the error region, with
	// the extras.
	frag := serve(request("POST", "HX-Request", "true"), render.NewError(422, "Fix the title."))
	if frag.Code != 422 || frag.Body.String() != `<h1>Invalid input</h1><p>Fix the title.</p><div id="flashes"></div>` {
		t.Errorf("fragment: %d %q", frag.Code, frag.Body.String())
	}
	if frag.Header().Get("HX-Retarget") != "#trellis-error" || frag.Header().Get("HX-Reswap") != "innerHTML" {
		t.Errorf("fragment headers: %v", frag.Header())
	}
	if boosted := serve(request("GET", "HX-Request", "true", "HX-Boosted", "true"), render.NewError(404, "")); !strings.HasPrefix(boosted.Body.String(), "<html>") {
		t.Errorf("boosted navigation got a fragment: %q", boosted.Body.String())
	}

	// API clients get JSON; a stale Content-Length is gone.
	for _, accept := range []string{"application/json", "application/problem+json"} {
		js := serve(request("GET", "Accept", accept), render.NewError(403, "Not yours."))
		if js.Code != 403 || js.Body.String() != `{"error":"Not yours.","status":403}`+"\n" {
			t.Errorf("%s: %d %q", accept, js.Code, js.Body.String())
		}
		h := js.Header()
		if h.Get("Content-Type") != "application/json; charset=utf-8" || h.Get("Cache-Control") != "no-store" || h.Get("Content-Length") != "" {
			t.Errorf("%s headers: %v", accept, h)
		}
		if v := h.Get("Vary"); !strings.Contains(v, "Accept") || !strings.Contains(v, "HX-Request") {
			t.Errorf("%s Vary: %q", accept, v)
		}
	}
	for _, r := range []*http.Request{request("GET", "Accept", "text/html, application/json"), request("GET", "Accept", "application/json", "HX-Request", "true")} {
		if res := serve(r, render.NewError(404, "")); strings.HasPrefix(res.Body.String(), "{") {
			t.Errorf("JSON for %v", r.Header)
		}
	}

	// 5xx: the generic message for users, the cause in the log.
	logs.Reset()
	res := serve(request("GET"), &render.Error{Status: 500, Message: "secret detail", Err: errors.New("nil map")})
	if res.Code != 500 || strings.Contains(res.Body.String(), "secret detail") || !strings.Contains(res.Body.String(), "Something went wrong") {
		t.Errorf("500: %d %q", res.Code, res.Body.String())
	}
	if !strings.Contains(logs.String(), "nil map") {
		t.Errorf("500 cause not logged: %q", logs.String())
	}
	// Classify refines 500s only.
	if res := serve(request("GET"), errors.New("database is down")); res.Code != 503 {
		t.Errorf("classified: %d", res.Code)
	}
	if res := serve(request("GET"), render.NewError(404, "database row missing")); res.Code != 404 {
		t.Errorf("a 404 was reclassified: %d", res.Code)
	}

	// Status takes the place of middleware error handlers.
	logs.Reset()
	rec := httptest.NewRecorder()
	rd.Status(rec, request("GET"), 502, errors.New("upstream refused"))
	if rec.Code != 502 || !strings.Contains(logs.String(), "upstream refused") {
		t.Errorf("Status with a cause: %d, log %q", rec.Code, logs.String())
	}
	rec = httptest.NewRecorder()
	rd.Status(rec, request("GET"), 405, nil)
	if rec.Code != 405 || !strings.Contains(rec.Body.String(), "Method not allowed") {
		t.Errorf("Status without a cause: %d %q", rec.Code, rec.Body.String())
	}
}

func TestCustomErrorTarget(t *testing.T) {
	rd := render.New(render.Options{ErrorTarget: "#oops"})
	rec := httptest.NewRecorder()
	rd.Error(rec, request("GET", "HX-Request", "true"), render.NewError(404, ""))
	if rec.Header().Get("HX-Retarget") != "#oops" {
		t.Errorf("HX-Retarget %q", rec.Header().Get("HX-Retarget"))
	}
}

// A failing page becomes the error page; a failing error page becomes
// plain text (not a loop); nothing is written for a client that left.
func TestRenderFailures(t *testing.T) {
	rd := render.New(render.Options{Layout: layout})
	rec := httptest.NewRecorder()
	rd.Page(rec, request("GET"), "x", failing())
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "<h1>Something went wrong</h1>") {
		t.Errorf("failing page: %d %q", rec.Code, rec.Body.String())
	}

	broken := render.New(render.Options{ErrorPage: func(render.ErrorInfo) templ.Component { return failing() }})
	rec = httptest.NewRecorder()
	broken.Error(rec, request("GET"), errors.New("boom"))
	if rec.Code != 500 || rec.Body.String() != "Internal Server Error\n" {
		t.Errorf("failing error page: %d %q", rec.Code, rec.Body.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec = httptest.NewRecorder()
	rd.Page(rec, request("GET").WithContext(ctx), "x", failing())
	if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
		t.Errorf("wrote to a client that went away: %d %q", rec.Code, rec.Body.String())
	}
}

func TestViewsVaryAndHEAD(t *testing.T) {
	rd := render.New(render.Options{Layout: layout})
	rec := httptest.NewRecorder()
	rd.View(rec, request("GET"), render.View{Status: 201, Title: "T", Content: templ.Raw("<p>c</p>")})
	if rec.Code != 201 || rec.Header().Get("Vary") != "HX-Request, HX-Boosted, HX-History-Restore-Request, HX-Request-Type" {
		t.Errorf("view: %d %v", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	rd.Page(rec, request("HEAD"), "T", templ.Raw("<p>c</p>"))
	if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != "37" {
		t.Errorf("HEAD: %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
}

func TestRedirect(t *testing.T) {
	rec := httptest.NewRecorder()
	render.Redirect(rec, request("POST", "HX-Request", "true"), "/notes/1")
	if rec.Code != 200 || rec.Header().Get("HX-Redirect") != "/notes/1" || rec.Header().Get("Location") != "" {
		t.Errorf("htmx: %d %v", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	render.Redirect(rec, request("POST"), "/notes/1")
	if rec.Code != 303 || rec.Header().Get("Location") != "/notes/1" || rec.Header().Get("HX-Redirect") != "" {
		t.Errorf("browser: %d %v", rec.Code, rec.Header())
	}
}

func TestJSONEncodingFailure(t *testing.T) {
	rec := httptest.NewRecorder()
	render.JSON(rec, 200, map[string]any{"f": func() {}})
	if rec.Code != 500 || rec.Body.String() != `{"error":"response could not be encoded","status":500}`+"\n" {
		t.Errorf("%d %q", rec.Code, rec.Body.String())
	}
}

package trellistest

import (
	"encoding/json"
	"strings"
)

// The assertions below report a failure with t.Errorf, naming what was
// expected and what came back, and return the response so they chain:
//
//	res := s.Get("/notes?q=go", trellistest.HTMX("notes"))
//	res.AssertStatus(200).AssertFragment().AssertContains("Go notes")

// AssertStatus checks the status code.
func (r *Response) AssertStatus(code int) *Response {
	r.t.Helper()
	if r.StatusCode != code {
		r.t.Errorf("%s %s: status %d, want %d\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, code, r.Body)
	}
	return r
}

// AssertContains checks that the body contains s.
func (r *Response) AssertContains(s string) *Response {
	r.t.Helper()
	if !strings.Contains(r.Body, s) {
		r.t.Errorf("%s %s: body does not contain %q\n%s", r.Request.Method, r.Request.URL.Path, s, r.Body)
	}
	return r
}

// AssertFullPage checks that the response is a whole HTML document.
func (r *Response) AssertFullPage() *Response {
	r.t.Helper()
	if !strings.HasPrefix(strings.TrimSpace(strings.ToLower(r.Body)), "<!doctype html>") {
		r.t.Errorf("%s %s: want a full page, got\n%s", r.Request.Method, r.Request.URL.Path, r.Body)
	}
	return r
}

// AssertFragment checks that the response is an htmx partial: no document
// around it, and a Vary header naming HX-Request so caches keep pages and
// fragments apart.
func (r *Response) AssertFragment() *Response {
	r.t.Helper()
	if strings.Contains(strings.ToLower(r.Body), "<html") {
		r.t.Errorf("%s %s: want a fragment, got a page\n%s", r.Request.Method, r.Request.URL.Path, r.Body)
	}
	if !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "HX-Request") {
		r.t.Errorf("%s %s: a fragment without Vary: HX-Request (Vary: %q)", r.Request.Method, r.Request.URL.Path, r.Header.Values("Vary"))
	}
	return r
}

// AssertHTMXRedirect checks the HX-Redirect header.
func (r *Response) AssertHTMXRedirect(path string) *Response {
	r.t.Helper()
	if got := r.Header.Get("HX-Redirect"); got != path {
		r.t.Errorf("%s %s: HX-Redirect %q, want %q", r.Request.Method, r.Request.URL.Path, got, path)
	}
	return r
}

// AssertRedirect checks a 303 See Other to path.
func (r *Response) AssertRedirect(path string) *Response {
	r.t.Helper()
	if r.StatusCode != 303 || r.Header.Get("Location") != path {
		r.t.Errorf("%s %s: got %d to %q, want 303 to %q", r.Request.Method, r.Request.URL.Path, r.StatusCode, r.Header.Get("Location"), path)
	}
	return r
}

// AssertRetarget checks the HX-Retarget header, for example
// "#trellis-error" on error fragments.
func (r *Response) AssertRetarget(selector string) *Response {
	r.t.Helper()
	if got := r.Header.Get("HX-Retarget"); got != selector {
		r.t.Errorf("%s %s: HX-Retarget %q, want %q", r.Request.Method, r.Request.URL.Path, got, selector)
	}
	return r
}

// AssertTrigger checks that HX-Trigger names event, either as the plain
// comma-separated form or as a key of the JSON form.
func (r *Response) AssertTrigger(event string) *Response {
	r.t.Helper()
	h := r.Header.Get("HX-Trigger")
	var events map[string]any
	if json.Unmarshal([]byte(h), &events) == nil {
		if _, ok := events[event]; ok {
			return r
		}
	} else {
		for _, e := range strings.Split(h, ",") {
			if strings.TrimSpace(e) == event {
				return r
			}
		}
	}
	r.t.Errorf("%s %s: HX-Trigger %q does not name %q", r.Request.Method, r.Request.URL.Path, h, event)
	return r
}

package htmx_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis/htmx"
)

func TestResponseHeaderNames(t *testing.T) {
	got := []string{
		htmx.HeaderLocation, htmx.HeaderPushURL, htmx.HeaderReplaceURL, htmx.HeaderRedirect,
		htmx.HeaderRefresh, htmx.HeaderRetarget, htmx.HeaderReswap, htmx.HeaderReselect,
		htmx.HeaderTrigger, htmx.HeaderTriggerAfterSettle, htmx.HeaderTriggerAfterSwap,
	}
	want := []string{
		"HX-Location", "HX-Push-Url", "HX-Replace-Url", "HX-Redirect",
		"HX-Refresh", "HX-Retarget", "HX-Reswap", "HX-Reselect",
		"HX-Trigger", "HX-Trigger-After-Settle", "HX-Trigger-After-Swap",
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("header names = %q, want %q", got, want)
	}
	if htmx.StatusStopPolling != 286 {
		t.Errorf("StatusStopPolling = %d", htmx.StatusStopPolling)
	}
}

func TestResponseSetters(t *testing.T) {
	tests := []struct {
		name   string
		set    func(w http.ResponseWriter)
		header string
		want   []string // nil: header absent
	}{
		{"Location", func(w http.ResponseWriter) { htmx.Location(w, "/items?page=2") }, "HX-Location", []string{"/items?page=2"}},
		{"Location CRLF stripped", func(w http.ResponseWriter) { htmx.Location(w, "/a\r\nSet-Cookie: x=1") }, "HX-Location", []string{"/aSet-Cookie: x=1"}},
		{"Location non-ASCII", func(w http.ResponseWriter) { htmx.Location(w, "/café") }, "HX-Location", []string{"/caf%C3%A9"}},
		{"Location leading brace", func(w http.ResponseWriter) { htmx.Location(w, `{"path":"/x"}`) }, "HX-Location", []string{`%7B"path":"/x"}`}},
		{"Location empty", func(w http.ResponseWriter) { htmx.Location(w, "") }, "HX-Location", nil},
		{"Location only controls", func(w http.ResponseWriter) { htmx.Location(w, "\r\n") }, "HX-Location", nil},
		{"Location replaces", func(w http.ResponseWriter) { htmx.Location(w, "/a"); htmx.Location(w, "/b") }, "HX-Location", []string{"/b"}},
		{"Location empty removes", func(w http.ResponseWriter) { htmx.Location(w, "/a"); htmx.Location(w, "") }, "HX-Location", nil},
		{"PushURL", func(w http.ResponseWriter) { htmx.PushURL(w, "/items/7") }, "HX-Push-Url", []string{"/items/7"}},
		{"PushURL CRLF", func(w http.ResponseWriter) { htmx.PushURL(w, "/a\nb\r") }, "HX-Push-Url", []string{"/ab"}},
		{"PushURL brace kept", func(w http.ResponseWriter) { htmx.PushURL(w, "{x}") }, "HX-Push-Url", []string{"{x}"}},
		{"PreventPushURL", func(w http.ResponseWriter) { htmx.PreventPushURL(w) }, "HX-Push-Url", []string{"false"}},
		{"ReplaceURL", func(w http.ResponseWriter) { htmx.ReplaceURL(w, "/items?q=ü") }, "HX-Replace-Url", []string{"/items?q=%C3%BC"}},
		{"PreventReplaceURL", func(w http.ResponseWriter) { htmx.PreventReplaceURL(w) }, "HX-Replace-Url", []string{"false"}},
		{"Redirect", func(w http.ResponseWriter) { htmx.Redirect(w, "https://example.com/login") }, "HX-Redirect", []string{"https://example.com/login"}},
		{"Redirect CRLF", func(w http.ResponseWriter) { htmx.Redirect(w, "/login\r\n\r\n<html>") }, "HX-Redirect", []string{"/login<html>"}},
		{"Refresh", func(w http.ResponseWriter) { htmx.Refresh(w) }, "HX-Refresh", []string{"true"}},
		{"Retarget", func(w http.ResponseWriter) { htmx.Retarget(w, "#main") }, "HX-Retarget", []string{"#main"}},
		{"Retarget extended", func(w http.ResponseWriter) { htmx.Retarget(w, "closest tr") }, "HX-Retarget", []string{"closest tr"}},
		{"Retarget CRLF", func(w http.ResponseWriter) { htmx.Retarget(w, "#a\r\nX: y") }, "HX-Retarget", []string{"#aX: y"}},
		{"Retarget non-ASCII", func(w http.ResponseWriter) { htmx.Retarget(w, "#café") }, "HX-Retarget", []string{`#caf\0000e9`}},
		{"Retarget escaped id", func(w http.ResponseWriter) { htmx.Retarget(w, htmx.IDSelector("1 a")) }, "HX-Retarget", []string{`#\31 \ a`}},
		{"Retarget empty", func(w http.ResponseWriter) { htmx.Retarget(w, "") }, "HX-Retarget", nil},
		{"Reswap", func(w http.ResponseWriter) { htmx.Reswap(w, htmx.SwapOuterHTML) }, "HX-Reswap", []string{"outerHTML"}},
		{
			"Reswap modifiers",
			func(w http.ResponseWriter) {
				htmx.Reswap(w, htmx.SwapBeforeEnd.SwapDelay(100*time.Millisecond).Scroll("bottom", "#log"))
			},
			"HX-Reswap", []string{"beforeend swap:100ms scroll:#log:bottom"},
		},
		{"Reswap CRLF", func(w http.ResponseWriter) { htmx.Reswap(w, htmx.Swap("innerHTML\r\nX: y")) }, "HX-Reswap", []string{"innerHTMLX: y"}},
		{"Reswap non-ASCII selector", func(w http.ResponseWriter) { htmx.Reswap(w, htmx.SwapNone.Show("top", "#é")) }, "HX-Reswap", []string{`none show:#\0000e9:top`}},
		{"Reselect", func(w http.ResponseWriter) { htmx.Reselect(w, "#content") }, "HX-Reselect", []string{"#content"}},
		{"Reselect CRLF", func(w http.ResponseWriter) { htmx.Reselect(w, "\n#content\r") }, "HX-Reselect", []string{"#content"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.set(rec)
			got := rec.Header().Values(tt.header)
			if strings.Join(got, "\x00") != strings.Join(tt.want, "\x00") || len(got) != len(tt.want) {
				t.Errorf("%s = %q, want %q", tt.header, got, tt.want)
			}
			assertCleanHeaders(t, rec.Header())
		})
	}
}

// assertCleanHeaders fails if any header value holds a control character
// or a non-ASCII byte.
func assertCleanHeaders(t *testing.T, h http.Header) {
	t.Helper()
	for name, vs := range h {
		for _, v := range vs {
			for i := 0; i < len(v); i++ {
				if c := v[i]; c < 0x20 || c >= 0x7f {
					t.Errorf("header %s = %q has byte %#x", name, v, c)
				}
			}
		}
	}
}

func TestLocationWith(t *testing.T) {
	tests := []struct {
		name string
		opts htmx.LocationOptions
		want string
	}{
		{"path only", htmx.LocationOptions{Path: "/items"}, `{"path":"/items"}`},
		{
			"every field",
			htmx.LocationOptions{
				Path:    "/items",
				Source:  "#src",
				Event:   "click",
				Handler: "onItems",
				Target:  "#main",
				Swap:    htmx.SwapOuterHTML.Transition(true),
				Values:  map[string]any{"page": 2, "q": "x", "all": true},
				Headers: map[string]string{"X-B": "2", "X-A": "1"},
				Select:  "#content",
			},
			`{"path":"/items","source":"#src","event":"click","handler":"onItems","target":"#main",` +
				`"swap":"outerHTML transition:true","values":{"all":true,"page":2,"q":"x"},` +
				`"headers":{"X-A":"1","X-B":"2"},"select":"#content"}`,
		},
		{"empty maps omitted", htmx.LocationOptions{Path: "/a", Values: map[string]any{}, Headers: map[string]string{}}, `{"path":"/a"}`},
		{"control characters escaped", htmx.LocationOptions{Path: "/a\r\nb", Target: "#t\x00"}, `{"path":"/a\r\nb","target":"#t\u0000"}`},
		{"non-ASCII escaped", htmx.LocationOptions{Path: "/café", Target: "#日", Values: map[string]any{"e": "😀"}}, `{"path":"/caf\u00e9","target":"#\u65e5","values":{"e":"\ud83d\ude00"}}`},
		{"HTML escaped", htmx.LocationOptions{Path: "/a?x=<b>&y"}, `{"path":"/a?x=\u003cb\u003e\u0026y"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := htmx.LocationWith(rec, tt.opts); err != nil {
				t.Fatalf("LocationWith: %v", err)
			}
			if got := rec.Header().Get("HX-Location"); got != tt.want {
				t.Errorf("HX-Location =\n %s\nwant\n %s", got, tt.want)
			}
			assertCleanHeaders(t, rec.Header())
		})
	}
}

func TestLocationWithErrors(t *testing.T) {
	tests := []struct {
		name string
		opts htmx.LocationOptions
	}{
		{"empty path", htmx.LocationOptions{Target: "#main"}},
		{"unencodable value", htmx.LocationOptions{Path: "/a", Values: map[string]any{"c": make(chan int)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rec.Header().Set("HX-Location", "/before")
			err := htmx.LocationWith(rec, tt.opts)
			if err == nil {
				t.Fatal("LocationWith: no error")
			}
			if !strings.HasPrefix(err.Error(), "htmx: HX-Location: ") {
				t.Errorf("error %q lacks context", err)
			}
			if got := rec.Header().Get("HX-Location"); got != "/before" {
				t.Errorf("HX-Location changed to %q", got)
			}
		})
	}
}

func TestLocationWithWrapsEncodingError(t *testing.T) {
	err := htmx.LocationWith(httptest.NewRecorder(), htmx.LocationOptions{Path: "/a", Values: map[string]any{"f": failingMarshaler{}}})
	if !errors.Is(err, errMarshal) {
		t.Errorf("error %v does not wrap errMarshal", err)
	}
}

func TestStopPolling(t *testing.T) {
	rec := httptest.NewRecorder()
	htmx.StopPolling(rec)
	if rec.Code != 286 {
		t.Errorf("status = %d, want 286", rec.Code)
	}
}

// Headers set by the helpers survive a real HTTP round trip unchanged.
func TestResponseHeadersOverHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		htmx.PushURL(w, "/a\r\nInjected: yes")
		htmx.Retarget(w, "#café")
		if err := htmx.Trigger(w, "saved", map[string]string{"name": "é\r\n"}); err != nil {
			t.Error(err)
		}
		htmx.StopPolling(w)
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 286 {
		t.Errorf("status = %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Injected"); got != "" {
		t.Errorf("header injection: Injected = %q", got)
	}
	checks := map[string]string{
		"HX-Push-Url": "/aInjected: yes",
		"HX-Retarget": `#caf\0000e9`,
		"HX-Trigger":  `{"saved":{"name":"\u00e9\r\n"}}`,
	}
	for name, want := range checks {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

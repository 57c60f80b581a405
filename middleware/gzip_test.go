package middleware

import (
	"bufio"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func gzipGet(t *testing.T, h http.HandlerFunc, method, ae string) *http.Response {
	t.Helper()
	srv := httptest.NewServer(Gzip(gzip.DefaultCompression)(h))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(method, srv.URL, nil)
	if ae != "" {
		req.Header.Set("Accept-Encoding", ae)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var big = strings.Repeat("<p>hello trellis</p>", 200)

func TestGzipDecisions(t *testing.T) {
	html := func(s string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, s)
		}
	}
	cases := []struct {
		name, method, ae string
		h                http.HandlerFunc
		gz               bool
		want             string
	}{
		{"big html", "GET", "gzip, deflate", html(big), true, big},
		{"q=0 refuses", "GET", "gzip;q=0", html(big), false, big},
		{"star accepts", "GET", "*", html(big), true, big},
		{"no header", "GET", "", html(big), false, big},
		{"small body", "GET", "gzip", html("<p>hi</p>"), false, "<p>hi</p>"},
		{"head", "HEAD", "gzip", html(big), false, ""},
		{"image", "GET", "gzip", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			_, _ = io.WriteString(w, big)
		}, false, big},
		{"already encoded", "GET", "gzip", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/css")
			w.Header().Set("Content-Encoding", "br")
			_, _ = io.WriteString(w, big)
		}, false, big},
		{"many small writes", "GET", "gzip", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			for range 500 {
				_, _ = io.WriteString(w, `{"a":1},`)
			}
		}, true, strings.Repeat(`{"a":1},`, 500)},
		{"sniffed type", "GET", "gzip", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, big)
		}, true, big},
		{"no content", "GET", "gzip", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNoContent)
		}, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := gzipGet(t, tc.h, tc.method, tc.ae)
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.gz {
				t.Fatalf("compressed = %v, want %v (%v)", got, tc.gz, resp.Header)
			}
			if tc.gz && resp.Header.Get("Content-Length") != "" && resp.ContentLength == int64(len(tc.want)) {
				t.Error("Content-Length of the uncompressed body kept")
			}
			if got := body(t, resp); got != tc.want {
				t.Errorf("body = %.60q…, want %.60q…", got, tc.want)
			}
		})
	}
}

func TestGzipVaryOnSmallCompressibleResponses(t *testing.T) {
	resp := gzipGet(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "tiny")
	}, "GET", "gzip")
	if !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Accept-Encoding") {
		t.Error("small compressible response lacks Vary: Accept-Encoding")
	}
}

func TestGzipFlushStreams(t *testing.T) {
	step := make(chan struct{})
	resp := gzipGet(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		<-step
		_, _ = io.WriteString(w, "second\n")
	}, "GET", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatal("flushed text response not compressed")
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(zr).ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first chunk before the handler finished: %q %v", line, err)
	}
	close(step)
}

// acceptEncodingCases are the Accept-Encoding values on which the old
// middleware, the old static server and gzhttp's own parser disagreed; the
// static package tests the same values against its precompressed path.
var acceptEncodingCases = []struct {
	ae   []string
	gzip bool
}{
	{[]string{"gzip;q=0;foo=1"}, false},
	{[]string{"gzip;foo=1;q=0"}, false},
	{[]string{"*, gzip;q=0"}, false},
	{[]string{"gzip;q=0, *"}, false},
	{[]string{"*"}, true},
	{[]string{"*;q=0.1"}, true},
	{[]string{"GZIP"}, true},
	{[]string{"X-Gzip"}, true},
	{[]string{"gzip; q=0.5"}, true},
	{[]string{"gzip ; q = 0.5"}, true},
	{[]string{"gzip;q= 0"}, false},
	{[]string{"gzip;Q=0"}, false},
	{[]string{"gzip;q=abc"}, false},
	{[]string{"gzip;q=1.5"}, false},
	{[]string{"gzip;q=0.001"}, true},
	{[]string{"br", "gzip"}, true},
	{[]string{"gzip", "gzip;q=0"}, true},
	{[]string{"identity"}, false},
	{[]string{"deflate, br"}, false},
}

func TestGzipAcceptEncodingRule(t *testing.T) {
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, big)
	}
	srv := httptest.NewServer(Gzip(5)(http.HandlerFunc(h)))
	defer srv.Close()
	for _, c := range acceptEncodingCases {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		for _, v := range c.ae {
			req.Header.Add("Accept-Encoding", v)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		got := resp.Header.Get("Content-Encoding") == "gzip"
		if b := body(t, resp); b != big {
			t.Errorf("%q: body corrupted", c.ae)
		}
		resp.Body.Close()
		if got != c.gzip {
			t.Errorf("Accept-Encoding %q: compressed = %v, want %v", c.ae, got, c.gzip)
		}
	}
}

// TestGzipHandlerSeesClientAcceptEncoding checks that the rewrite gzhttp
// needs is invisible to the handler.
func TestGzipHandlerSeesClientAcceptEncoding(t *testing.T) {
	var seen []string
	resp := gzipGet(t, func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Values("Accept-Encoding")
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, big)
	}, "GET", "br;q=1, GZIP;q=0.8")
	if resp.Header.Get("Content-Encoding") != "gzip" || len(seen) != 1 || seen[0] != "br;q=1, GZIP;q=0.8" {
		t.Errorf("handler saw %q, response %v", seen, resp.Header)
	}
}

func TestGzipHeaders(t *testing.T) {
	cases := []struct {
		name, etag, wantETag string
		status               int
		gz                   bool
	}{
		{"strong etag weakened", `"abc"`, `W/"abc"`, 200, true},
		{"weak etag kept", `W/"abc"`, `W/"abc"`, 200, true},
		{"not modified untouched", `"abc"`, `"abc"`, 304, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := gzipGet(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.Header().Set("ETag", c.etag)
				w.Header().Set("Accept-Ranges", "bytes")
				w.Header().Set("Content-Length", strconv.Itoa(len(big)))
				w.WriteHeader(c.status)
				if c.status == 200 {
					_, _ = io.WriteString(w, big)
				}
			}, "GET", "gzip")
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != c.gz {
				t.Fatalf("compressed = %v", got)
			}
			if got := resp.Header.Get("ETag"); got != c.wantETag {
				t.Errorf("ETag %q, want %q", got, c.wantETag)
			}
			if resp.StatusCode != c.status {
				t.Errorf("status %d", resp.StatusCode)
			}
			if c.gz && (resp.Header.Get("Accept-Ranges") != "" || resp.ContentLength == int64(len(big))) {
				t.Errorf("compressed response kept Accept-Ranges or the identity length: %v", resp.Header)
			}
			if !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Accept-Encoding") {
				t.Error("no Vary: Accept-Encoding")
			}
			_ = body(t, resp)
		})
	}
}

// TestGzipEventStreamHeadersFlushEarly checks the event-stream pattern of
// announcing the stream before the first event: the flush must send the
// headers at once, and events go out uncompressed as they are flushed.
func TestGzipEventStreamHeadersFlushEarly(t *testing.T) {
	step := make(chan struct{})
	resp := gzipGet(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Error(err)
		}
		<-step
		_, _ = io.WriteString(w, "data: one\n\n")
		_ = http.NewResponseController(w).Flush()
		<-step
	}, "GET", "gzip")
	defer close(step)
	// RoundTrip returned, so the headers arrived before the first event.
	if resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("event stream compressed: %v", resp.Header)
	}
	step <- struct{}{}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "data: one\n" {
		t.Fatalf("first event: %q %v", line, err)
	}
}

package middleware

import (
	"bufio"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
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

func TestAcceptsGzip(t *testing.T) {
	for ae, want := range map[string]bool{
		"gzip": true, "GZIP": true, "br, gzip;q=0.5": true, "gzip; q=0": false, "gzip;q=0.0": false,
		"deflate": false, "": false, "*;q=0": false, "x-gzip": false, "identity, *": true, "*, gzip;q=0": false, "gzip;q=0.5, *;q=0": true,
	} {
		if got := acceptsGzip(ae); got != want {
			t.Errorf("acceptsGzip(%q) = %v", ae, got)
		}
	}
}

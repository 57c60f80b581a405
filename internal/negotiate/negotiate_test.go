package negotiate

import (
	"net/http"
	"testing"
)

func TestAcceptsGzip(t *testing.T) {
	cases := []struct {
		ae   []string
		want bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"gzip"}, true},
		{[]string{"GZIP"}, true},
		{[]string{"x-gzip"}, true},
		{[]string{"br, gzip;q=0.5"}, true},
		{[]string{"gzip; q=0"}, false},
		{[]string{"gzip;q=0.0"}, false},
		{[]string{"gzip;q=0.000"}, false},
		{[]string{"gzip;q=1."}, true},
		{[]string{"gzip;q=1.000"}, true},
		{[]string{"gzip;q=1.0001"}, false},
		{[]string{"gzip;q=0.0001"}, false},
		{[]string{"gzip;q="}, false},
		{[]string{"gzip;q=-1"}, false},
		{[]string{"gzip;q=.5"}, false},
		{[]string{"gzip;q"}, true},
		{[]string{"gzip;level=1"}, true},
		{[]string{"gzip;q=0;foo=1"}, false},
		{[]string{"gzip;foo=1;q=0"}, false},
		{[]string{"gzip ; Q = 0.2 "}, true},
		{[]string{"deflate"}, false},
		{[]string{"*;q=0"}, false},
		{[]string{"identity, *"}, true},
		{[]string{"*, gzip;q=0"}, false},
		{[]string{"gzip;q=0.5, *;q=0"}, true},
		{[]string{"gzip;q=0", "x-gzip"}, true},
		{[]string{"br", "gzip"}, true},
		{[]string{"br", "*"}, true},
		{[]string{",,gzip,,"}, true},
		{[]string{"gzipx"}, false},
	}
	for _, c := range cases {
		h := http.Header{}
		for _, v := range c.ae {
			h.Add("Accept-Encoding", v)
		}
		if got := AcceptsGzip(h); got != c.want {
			t.Errorf("AcceptsGzip(%q) = %v, want %v", c.ae, got, c.want)
		}
	}
}

func TestCompressible(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/html; charset=utf-8":  true,
		"TEXT/CSS":                  true,
		"text/event-stream":         false,
		"application/json":          true,
		"application/problem+json":  true,
		"application/manifest+json": true,
		"application/xml":           true,
		"image/svg+xml":             true,
		"application/javascript":    true,
		"text/javascript":           true,
		"image/png":                 false,
		"font/woff2":                false,
		"application/wasm":          false,
		"application/octet-stream":  false,
		"application/zip":           false,
		"":                          false,
		"garbage":                   false,
	} {
		if got := Compressible(ct); got != want {
			t.Errorf("Compressible(%q) = %v", ct, got)
		}
	}
}

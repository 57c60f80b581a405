package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

var (
	jsBody  = []byte(strings.Repeat("console.log('hello trellis');\n", 200))
	cssBody = []byte(strings.Repeat("body { margin: 0; padding: 0; }\n", 100))
	pngBody = []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("\x00\x01\x02\x03", 64))
)

func testFS() fstest.MapFS {
	return fstest.MapFS{
		"htmx.min.js":       {Data: jsBody},
		"css/app.css":       {Data: cssBody},
		"img/logo.png":      {Data: pngBody},
		"tiny.css":          {Data: []byte("a{}")},
		"LICENSE":           {Data: []byte("MIT")},
		".hidden":           {Data: []byte("secret")},
		".git/config":       {Data: []byte("secret")},
		"css/.DS_Store":     {Data: []byte("junk")},
		"empty.txt":         {Data: nil},
		"docs/readme.md":    {Data: []byte("# hi")},
		"data/values.json":  {Data: []byte(strings.Repeat(`{"a":1},`, 100))},
		"fonts/x.woff2":     {Data: []byte("wOF2....")},
		"unknown.zzqqxx123": {Data: []byte("??")},
	}
}

func mustNew(t testing.TB, layers ...fs.FS) *Assets {
	t.Helper()
	a, err := New(layers...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func sha12(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])[:12]
}

type result struct {
	code int
	hdr  http.Header
	body []byte
}

func do(t testing.TB, h http.Handler, method, target string, hdr ...string) result {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	return doReq(h, r)
}

func doReq(h http.Handler, r *http.Request) result {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	body, _ := io.ReadAll(res.Body)
	return result{code: res.StatusCode, hdr: res.Header, body: body}
}

func TestPathFingerprint(t *testing.T) {
	a := mustNew(t, testFS())

	got := a.Path("htmx.min.js")
	want := "/static/htmx.min." + sha12(jsBody) + ".js"
	if got != want {
		t.Errorf("Path(htmx.min.js) = %q, want %q", got, want)
	}
	if !regexp.MustCompile(`^/static/htmx\.min\.[0-9a-f]{12}\.js$`).MatchString(got) {
		t.Errorf("Path(htmx.min.js) = %q has wrong format", got)
	}
	if got, want := a.Path("css/app.css"), "/static/css/app."+sha12(cssBody)+".css"; got != want {
		t.Errorf("Path(css/app.css) = %q, want %q", got, want)
	}
	if got, want := a.Path("LICENSE"), "/static/LICENSE."+sha12([]byte("MIT")); got != want {
		t.Errorf("Path(LICENSE) = %q, want %q", got, want)
	}
	if got, want := a.Path("nope.js"), "/static/nope.js"; got != want {
		t.Errorf("Path(unknown) = %q, want %q", got, want)
	}
	if got := a.Path(".hidden"); got != "/static/.hidden" {
		t.Errorf("Path(.hidden) = %q, want unfingerprinted", got)
	}
}

func TestWithPrefix(t *testing.T) {
	base := mustNew(t, testFS())
	for _, p := range []string{"/assets", "assets/", "/assets/"} {
		a := base.WithPrefix(p)
		if a.Prefix() != "/assets/" {
			t.Errorf("WithPrefix(%q).Prefix() = %q", p, a.Prefix())
		}
		want := "/assets/htmx.min." + sha12(jsBody) + ".js"
		if got := a.Path("htmx.min.js"); got != want {
			t.Errorf("Path = %q, want %q", got, want)
		}
		if got := a.Path("nope.js"); got != "/assets/nope.js" {
			t.Errorf("Path(unknown) = %q", got)
		}
		if res := do(t, a, "GET", want); res.code != 200 || !bytes.Equal(res.body, jsBody) {
			t.Errorf("GET %s = %d", want, res.code)
		}
		if res := do(t, a, "GET", base.Path("htmx.min.js")); res.code != 404 {
			t.Errorf("old prefix still served: %d", res.code)
		}
	}
	// The original is unaffected.
	if base.Prefix() != DefaultPrefix || !strings.HasPrefix(base.Path("htmx.min.js"), "/static/") {
		t.Errorf("WithPrefix mutated the receiver")
	}
}

func TestNamesAndDotfiles(t *testing.T) {
	a := mustNew(t, testFS())
	names := a.Names()
	if !slices.IsSorted(names) {
		t.Errorf("Names not sorted: %v", names)
	}
	for _, n := range names {
		if strings.HasPrefix(n, ".") || strings.Contains(n, "/.") {
			t.Errorf("dotfile %q indexed", n)
		}
	}
	want := []string{"LICENSE", "css/app.css", "data/values.json", "docs/readme.md", "empty.txt",
		"fonts/x.woff2", "htmx.min.js", "img/logo.png", "tiny.css", "unknown.zzqqxx123"}
	if !slices.Equal(names, want) {
		t.Errorf("Names = %v\nwant    %v", names, want)
	}
	names[0] = "mutated"
	if a.Names()[0] != "LICENSE" {
		t.Errorf("Names returned shared slice")
	}
	for _, p := range []string{"/static/.hidden", "/static/.git/config", "/static/css/.DS_Store"} {
		if res := do(t, a, "GET", p); res.code != 404 {
			t.Errorf("GET %s = %d, want 404", p, res.code)
		}
	}
}

func TestLayering(t *testing.T) {
	app := fstest.MapFS{"app.css": {Data: []byte("override")}}
	framework := fstest.MapFS{
		"app.css":     {Data: []byte("base")},
		"htmx.min.js": {Data: jsBody},
	}
	a := mustNew(t, app, framework)
	if res := do(t, a, "GET", "/static/app.css"); string(res.body) != "override" {
		t.Errorf("app.css = %q, want override", res.body)
	}
	if got, want := a.Path("app.css"), "/static/app."+sha12([]byte("override"))+".css"; got != want {
		t.Errorf("Path(app.css) = %q, want %q", got, want)
	}
	if res := do(t, a, "GET", "/static/htmx.min.js"); res.code != 200 || !bytes.Equal(res.body, jsBody) {
		t.Errorf("lower layer file not served: %d", res.code)
	}
	// The overridden file's old fingerprint is merely stale, not current.
	stale := "/static/app." + sha12([]byte("base")) + ".css"
	res := do(t, a, "GET", stale)
	if string(res.body) != "override" || res.hdr.Get("Cache-Control") != "no-cache" {
		t.Errorf("stale layered fingerprint: body %q cache %q", res.body, res.hdr.Get("Cache-Control"))
	}
}

func TestCacheHeaders(t *testing.T) {
	a := mustNew(t, testFS())
	tests := []struct {
		name, target, cache string
		body                []byte
	}{
		{"fingerprinted", a.Path("htmx.min.js"), "public, max-age=31536000, immutable", jsBody},
		{"fingerprinted nested", a.Path("css/app.css"), "public, max-age=31536000, immutable", cssBody},
		{"fingerprinted no ext", a.Path("LICENSE"), "public, max-age=31536000, immutable", []byte("MIT")},
		{"plain", "/static/htmx.min.js", "no-cache", jsBody},
		{"stale hash", "/static/htmx.min.0123456789ab.js", "no-cache", jsBody},
		{"stale hash nested", "/static/css/app.aaaaaaaaaaaa.css", "no-cache", cssBody},
		{"stale hash no ext", "/static/LICENSE.0123456789ab", "no-cache", []byte("MIT")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, a, "GET", tt.target)
			if res.code != 200 {
				t.Fatalf("status = %d", res.code)
			}
			if got := res.hdr.Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control = %q, want %q", got, tt.cache)
			}
			if !bytes.Equal(res.body, tt.body) {
				t.Errorf("wrong body")
			}
			if got := res.hdr.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			if res.hdr.Get("ETag") == "" {
				t.Errorf("missing ETag")
			}
		})
	}
	// Malformed hash segments are not treated as fingerprints.
	for _, p := range []string{
		"/static/htmx.min.0123456789AB.js", // uppercase
		"/static/htmx.min.0123456789a.js",  // too short
		"/static/htmx.min.0123456789abc.js",
		"/static/htmx.min.js.0123456789ab.js",
	} {
		if res := do(t, a, "GET", p); res.code != 404 {
			t.Errorf("GET %s = %d, want 404", p, res.code)
		}
	}
}

func TestContentHeaders(t *testing.T) {
	a := mustNew(t, testFS())
	tests := []struct {
		name, ctype string
		vary        bool
	}{
		{"htmx.min.js", "text/javascript; charset=utf-8", true},
		{"css/app.css", "text/css; charset=utf-8", true},
		{"tiny.css", "text/css; charset=utf-8", true},
		{"data/values.json", "application/json; charset=utf-8", true},
		{"img/logo.png", "image/png", false},
		{"fonts/x.woff2", "font/woff2", false},
		{"unknown.zzqqxx123", "application/octet-stream", false},
		{"empty.txt", "text/plain; charset=utf-8", true},
	}
	for _, tt := range tests {
		res := do(t, a, "GET", a.Path(tt.name))
		if res.code != 200 {
			t.Errorf("%s: status %d", tt.name, res.code)
			continue
		}
		if got := res.hdr.Get("Content-Type"); got != tt.ctype {
			t.Errorf("%s: Content-Type = %q, want %q", tt.name, got, tt.ctype)
		}
		if got := res.hdr.Get("Vary"); (got == "Accept-Encoding") != tt.vary {
			t.Errorf("%s: Vary = %q, want vary=%v", tt.name, got, tt.vary)
		}
		if got, want := res.hdr.Get("Content-Length"), strconv.Itoa(len(res.body)); got != want {
			t.Errorf("%s: Content-Length = %q, want %q", tt.name, got, want)
		}
	}
}

func TestVaryAppendsToExisting(t *testing.T) {
	a := mustNew(t, testFS())
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Cookie")
		a.ServeHTTP(w, r)
	})
	res := do(t, h, "GET", a.Path("htmx.min.js"))
	if got := res.hdr.Values("Vary"); !slices.Equal(got, []string{"Cookie", "Accept-Encoding"}) {
		t.Errorf("Vary = %q", got)
	}
	// The shared header value was not mutated.
	res = do(t, a, "GET", a.Path("htmx.min.js"))
	if got := res.hdr.Values("Vary"); !slices.Equal(got, []string{"Accept-Encoding"}) {
		t.Errorf("Vary = %q", got)
	}
}

func TestETag(t *testing.T) {
	a := mustNew(t, testFS())
	target := a.Path("htmx.min.js")
	first := do(t, a, "GET", target)
	etag := first.hdr.Get("ETag")
	if !regexp.MustCompile(`^"[0-9a-f]{16,64}"$`).MatchString(etag) {
		t.Fatalf("ETag = %q, want strong quoted hex", etag)
	}
	// The ETag is the same for plain and fingerprinted URLs.
	if got := do(t, a, "GET", "/static/htmx.min.js").hdr.Get("ETag"); got != etag {
		t.Errorf("plain ETag = %q, want %q", got, etag)
	}

	weak := "W/" + etag
	tests := []struct {
		name, inm string
		want      int
	}{
		{"exact", etag, 304},
		{"list", `"aaaa", ` + etag + `, "bbbb"`, 304},
		{"list no spaces", `"aaaa",` + etag, 304},
		{"weak", weak, 304},
		{"weak in list", `W/"zzz", ` + weak, 304},
		{"star", "*", 304},
		{"mismatch", `"deadbeef"`, 200},
		{"unquoted", strings.Trim(etag, `"`), 200},
		{"prefix only", etag[:len(etag)-2] + `"`, 200},
		{"gzip etag for identity", strings.TrimSuffix(etag, `"`) + `-gz"`, 200},
		{"garbage", `,,, W/ foo, "`, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, method := range []string{"GET", "HEAD"} {
				res := do(t, a, method, target, "If-None-Match", tt.inm)
				if res.code != tt.want {
					t.Fatalf("%s status = %d, want %d", method, res.code, tt.want)
				}
				if tt.want == 304 {
					if len(res.body) != 0 {
						t.Errorf("304 has body")
					}
					if res.hdr.Get("ETag") != etag {
						t.Errorf("304 ETag = %q", res.hdr.Get("ETag"))
					}
					if res.hdr.Get("Cache-Control") != "public, max-age=31536000, immutable" {
						t.Errorf("304 Cache-Control = %q", res.hdr.Get("Cache-Control"))
					}
				}
			}
		})
	}
	// Multiple If-None-Match header lines.
	r := httptest.NewRequest("GET", target, nil)
	r.Header.Add("If-None-Match", `"nope"`)
	r.Header.Add("If-None-Match", etag)
	if res := doReq(a, r); res.code != 304 {
		t.Errorf("multi-line If-None-Match: %d", res.code)
	}
	// Different content → different ETag.
	if do(t, a, "GET", a.Path("css/app.css")).hdr.Get("ETag") == etag {
		t.Errorf("distinct files share an ETag")
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gzip.NewReader: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

func TestGzipNegotiation(t *testing.T) {
	a := mustNew(t, testFS())
	target := a.Path("htmx.min.js")
	identityETag := do(t, a, "GET", target).hdr.Get("ETag")

	tests := []struct {
		ae   string // "-" means header absent
		gzip bool
	}{
		{"gzip", true},
		{"gzip, deflate, br", true},
		{"br;q=1.0, gzip;q=0.8, *;q=0.1", true},
		{"GZIP", true},
		{"x-gzip", true},
		{"gzip;q=1", true},
		{"gzip; q=0.001", true},
		{"gzip;Q=0.5", true},
		{"*", true},
		{"identity, *;q=0.5", true},
		{"-", false},
		{"", false},
		{"identity", false},
		{"deflate, br", false},
		{"gzip;q=0", false},
		{"gzip; q=0.0", false},
		{"gzip;q=0.000", false},
		{"gzip;q=0, *", false},
		{"*, gzip;q=0", false},
		{"*;q=0", false},
		{"gzip;q=bogus", false},
		{"gzip;q=1.5", false},
		{"gzipped", false},
	}
	for _, tt := range tests {
		t.Run(tt.ae, func(t *testing.T) {
			var res result
			if tt.ae == "-" {
				res = do(t, a, "GET", target)
			} else {
				res = do(t, a, "GET", target, "Accept-Encoding", tt.ae)
			}
			if res.code != 200 {
				t.Fatalf("status %d", res.code)
			}
			gotGzip := res.hdr.Get("Content-Encoding") == "gzip"
			if gotGzip != tt.gzip {
				t.Fatalf("gzip = %v, want %v", gotGzip, tt.gzip)
			}
			if got := res.hdr.Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary = %q", got)
			}
			if got, want := res.hdr.Get("Content-Length"), strconv.Itoa(len(res.body)); got != want {
				t.Errorf("Content-Length = %q, body %s", got, want)
			}
			if gotGzip {
				if len(res.body) >= len(jsBody) {
					t.Errorf("gzip body not smaller: %d >= %d", len(res.body), len(jsBody))
				}
				if !bytes.Equal(gunzip(t, res.body), jsBody) {
					t.Errorf("gzip body does not decompress to the original")
				}
				if et := res.hdr.Get("ETag"); et == identityETag || !strings.HasSuffix(et, `-gz"`) {
					t.Errorf("gzip ETag = %q (identity %q)", et, identityETag)
				}
			} else {
				if !bytes.Equal(res.body, jsBody) {
					t.Errorf("identity body differs")
				}
				if et := res.hdr.Get("ETag"); et != identityETag {
					t.Errorf("identity ETag = %q, want %q", et, identityETag)
				}
			}
		})
	}

	// Multiple Accept-Encoding header lines are combined.
	r := httptest.NewRequest("GET", target, nil)
	r.Header.Add("Accept-Encoding", "br")
	r.Header.Add("Accept-Encoding", "gzip")
	if res := doReq(a, r); res.hdr.Get("Content-Encoding") != "gzip" {
		t.Errorf("multi-line Accept-Encoding not honoured")
	}

	// If-None-Match with the gzip ETag → 304 for gzip-accepting clients.
	gzETag := do(t, a, "GET", target, "Accept-Encoding", "gzip").hdr.Get("ETag")
	res := do(t, a, "GET", target, "Accept-Encoding", "gzip", "If-None-Match", gzETag)
	if res.code != 304 || len(res.body) != 0 {
		t.Errorf("gzip If-None-Match: %d, %d bytes", res.code, len(res.body))
	}
	if res.hdr.Get("Content-Encoding") != "" {
		t.Errorf("304 carries Content-Encoding")
	}
}

func TestGzipOnlyWhenUseful(t *testing.T) {
	a := mustNew(t, testFS())
	for _, name := range []string{"tiny.css", "img/logo.png", "fonts/x.woff2", "empty.txt"} {
		res := do(t, a, "GET", a.Path(name), "Accept-Encoding", "gzip")
		if res.code != 200 {
			t.Errorf("%s: status %d", name, res.code)
		}
		if enc := res.hdr.Get("Content-Encoding"); enc != "" {
			t.Errorf("%s: Content-Encoding = %q, want none", name, enc)
		}
	}
	// Nested compressible files are gzipped too.
	res := do(t, a, "GET", a.Path("css/app.css"), "Accept-Encoding", "gzip")
	if res.hdr.Get("Content-Encoding") != "gzip" || !bytes.Equal(gunzip(t, res.body), cssBody) {
		t.Errorf("css/app.css not served gzipped")
	}
}

func TestHead(t *testing.T) {
	a := mustNew(t, testFS())
	for _, ae := range []string{"identity", "gzip"} {
		get := do(t, a, "GET", a.Path("htmx.min.js"), "Accept-Encoding", ae)
		head := do(t, a, "HEAD", a.Path("htmx.min.js"), "Accept-Encoding", ae)
		if head.code != 200 {
			t.Fatalf("HEAD status %d", head.code)
		}
		if len(head.body) != 0 {
			t.Errorf("HEAD has a %d byte body", len(head.body))
		}
		for _, k := range []string{"Content-Type", "Content-Length", "ETag", "Cache-Control",
			"Content-Encoding", "Vary", "X-Content-Type-Options"} {
			if g, h := get.hdr.Get(k), head.hdr.Get(k); g != h {
				t.Errorf("%s: %s GET %q != HEAD %q", ae, k, g, h)
			}
		}
		if head.hdr.Get("Content-Length") != strconv.Itoa(len(get.body)) {
			t.Errorf("HEAD Content-Length = %q", head.hdr.Get("Content-Length"))
		}
	}
}

func TestRange(t *testing.T) {
	a := mustNew(t, testFS())
	target := a.Path("htmx.min.js")
	etag := do(t, a, "GET", target).hdr.Get("ETag")

	res := do(t, a, "GET", target, "Range", "bytes=0-9")
	if res.code != 206 || !bytes.Equal(res.body, jsBody[:10]) {
		t.Fatalf("single range: status %d, body %q", res.code, res.body)
	}
	if got, want := res.hdr.Get("Content-Range"), fmt.Sprintf("bytes 0-9/%d", len(jsBody)); got != want {
		t.Errorf("Content-Range %q, want %q", got, want)
	}
	if res.hdr.Get("Content-Length") != "10" || res.hdr.Get("ETag") != etag ||
		res.hdr.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Errorf("206 headers: %v", res.hdr)
	}

	res = do(t, a, "GET", target, "Range", "bytes=0-1,5-6")
	if res.code != 206 || !strings.HasPrefix(res.hdr.Get("Content-Type"), "multipart/byteranges; boundary=") {
		t.Fatalf("multiple ranges: status %d, type %q", res.code, res.hdr.Get("Content-Type"))
	}
	if !bytes.Contains(res.body, jsBody[0:2]) || !bytes.Contains(res.body, jsBody[5:7]) {
		t.Errorf("multipart body lacks the parts: %q", res.body)
	}

	res = do(t, a, "GET", target, "Range", fmt.Sprintf("bytes=%d-", len(jsBody)+10))
	if res.code != 416 || res.hdr.Get("Content-Range") != fmt.Sprintf("bytes */%d", len(jsBody)) {
		t.Errorf("unsatisfiable range: status %d, Content-Range %q", res.code, res.hdr.Get("Content-Range"))
	}

	res = do(t, a, "GET", target, "Range", "bytes=0-9", "If-Range", etag)
	if res.code != 206 || len(res.body) != 10 {
		t.Errorf("If-Range with the current ETag: status %d, %d bytes", res.code, len(res.body))
	}
	res = do(t, a, "GET", target, "Range", "bytes=0-9", "If-Range", `"stale"`)
	if res.code != 200 || !bytes.Equal(res.body, jsBody) || res.hdr.Get("Content-Range") != "" {
		t.Errorf("If-Range with a stale ETag: status %d, %d bytes", res.code, len(res.body))
	}
	res = do(t, a, "GET", target, "Range", "bytes=0-9", "If-Range", "W/"+etag)
	if res.code != 200 {
		t.Errorf("If-Range with a weak ETag must not give a range: status %d", res.code)
	}

	res = do(t, a, "HEAD", target, "Range", "bytes=0-9")
	if res.code != 206 || len(res.body) != 0 || res.hdr.Get("Content-Length") != "10" {
		t.Errorf("HEAD range: status %d, %d bytes, %v", res.code, len(res.body), res.hdr)
	}
}

// TestRangeOnGzipVariant checks that a range of the precompressed variant
// is a range of the gzip bytes, under the gzip ETag, and that an If-Range
// carrying the identity ETag (or the other way round) gives the full
// variant instead of splicing bytes of two encodings.
func TestRangeOnGzipVariant(t *testing.T) {
	a := mustNew(t, testFS())
	target := a.Path("htmx.min.js")
	full := do(t, a, "GET", target, "Accept-Encoding", "gzip")
	identity := do(t, a, "GET", target)
	gzTag, idTag := full.hdr.Get("ETag"), identity.hdr.Get("ETag")
	if full.hdr.Get("Content-Encoding") != "gzip" || gzTag == idTag {
		t.Fatalf("no distinct gzip variant: %v", full.hdr)
	}
	if full.hdr.Get("Content-Length") != strconv.Itoa(len(full.body)) {
		t.Errorf("gzip Content-Length %q for %d bytes", full.hdr.Get("Content-Length"), len(full.body))
	}

	res := do(t, a, "GET", target, "Accept-Encoding", "gzip", "Range", "bytes=0-9")
	if res.code != 206 || !bytes.Equal(res.body, full.body[:10]) || res.hdr.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip range: status %d, %v", res.code, res.hdr)
	}
	if got, want := res.hdr.Get("Content-Range"), fmt.Sprintf("bytes 0-9/%d", len(full.body)); got != want || res.hdr.Get("ETag") != gzTag {
		t.Errorf("gzip range: Content-Range %q (want %q), ETag %q", got, want, res.hdr.Get("ETag"))
	}
	tail := do(t, a, "GET", target, "Accept-Encoding", "gzip", "Range", "bytes=10-", "If-Range", gzTag)
	if tail.code != 206 || !bytes.Equal(append(res.body, tail.body...), full.body) {
		t.Errorf("resumed gzip download does not rebuild the variant: status %d", tail.code)
	}
	if !bytes.Equal(gunzip(t, append(res.body, tail.body...)), jsBody) {
		t.Error("resumed gzip variant does not decompress to the file")
	}
	res = do(t, a, "GET", target, "Accept-Encoding", "gzip", "Range", "bytes=10-", "If-Range", idTag)
	if res.code != 200 || !bytes.Equal(res.body, full.body) {
		t.Errorf("If-Range with the identity ETag on the gzip variant: status %d", res.code)
	}
	res = do(t, a, "GET", target, "Range", "bytes=10-", "If-Range", gzTag)
	if res.code != 200 || !bytes.Equal(res.body, jsBody) {
		t.Errorf("If-Range with the gzip ETag on the identity variant: status %d", res.code)
	}
	res = do(t, a, "GET", target, "Accept-Encoding", "gzip", "Range", fmt.Sprintf("bytes=%d-", len(full.body)))
	if res.code != 416 {
		t.Errorf("unsatisfiable gzip range: status %d", res.code)
	}
	res = do(t, a, "GET", target, "Accept-Encoding", "gzip", "If-None-Match", gzTag)
	if res.code != 304 || len(res.body) != 0 || res.hdr.Get("ETag") != gzTag {
		t.Errorf("conditional gzip request: status %d, %v", res.code, res.hdr)
	}
	res = do(t, a, "GET", target, "Accept-Encoding", "gzip", "If-Match", `"other"`)
	if res.code != 412 {
		t.Errorf("failed If-Match: status %d", res.code)
	}
}

// TestAcceptEncodingRule checks the precompressed path against the values
// on which the old static parser, the old middleware and gzhttp disagreed;
// the middleware package tests the same values.
func TestAcceptEncodingRule(t *testing.T) {
	a := mustNew(t, testFS())
	for _, c := range []struct {
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
	} {
		r := httptest.NewRequest("GET", a.Path("htmx.min.js"), nil)
		for _, v := range c.ae {
			r.Header.Add("Accept-Encoding", v)
		}
		if got := doReq(a, r).hdr.Get("Content-Encoding") == "gzip"; got != c.gzip {
			t.Errorf("Accept-Encoding %q: gzip = %v, want %v", c.ae, got, c.gzip)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	a := mustNew(t, testFS())
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		res := do(t, a, m, a.Path("htmx.min.js"))
		if res.code != 405 {
			t.Errorf("%s: status %d, want 405", m, res.code)
		}
		if got := res.hdr.Get("Allow"); got != "GET, HEAD" {
			t.Errorf("%s: Allow = %q", m, got)
		}
		if bytes.Contains(res.body, jsBody[:20]) {
			t.Errorf("%s: body leaked asset", m)
		}
	}
}

func TestNotFound(t *testing.T) {
	layer := testFS()
	layer["go.mod"] = &fstest.MapFile{Data: []byte("module x")}
	a := mustNew(t, layer)
	targets := []string{
		"/static/",
		"/static",
		"/",
		"/other/htmx.min.js",
		"/static/../go.mod",
		"/static/%2e%2e/go.mod",
		"/static/%2e%2e/x",
		"/static/css/../htmx.min.js",
		"/static/./htmx.min.js",
		`/static/a\b`,
		`/static/css\app.css`,
		"/static//htmx.min.js",
		"/static/css//app.css",
		"/static/htmx.min.js/",
		"/static/css",
		"/static/css/",
		"/static/img",
		"/static/nope.js",
		"/static/%00htmx.min.js",
		"/static/htmx.min.js%00",
	}
	for _, target := range targets {
		res := do(t, a, "GET", target)
		if res.code != 404 {
			t.Errorf("GET %q = %d, want 404", target, res.code)
		}
	}
	// Paths that cannot come from a parsed URL but may come from a
	// hand-built request.
	for _, p := range []string{"/static/a\x00b", "/static/\\htmx.min.js", "/static/C:/x", "/static/" + string([]byte{0xff})} {
		r := httptest.NewRequest("GET", "/static/x", nil)
		r.URL.Path = p
		if res := doReq(a, r); res.code != 404 {
			t.Errorf("GET %q = %d, want 404", p, res.code)
		}
	}
	// Sanity: the same index does serve real files.
	if res := do(t, a, "GET", "/static/go.mod"); res.code != 200 {
		t.Errorf("GET /static/go.mod = %d", res.code)
	}
}

func TestErrorHandler(t *testing.T) {
	type call struct {
		status int
		allow  string
	}
	var (
		mu    sync.Mutex
		calls []call
	)
	hook := func(w http.ResponseWriter, r *http.Request, status int) {
		mu.Lock()
		calls = append(calls, call{status, w.Header().Get("Allow")})
		mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, "custom")
	}
	base := mustNew(t, testFS())
	a := base.WithErrorHandler(hook)

	if res := do(t, a, "GET", "/static/missing.js"); res.code != 404 || string(res.body) != "custom" {
		t.Errorf("404: %d %q", res.code, res.body)
	}
	if res := do(t, a, "GET", "/static/../go.mod"); res.code != 404 {
		t.Errorf("traversal: %d", res.code)
	}
	if res := do(t, a, "POST", a.Path("htmx.min.js")); res.code != 405 || string(res.body) != "custom" {
		t.Errorf("405: %d %q", res.code, res.body)
	}
	if res := do(t, a, "GET", a.Path("htmx.min.js")); res.code != 200 {
		t.Errorf("200: %d", res.code)
	}
	want := []call{{404, ""}, {404, ""}, {405, "GET, HEAD"}}
	if !slices.Equal(calls, want) {
		t.Errorf("hook calls = %v, want %v", calls, want)
	}

	// The hook survives WithPrefix, and the receiver is unchanged.
	calls = nil
	do(t, a.WithPrefix("/x/"), "GET", "/x/missing")
	if len(calls) != 1 {
		t.Errorf("hook not kept by WithPrefix")
	}
	res := do(t, base, "GET", "/static/missing.js")
	if res.code != 404 || !strings.Contains(string(res.body), "Not Found") {
		t.Errorf("default handler: %d %q", res.code, res.body)
	}
	if got := res.hdr.Get("Content-Type"); !strings.HasPrefix(got, "text/plain") {
		t.Errorf("default handler Content-Type = %q", got)
	}
	// nil restores the default.
	calls = nil
	res = do(t, a.WithErrorHandler(nil), "GET", "/static/missing.js")
	if len(calls) != 0 || res.code != 404 || !strings.Contains(string(res.body), "Not Found") {
		t.Errorf("nil handler: %d %q, calls %v", res.code, res.body, calls)
	}
}

type failFS struct {
	fs.FS
	fail string
}

var errBoom = errors.New("boom")

func (f failFS) Open(name string) (fs.File, error) {
	if name == f.fail {
		return nil, errBoom
	}
	return f.FS.Open(name)
}

func TestNewErrors(t *testing.T) {
	_, err := New(testFS(), failFS{FS: fstest.MapFS{"ok.js": {}, "bad/thing.js": {Data: []byte("x")}}, fail: "bad/thing.js"})
	if err == nil {
		t.Fatal("New succeeded on read failure")
	}
	if !errors.Is(err, errBoom) || !strings.Contains(err.Error(), "bad/thing.js") || !strings.Contains(err.Error(), "layer 1") {
		t.Errorf("error lacks context: %v", err)
	}

	if _, err := New(fstest.MapFS{}, nil); err == nil {
		t.Error("New accepted a nil layer")
	}

	// A shadowed file in a later layer is never read, so it cannot fail.
	_, err = New(fstest.MapFS{"bad.js": {}}, failFS{FS: fstest.MapFS{"bad.js": {}}, fail: "bad.js"})
	if err != nil {
		t.Errorf("shadowed file was read: %v", err)
	}

	// No layers at all: an empty, working index.
	a := mustNew(t)
	if len(a.Names()) != 0 {
		t.Errorf("empty New has names")
	}
	if res := do(t, a, "GET", "/static/x.js"); res.code != 404 {
		t.Errorf("empty index: %d", res.code)
	}
}

func TestConcurrentServe(t *testing.T) {
	a := mustNew(t, testFS())
	target := a.Path("htmx.min.js")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				ae := "identity"
				if i%2 == 0 {
					ae = "gzip"
				}
				res := do(t, a, "GET", target, "Accept-Encoding", ae)
				if res.code != 200 {
					t.Errorf("status %d", res.code)
					return
				}
			}
		})
	}
	wg.Wait()
}

// discardWriter is a minimal reusable ResponseWriter for benchmarks.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }
func (d *discardWriter) Write(b []byte) (int, error) { d.n += len(b); return len(b), nil }

func benchmarkServe(b *testing.B, ae string) {
	a := mustNew(b, testFS())
	r := httptest.NewRequest("GET", a.Path("htmx.min.js"), nil)
	if ae != "" {
		r.Header.Set("Accept-Encoding", ae)
	}
	w := &discardWriter{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		a.ServeHTTP(w, r)
	}
	if w.code != 200 {
		b.Fatalf("status %d", w.code)
	}
}

func BenchmarkServeFingerprinted(b *testing.B) {
	b.Run("identity", func(b *testing.B) { benchmarkServe(b, "") })
	b.Run("gzip", func(b *testing.B) { benchmarkServe(b, "gzip, deflate, br, zstd") })
}

func TestServeFingerprintedAllocs(t *testing.T) {
	a := mustNew(t, testFS())
	r := httptest.NewRequest("GET", a.Path("htmx.min.js"), nil)
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	w := &discardWriter{h: make(http.Header)}
	allocs := testing.AllocsPerRun(100, func() {
		clear(w.h)
		a.ServeHTTP(w, r)
	})
	// http.ServeContent allocates its reader and a few header values; the
	// bound catches a per-request copy of the asset or of the header set.
	if allocs > 6 {
		t.Errorf("ServeHTTP allocates %v times per request, want at most 6", allocs)
	}
}

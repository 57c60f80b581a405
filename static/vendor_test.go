package static

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestVendoredHTMX guards the vendored htmx files of every supported major
// version: a hand edit of htmx.min.js (or a partial update) makes this fail.
// Regenerate the files with scripts/update-htmx.sh instead of editing them.
func TestVendoredHTMX(t *testing.T) {
	for _, tc := range []struct {
		dir   string // directory inside FrameworkFS
		major string // the major version its htmx.version must have
	}{
		{".", "2"},
		{"htmx4", "4"},
	} {
		t.Run("htmx"+tc.major, func(t *testing.T) {
			checkVendoredHTMX(t, tc.dir, tc.major)
		})
	}
}

func checkVendoredHTMX(t *testing.T, dir, major string) {
	fsys, err := fs.Sub(FrameworkFS(), dir)
	if err != nil {
		t.Fatal(err)
	}

	js, err := fs.ReadFile(fsys, "htmx.min.js")
	if err != nil {
		t.Fatalf("read htmx.min.js: %v", err)
	}
	if len(js) == 0 {
		t.Fatal("htmx.min.js is empty")
	}

	sumFile, err := fs.ReadFile(fsys, "htmx.min.js.sha256")
	if err != nil {
		t.Fatalf("read htmx.min.js.sha256: %v", err)
	}
	// sha256sum format: "<64 hex>  htmx.min.js\n" (binary mode uses " *").
	m := regexp.MustCompile(`^([0-9a-f]{64}) [ *]htmx\.min\.js\n?$`).FindSubmatch(sumFile)
	if m == nil {
		t.Fatalf("htmx.min.js.sha256 is malformed: %q", sumFile)
	}
	sum := sha256.Sum256(js)
	if got, want := hex.EncodeToString(sum[:]), string(m[1]); got != want {
		t.Errorf("htmx.min.js sha256 = %s, but htmx.min.js.sha256 says %s; "+
			"do not edit vendored files, run scripts/update-htmx.sh", got, want)
	}

	version, err := fs.ReadFile(fsys, "htmx.version")
	if err != nil {
		t.Fatalf("read htmx.version: %v", err)
	}
	v := strings.TrimSpace(string(version))
	if !regexp.MustCompile(`^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$`).MatchString(v) {
		t.Errorf("htmx.version = %q, want a semantic version", v)
	} else if !strings.HasPrefix(v, major+".") {
		t.Errorf("htmx.version = %q in %s, want htmx %s", v, dir, major)
	}
	// The minified file announces its own version; it must be the pinned one.
	if !strings.Contains(string(js), `"`+v+`"`) && !strings.Contains(string(js), `'`+v+`'`) {
		t.Errorf("htmx.min.js does not contain its pinned version %q", v)
	}

	license, err := fs.ReadFile(fsys, "htmx.LICENSE.txt")
	if err != nil {
		t.Fatalf("read htmx.LICENSE.txt: %v", err)
	}
	if len(strings.TrimSpace(string(license))) == 0 {
		t.Error("htmx.LICENSE.txt is empty")
	}
}

func TestFrameworkAssets(t *testing.T) {
	a, err := New(FrameworkFS())
	if err != nil {
		t.Fatalf("New(FrameworkFS()): %v", err)
	}
	p := a.Path("htmx.min.js")
	if !regexp.MustCompile(`^/static/htmx\.min\.[0-9a-f]{12}\.js$`).MatchString(p) {
		t.Errorf("Path(htmx.min.js) = %q", p)
	}
	res := do(t, a, "GET", p, "Accept-Encoding", "gzip")
	if res.code != 200 || res.hdr.Get("Content-Encoding") != "gzip" {
		t.Errorf("GET %s: %d, Content-Encoding %q", p, res.code, res.hdr.Get("Content-Encoding"))
	}
	if ct := res.hdr.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if p := a.Path("htmx4/htmx.min.js"); !regexp.MustCompile(`^/static/htmx4/htmx\.min\.[0-9a-f]{12}\.js$`).MatchString(p) {
		t.Errorf("Path(htmx4/htmx.min.js) = %q", p)
	} else if res := do(t, a, "GET", p); res.code != 200 {
		t.Errorf("GET %s: %d", p, res.code)
	}
}

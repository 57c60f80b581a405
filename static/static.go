// Package static serves embedded (or any fs.FS) assets under fingerprinted,
// cache-friendly URLs.
//
// # Building an index
//
// New walks one or more fs.FS layers once, at construction time, and builds
// an immutable in-memory index: the content of every file, its SHA-256, a
// precomputed gzip variant for compressible types, and all response header
// values. Serving a request is a map lookup followed by a write of bytes
// already in memory; no file is opened per request.
//
// Earlier layers win when two layers contain the same path, so an application
// can override a framework asset by passing its own FS first:
//
//	assets, err := static.New(appFS, static.FrameworkFS())
//
// Files and directories whose name starts with "." are skipped.
//
// # URLs
//
// Path returns the fingerprinted URL of an asset: the first 12 hex digits of
// the SHA-256 of its content are inserted before the last extension, so
// "htmx.min.js" becomes "/static/htmx.min.3f2a1b4c5d6e.js" (a name without
// extension gets the hash appended: "LICENSE" → "/static/LICENSE.3f2a1b4c5d6e").
// The URL prefix defaults to "/static/"; use WithPrefix to change it.
//
// # Mounting
//
// Assets implements http.Handler and expects the FULL request path, prefix
// included; do not wrap it in http.StripPrefix. Mount it at the prefix:
//
//	mux.Handle("/static/", assets)
//
// # Responses
//
//   - Only GET and HEAD are allowed; other methods get 405 with
//     "Allow: GET, HEAD".
//   - A fingerprinted URL whose hash matches the current content is served
//     with "Cache-Control: public, max-age=31536000, immutable".
//   - A plain (unfingerprinted) URL is served with "Cache-Control: no-cache".
//   - A fingerprinted URL with a stale or wrong hash serves the CURRENT
//     content with "Cache-Control: no-cache", so links baked into old pages
//     keep working after a deploy but are never cached for a year.
//   - Every response carries a strong ETag derived from the SHA-256.
//   - If the client accepts gzip and a gzip variant exists, it is served
//     with "Content-Encoding: gzip" and a distinct ETag (suffix "-gz").
//     Whether the client accepts gzip is decided by the same rule the
//     compression middleware uses (an explicit gzip entry beats "*", q=0 or
//     a malformed weight refuses, all Accept-Encoding lines count). Files of
//     a compressible type carry "Vary: Accept-Encoding" (once, even when a
//     compression middleware in front already added it). If a client
//     refuses identity and gzip is not available, the identity encoding is
//     served anyway (never 406).
//   - The bytes of the chosen encoding are served by http.ServeContent:
//     If-None-Match (lists, "*", weak comparison) yields 304 Not Modified,
//     If-Match failures 412, Range requests 206 (several ranges as
//     multipart/byteranges) or 416 when unsatisfiable, and If-Range with a
//     stale ETag the full 200. Ranges of the gzip variant are ranges of the
//     gzip bytes, under that variant's own ETag. HEAD sends the headers of
//     the GET. There is no Last-Modified: embedded files have no dates, and
//     the content-derived ETag is the validator.
//   - Unknown names, directories and suspicious paths ("..", ".", empty
//     elements, backslashes, NUL bytes, absolute paths, anything
//     fs.ValidPath rejects) yield 404.
//
// 404 and 405 responses go through an ErrorHandler, which defaults to a
// plain-text status message; replace it with WithErrorHandler.
//
// An *Assets is immutable and safe for concurrent use. WithPrefix and
// WithErrorHandler return modified copies that share the underlying index.
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trellis-go/trellis/internal/negotiate"
)

// DefaultPrefix is the URL prefix used by New.
const DefaultPrefix = "/static/"

// fingerprintLen is the number of hex digits of the SHA-256 used in URLs.
const fingerprintLen = 12

// etagLen is the number of hex digits of the SHA-256 used in ETags.
const etagLen = 32

// ErrorHandler writes an error response. status is http.StatusNotFound or
// http.StatusMethodNotAllowed. For 405 the Allow header is already set when
// the handler is called.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, status int)

// Assets is an immutable index of static files that serves them over HTTP.
// Create one with New.
type Assets struct {
	idx     *index
	prefix  string
	urls    map[string]string // plain name → full fingerprinted URL for prefix
	onError ErrorHandler
}

// index is the prefix-independent part of Assets, shared between copies.
type index struct {
	byName        map[string]*asset // "htmx.min.js"
	byFingerprint map[string]*asset // "htmx.min.3f2a1b4c5d6e.js"
	names         []string          // sorted plain names
}

// asset is one file with all its precomputed response data. The []string
// header values are assigned directly into response header maps to avoid
// per-request allocations; they have len == cap == 1 so that appends made by
// later code copy instead of aliasing.
type asset struct {
	name         string
	fingerprint  string // fingerprinted relative name
	body         []byte
	gz           []byte // nil if no (smaller) gzip variant exists
	compressible bool

	contentType []string
	gzLength    []string // Content-Length of gz
	etag        []string // `"<hex>"`
	gzEtag      []string // `"<hex>-gz"`
}

// Shared, read-only header values.
var (
	hdrImmutable = []string{"public, max-age=31536000, immutable"}
	hdrNoCache   = []string{"no-cache"}
	hdrNosniff   = []string{"nosniff"}
	hdrVary      = []string{"Accept-Encoding"}
	hdrGzip      = []string{"gzip"}
	hdrAllow     = []string{"GET, HEAD"}
)

// New builds an asset index from the given layers. Earlier layers take
// precedence over later ones for the same path. Dotfiles and dot-directories
// are skipped. Every file is read into memory; for compressible types a gzip
// variant (gzip.BestCompression) is kept when it is smaller than the original.
//
// New returns an error if a layer is nil or a file cannot be read.
func New(layers ...fs.FS) (*Assets, error) {
	idx := &index{
		byName:        make(map[string]*asset),
		byFingerprint: make(map[string]*asset),
	}
	for i, layer := range layers {
		if layer == nil {
			return nil, fmt.Errorf("static: layer %d is nil", i)
		}
		if err := idx.addLayer(i, layer); err != nil {
			return nil, err
		}
	}
	for name, a := range idx.byName {
		idx.names = append(idx.names, name)
		idx.byFingerprint[a.fingerprint] = a
	}
	slices.Sort(idx.names)

	a := &Assets{idx: idx, onError: defaultErrorHandler}
	a.setPrefix(DefaultPrefix)
	return a, nil
}

func (idx *index) addLayer(layerNum int, layer fs.FS) error {
	return fs.WalkDir(layer, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("static: layer %d: walk %q: %w", layerNum, p, err)
		}
		if p != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		typ := d.Type()
		if typ&fs.ModeSymlink != 0 {
			// Follow symlinks to regular files (e.g. os.DirFS in development);
			// WalkDir never descends into symlinked directories.
			info, err := fs.Stat(layer, p)
			if err != nil {
				return fmt.Errorf("static: layer %d: stat %q: %w", layerNum, p, err)
			}
			typ = info.Mode().Type()
		}
		if !typ.IsRegular() {
			return nil
		}
		if _, exists := idx.byName[p]; exists {
			return nil // an earlier layer wins
		}
		body, err := fs.ReadFile(layer, p)
		if err != nil {
			return fmt.Errorf("static: layer %d: read %q: %w", layerNum, p, err)
		}
		a, err := newAsset(p, body)
		if err != nil {
			return fmt.Errorf("static: layer %d: %q: %w", layerNum, p, err)
		}
		idx.byName[p] = a
		return nil
	})
}

func newAsset(name string, body []byte) (*asset, error) {
	sum := sha256.Sum256(body)
	hexSum := hex.EncodeToString(sum[:])
	ctype := contentType(name)
	a := &asset{
		name:         name,
		fingerprint:  fingerprintName(name, hexSum[:fingerprintLen]),
		body:         body,
		compressible: compressible(ctype),
		contentType:  []string{ctype},
		etag:         []string{`"` + hexSum[:etagLen] + `"`},
		gzEtag:       []string{`"` + hexSum[:etagLen] + `-gz"`},
	}
	if a.compressible && len(body) > 0 {
		gz, err := gzipBytes(body)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		if len(gz) < len(body) {
			a.gz = gz
			a.gzLength = []string{strconv.Itoa(len(gz))}
		}
	}
	return a, nil
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return slices.Clip(buf.Bytes()), nil
}

// fingerprintName inserts ".<hash>" before the last extension of name, or
// appends it when name has no extension.
func fingerprintName(name, hash string) string {
	ext := path.Ext(name)
	return name[:len(name)-len(ext)] + "." + hash + ext
}

// contentTypes maps extensions to MIME types. It takes precedence over
// mime.TypeByExtension, whose result depends on the host's mime tables.
var contentTypes = map[string]string{
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".map":         "application/json; charset=utf-8",
	".json":        "application/json; charset=utf-8",
	".webmanifest": "application/manifest+json; charset=utf-8",
	".html":        "text/html; charset=utf-8",
	".htm":         "text/html; charset=utf-8",
	".txt":         "text/plain; charset=utf-8",
	".md":          "text/markdown; charset=utf-8",
	".csv":         "text/csv; charset=utf-8",
	".xml":         "application/xml; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".avif":        "image/avif",
	".ico":         "image/x-icon",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".ttf":         "font/ttf",
	".otf":         "font/otf",
	".wasm":        "application/wasm",
	".pdf":         "application/pdf",
}

func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if ext != "" {
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
	}
	return "application/octet-stream"
}

// compressible reports whether a MIME type is worth gzipping: text/*,
// JavaScript, JSON, CSS and XML (including SVG). WebAssembly, images, fonts
// and other binary formats are not compressed.
func compressible(ctype string) bool {
	t, _, _ := strings.Cut(ctype, ";")
	t = strings.ToLower(strings.TrimSpace(t))
	switch {
	case strings.HasPrefix(t, "text/"):
		return true
	case strings.Contains(t, "javascript"),
		strings.Contains(t, "json"),
		strings.Contains(t, "css"),
		strings.Contains(t, "xml"):
		return true
	}
	return false
}

// WithPrefix returns a copy of a that generates and serves URLs under prefix
// p. A leading and a trailing slash are added if missing, so "/assets" and
// "assets/" both become "/assets/". The index is shared, not rebuilt.
func (a *Assets) WithPrefix(p string) *Assets {
	c := *a
	c.setPrefix(p)
	return &c
}

func (a *Assets) setPrefix(p string) {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	a.prefix = p
	a.urls = make(map[string]string, len(a.idx.byName))
	for name, as := range a.idx.byName {
		a.urls[name] = p + as.fingerprint
	}
}

// WithErrorHandler returns a copy of a that reports 404 and 405 errors via h.
// A nil h restores the default, which writes the status text as plain text.
func (a *Assets) WithErrorHandler(h ErrorHandler) *Assets {
	c := *a
	if h == nil {
		h = defaultErrorHandler
	}
	c.onError = h
	return &c
}

func defaultErrorHandler(w http.ResponseWriter, _ *http.Request, status int) {
	http.Error(w, http.StatusText(status), status)
}

// Prefix returns the URL prefix, e.g. "/static/".
func (a *Assets) Prefix() string { return a.prefix }

// Path returns the fingerprinted URL path of the named asset, e.g.
// "htmx.min.js" → "/static/htmx.min.3f2a1b4c5d6e.js". For an unknown name it
// returns prefix+name unchanged, so a typo in a template produces a visible
// 404 rather than a panic.
func (a *Assets) Path(name string) string {
	if u, ok := a.urls[name]; ok {
		return u
	}
	return a.prefix + name
}

// Names returns the plain names of all assets, sorted. The caller owns the
// returned slice.
func (a *Assets) Names() []string {
	return slices.Clone(a.idx.names)
}

// ServeHTTP serves the asset named by r.URL.Path, which must start with the
// prefix (see the package documentation for the full behaviour).
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header()["Allow"] = hdrAllow
		a.onError(w, r, http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if !strings.HasPrefix(p, a.prefix) {
		a.onError(w, r, http.StatusNotFound)
		return
	}
	name := p[len(a.prefix):]
	if !validName(name) {
		a.onError(w, r, http.StatusNotFound)
		return
	}
	as, current := a.idx.lookup(name)
	if as == nil {
		a.onError(w, r, http.StatusNotFound)
		return
	}

	h := w.Header()
	if current {
		h["Cache-Control"] = hdrImmutable
	} else {
		h["Cache-Control"] = hdrNoCache
	}
	h["X-Content-Type-Options"] = hdrNosniff
	if as.compressible {
		if v := h["Vary"]; len(v) == 0 {
			h["Vary"] = hdrVary
		} else if !varyHasAcceptEncoding(v) {
			h["Vary"] = append(v, hdrVary[0])
		}
	}

	body, etag := as.body, as.etag
	useGzip := as.gz != nil && negotiate.AcceptsGzip(r.Header)
	if useGzip {
		body, etag = as.gz, as.gzEtag
		h["Content-Encoding"] = hdrGzip
		// ServeContent leaves Content-Length out when Content-Encoding is
		// set. The gzip bytes are fixed, so give it for every answer that
		// can only be the whole variant: no Range, and no precondition that
		// could fail with an empty 412 (a 304 drops the header itself).
		if len(r.Header["Range"]) == 0 && len(r.Header["If-Match"]) == 0 && len(r.Header["If-Unmodified-Since"]) == 0 {
			h["Content-Length"] = as.gzLength
		}
	}
	h["Etag"] = etag
	h["Content-Type"] = as.contentType
	// ServeContent reads only the first line of a list header; several
	// lines mean the same as one comma-separated line (RFC 9110 §5.3).
	for _, k := range [...]string{"If-None-Match", "If-Match"} {
		if v := r.Header[k]; len(v) > 1 {
			r.Header[k] = []string{strings.Join(v, ", ")}
		}
	}
	// ServeContent answers conditional requests (If-None-Match, If-Match,
	// If-Range against the ETag), ranges (206, multipart/byteranges, 416)
	// and HEAD over the bytes of the chosen encoding.
	http.ServeContent(w, r, as.name, time.Time{}, bytes.NewReader(body))
}

// varyHasAcceptEncoding reports whether a Vary header already lists
// Accept-Encoding (compression middleware in front may have added it).
func varyHasAcceptEncoding(v []string) bool {
	for _, line := range v {
		for tok := range strings.SplitSeq(line, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "Accept-Encoding") {
				return true
			}
		}
	}
	return false
}

// validName reports whether a request-derived asset name is acceptable.
// Lookups are map-based, so traversal cannot escape the index anyway; this
// is defence in depth and keeps odd URLs out of the error hook's way.
func validName(name string) bool {
	if name == "" || name[0] == '/' {
		return false
	}
	if strings.IndexByte(name, '\\') >= 0 || strings.IndexByte(name, 0) >= 0 {
		return false
	}
	// fs.ValidPath rejects "." and ".." elements and empty elements
	// (leading, trailing or doubled slashes).
	return fs.ValidPath(name)
}

// lookup resolves a request name. current reports whether the name is a
// fingerprinted name with the current hash (and may be cached forever).
func (idx *index) lookup(name string) (a *asset, current bool) {
	if a := idx.byFingerprint[name]; a != nil {
		return a, true
	}
	if a := idx.byName[name]; a != nil {
		return a, false
	}
	// Stale or wrong fingerprint: strip a ".<12 hex>" segment placed before
	// the last extension ("app.0123456789ab.css") or at the end of a name
	// without extension ("LICENSE.0123456789ab").
	ext := path.Ext(name)
	stem := name[:len(name)-len(ext)]
	if isHashSegment(ext) {
		if a := idx.byName[stem]; a != nil {
			return a, false
		}
	}
	if ext != "" && len(stem) > fingerprintLen+1 {
		seg := stem[len(stem)-fingerprintLen-1:]
		if isHashSegment(seg) {
			base := stem[:len(stem)-len(seg)]
			// Concatenation allocates, but only on this rare path.
			if a := idx.byName[base+ext]; a != nil {
				return a, false
			}
		}
	}
	return nil, false
}

// isHashSegment reports whether s is "." followed by fingerprintLen
// lowercase hex digits.
func isHashSegment(s string) bool {
	if len(s) != fingerprintLen+1 || s[0] != '.' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

package middleware

import (
	"net/http"
	"strings"

	"github.com/felixge/httpsnoop"
	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"

	"github.com/trellis-go/trellis/internal/negotiate"
)

// gzipMinSize is the smallest body worth compressing; smaller bodies fit in
// one packet anyway.
const gzipMinSize = gzhttp.DefaultMinSize

// etagMarker is the suffix gzhttp appends to the ETag of a response it
// compresses. It only marks the response: before the headers go out the
// marker is removed and the tag made weak (see weakenMarkedETag).
const etagMarker = "-trellis-gzip-marker"

// gzipOnly is the Accept-Encoding value gzhttp sees once [Gzip] has decided
// that the client accepts gzip; it is never modified.
var gzipOnly = []string{"gzip"}

// noCompression is the value of gzhttp.HeaderNoCompression, the response
// header that tells gzhttp not to compress (gzhttp removes it).
var noCompression = []string{"1"}

// Gzip compresses responses with github.com/klauspost/compress/gzhttp for
// clients that accept gzip.
//
// Whether a client accepts gzip is decided by the same rule the static file
// server uses (every Accept-Encoding line counts, an explicit gzip entry
// beats "*", q=0 or a malformed weight refuses); gzhttp only compresses
// requests that rule accepts, and the handler still sees the client's own
// Accept-Encoding header.
//
// What is compressed: text/* (except text/event-stream), JSON, XML, SVG and
// JavaScript bodies of at least 1 KiB. Responses that already carry a
// Content-Encoding or a Content-Range, bodies without content (204, 304),
// HEAD requests and everything else pass through unchanged. Every response
// gets "Vary: Accept-Encoding". A compressed response loses its
// Content-Length and Accept-Ranges, and a strong ETag becomes weak (W/"…"),
// so that conditional requests still match with weak comparison but no
// strong validator names two different byte sequences.
//
// Streaming works: Flush (directly or through http.ResponseController)
// flushes the compressor and the connection. A handler that flushes before
// writing anything (an event stream announcing itself) gets its headers
// sent at once, uncompressed. Hijack and Unwrap reach the connection.
//
// level is a compress/gzip level (1 fastest … 9 smallest); an invalid level
// falls back to the default.
func Gzip(level int) func(http.Handler) http.Handler {
	wrap, err := newGzhttp(level)
	if err != nil {
		wrap, err = newGzhttp(gzip.DefaultCompression)
		if err != nil {
			// Unreachable: the options above are valid.
			panic("middleware: gzhttp: " + err.Error())
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead || !negotiate.AcceptsGzip(r.Header) {
				if h := w.Header(); len(h["Vary"]) == 0 {
					h["Vary"] = []string{"Accept-Encoding"} // skips Add's key canonicalisation
				} else {
					h.Add("Vary", "Accept-Encoding")
				}
				next.ServeHTTP(w, r)
				return
			}
			g := &gzipRequest{next: next, acceptEncoding: r.Header["Accept-Encoding"]}
			// gzhttp reads the first Accept-Encoding line with its own parser;
			// give it the decision already made, and hand the handler the
			// client's header back once gzhttp has read it (gzipRequest).
			r.Header["Accept-Encoding"] = gzipOnly
			wrap(g).ServeHTTP(g.below(w), r)
		})
	}
}

// newGzhttp configures gzhttp as [Gzip] documents it.
func newGzhttp(level int) (func(http.Handler) http.HandlerFunc, error) {
	return gzhttp.NewWrapper(
		gzhttp.CompressionLevel(level),
		gzhttp.MinSize(gzipMinSize),
		gzhttp.EnableZstd(false),
		gzhttp.ContentTypeFilter(negotiate.Compressible),
		gzhttp.SuffixETag(etagMarker),
	)
}

// gzipRequest is the per-request state of [Gzip]: the handler to call, the
// client's Accept-Encoding lines, and whether anything has reached the
// connection yet.
type gzipRequest struct {
	next           http.Handler
	acceptEncoding []string
	sent           bool
}

// ServeHTTP runs inside gzhttp: w is gzhttp's compressing writer.
func (g *gzipRequest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Header["Accept-Encoding"] = g.acceptEncoding
	g.next.ServeHTTP(httpsnoop.Wrap(w, httpsnoop.Hooks{
		Flush: func(flush httpsnoop.FlushFunc) httpsnoop.FlushFunc {
			return func() {
				flush()
				if g.sent {
					return
				}
				// Nothing written yet, so gzhttp had nothing to decide on
				// and did not flush: send the headers now, uncompressed.
				w.Header()[gzhttp.HeaderNoCompression] = noCompression
				_, _ = w.Write(nil)
				flush()
			}
		},
	}), r)
}

// below wraps the connection's writer, under gzhttp, to see when the
// response starts and to weaken the ETag of a compressed response.
func (g *gzipRequest) below(w http.ResponseWriter) http.ResponseWriter {
	start := func() {
		if !g.sent {
			g.sent = true
			weakenMarkedETag(w.Header())
		}
	}
	return httpsnoop.Wrap(w, httpsnoop.Hooks{
		WriteHeader: func(next httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
			return func(code int) {
				if code >= 200 {
					start()
				}
				next(code)
			}
		},
		Write: func(next httpsnoop.WriteFunc) httpsnoop.WriteFunc {
			return func(b []byte) (int, error) {
				start()
				return next(b)
			}
		},
		Flush: func(next httpsnoop.FlushFunc) httpsnoop.FlushFunc {
			return func() {
				start()
				next()
			}
		},
	})
}

// weakenMarkedETag turns the ETag gzhttp suffixed with etagMarker back into
// the handler's tag, made weak.
func weakenMarkedETag(h http.Header) {
	v := h["Etag"]
	if len(v) != 1 {
		return
	}
	i := strings.Index(v[0], etagMarker)
	if i < 0 {
		return
	}
	tag := v[0][:i] + v[0][i+len(etagMarker):]
	if !strings.HasPrefix(tag, "W/") {
		tag = "W/" + tag
	}
	h["Etag"] = []string{tag}
}

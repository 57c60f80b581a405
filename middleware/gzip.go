package middleware

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// gzipMinSize is the smallest body worth compressing; smaller bodies fit in
// one packet anyway.
const gzipMinSize = 1024

// Gzip compresses text responses (HTML, CSS, JavaScript, JSON, XML, SVG,
// plain text) for clients that accept gzip. Bodies under 1 KiB, responses
// that already carry a Content-Encoding, event streams, HEAD requests and
// statuses without a body pass through untouched. Compressible responses
// always get "Vary: Accept-Encoding". Flush works (it flushes the
// compressor), so streaming handlers keep streaming.
//
// level is a compress/gzip level (1 fastest … 9 smallest). The compressor is
// github.com/klauspost/compress, about four times faster than the standard
// library's at the same ratio on typical pages.
func Gzip(level int) func(http.Handler) http.Handler {
	pool := &sync.Pool{New: func() any {
		zw, err := gzip.NewWriterLevel(nil, level)
		if err != nil {
			zw = gzip.NewWriter(nil)
		}
		return zw
	}}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead || !acceptsGzip(r.Header.Get("Accept-Encoding")) {
				next.ServeHTTP(w, r)
				return
			}
			gw := &gzipWriter{ResponseWriter: w, pool: pool}
			defer gw.finish()
			next.ServeHTTP(gw, r)
		})
	}
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip; an
// explicit gzip entry takes precedence over "*".
func acceptsGzip(ae string) bool {
	star := false
	for part := range strings.SplitSeq(ae, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.TrimSpace(coding)
		if !strings.EqualFold(coding, "gzip") && coding != "*" {
			continue
		}
		q := 1.0
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = f
			}
		}
		if coding != "*" {
			return q > 0
		}
		star = q > 0
	}
	return star
}

// compressible reports whether a Content-Type is worth compressing.
func compressible(ct string) bool {
	ct, _, _ = strings.Cut(ct, ";")
	ct = strings.ToLower(strings.TrimSpace(ct))
	switch {
	case ct == "text/event-stream":
		return false
	case strings.HasPrefix(ct, "text/"):
		return true
	case ct == "application/json", ct == "application/javascript", ct == "application/xml",
		ct == "image/svg+xml", ct == "application/manifest+json", ct == "application/problem+json",
		strings.HasSuffix(ct, "+json"), strings.HasSuffix(ct, "+xml"):
		return true
	}
	return false
}

// gzipWriter buffers the first bytes of a response to decide whether to
// compress, then either streams through a pooled gzip.Writer or passes the
// bytes on unchanged.
type gzipWriter struct {
	http.ResponseWriter
	pool *sync.Pool

	status  int  // status held back until the decision
	decided bool // compress or passthrough chosen
	zw      *gzip.Writer
	buf     []byte
}

func (g *gzipWriter) WriteHeader(status int) {
	if g.decided || g.status != 0 {
		if status < 200 && !g.decided {
			g.ResponseWriter.WriteHeader(status)
		}
		return
	}
	if status < 200 {
		// Informational responses (103 Early Hints) go out immediately.
		g.ResponseWriter.WriteHeader(status)
		return
	}
	g.status = status
	h := g.Header()
	if status == http.StatusNoContent || status == http.StatusNotModified ||
		h.Get("Content-Encoding") != "" || h.Get("Content-Range") != "" || !compressible(h.Get("Content-Type")) {
		g.passthrough()
		return
	}
	h.Add("Vary", "Accept-Encoding")
	if cl := h.Get("Content-Length"); cl != "" {
		if n, err := strconv.Atoi(cl); err == nil && n < gzipMinSize {
			g.passthrough()
		}
	}
}

func (g *gzipWriter) Write(p []byte) (int, error) {
	if g.status == 0 {
		if g.Header().Get("Content-Type") == "" {
			g.Header().Set("Content-Type", http.DetectContentType(p))
		}
		g.WriteHeader(http.StatusOK)
	}
	if g.decided {
		if g.zw != nil {
			return g.zw.Write(p)
		}
		return g.ResponseWriter.Write(p)
	}
	g.buf = append(g.buf, p...)
	if len(g.buf) >= gzipMinSize {
		if err := g.compress(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// passthrough sends the held status and buffered bytes uncompressed.
func (g *gzipWriter) passthrough() {
	g.decided = true
	g.ResponseWriter.WriteHeader(g.status)
	if len(g.buf) > 0 {
		_, _ = g.ResponseWriter.Write(g.buf)
		g.buf = nil
	}
}

// compress starts the gzip stream with the buffered bytes.
func (g *gzipWriter) compress() error {
	g.decided = true
	h := g.Header()
	h.Del("Content-Length")
	h.Set("Content-Encoding", "gzip")
	if etag := h.Get("ETag"); etag != "" && !strings.HasPrefix(etag, "W/") {
		h.Set("ETag", "W/"+etag)
	}
	g.ResponseWriter.WriteHeader(g.status)
	g.zw = g.pool.Get().(*gzip.Writer)
	g.zw.Reset(g.ResponseWriter)
	_, err := g.zw.Write(g.buf)
	g.buf = nil
	return err
}

// finish flushes what is left once the handler returns.
func (g *gzipWriter) finish() {
	if !g.decided {
		if g.status == 0 {
			return // nothing written: net/http sends an empty 200
		}
		g.passthrough()
	}
	if g.zw != nil {
		_ = g.zw.Close()
		g.zw.Reset(nil)
		g.pool.Put(g.zw)
		g.zw = nil
	}
}

// Flush commits to a decision and flushes everything written so far.
func (g *gzipWriter) Flush() {
	if g.status == 0 {
		g.WriteHeader(http.StatusOK)
	}
	if !g.decided {
		if compressible(g.Header().Get("Content-Type")) && g.Header().Get("Content-Encoding") == "" {
			_ = g.compress()
		} else {
			g.passthrough()
		}
	}
	if g.zw != nil {
		_ = g.zw.Flush()
	}
	_ = http.NewResponseController(g.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (g *gzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// Hijack forwards to the underlying writer before anything was written.
func (g *gzipWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := g.ResponseWriter.(http.Hijacker)
	if !ok || g.status != 0 {
		return nil, nil, fmt.Errorf("middleware: cannot hijack %T after writing", g.ResponseWriter)
	}
	g.decided = true
	return h.Hijack()
}

package middleware

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/trellis-go/trellis/db"
)

// Deferred gives each request a db.Batch on d, so writes the handler
// defers (Mailer.Send's mail) commit with the request's own write — the
// SQL session store's save runs them in its transaction — or, for what
// is left, in one transaction of their own just before the response
// starts: before the status line or the first byte of the body, a flush,
// a protocol switch, or the handler's return. No byte of the response
// leaves before the deferred writes are committed. If committing them
// fails, the error is logged, the handler's response is dropped and
// onError answers 500 instead.
//
// The writer it passes on is written by hand (see ResponseMeter for why)
// and offers Flush and Hijack through http.ResponseController, and Unwrap.
func Deferred(d *db.DB, logger *slog.Logger, onError ErrorFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, b := d.WithBatch(r.Context())
			r = r.WithContext(ctx)
			bw := &batchWriter{ResponseWriter: w, b: b, r: r, logger: logger, onError: onError}
			next.ServeHTTP(bw, r)
			bw.commit()
		})
	}
}

// batchWriter commits the request's batch before anything of the
// response is sent.
type batchWriter struct {
	http.ResponseWriter
	b       *db.Batch
	r       *http.Request
	logger  *slog.Logger
	onError ErrorFunc

	committed bool // the batch was flushed (or its flush failed)
	failed    bool // the flush failed: the handler's response is dropped
}

// commit flushes the batch once; on failure it answers 500 in place of
// the handler's response. It reports whether the handler's response may
// go on.
func (w *batchWriter) commit() bool {
	if w.committed {
		return !w.failed
	}
	w.committed = true
	if err := w.b.Flush(w.r.Context()); err != nil {
		w.failed = true
		w.logger.ErrorContext(w.r.Context(), "deferred writes failed; answering 500",
			slog.String("method", w.r.Method), slog.String("path", w.r.URL.Path),
			slog.String("request_id", RequestIDFrom(w.r.Context())), slog.Any("error", err))
		// What the handler set for its own answer must not reach the
		// error page: where to go next, how the body is encoded.
		h := w.ResponseWriter.Header()
		for k := range h {
			if strings.HasPrefix(k, "Hx-") {
				delete(h, k)
			}
		}
		for _, k := range []string{"Location", "Content-Type", "Content-Length", "Content-Disposition", "Etag", "Last-Modified"} {
			h.Del(k)
		}
		w.onError(w.ResponseWriter, w.r, http.StatusInternalServerError, err)
	}
	return !w.failed
}

// WriteHeader commits the batch before a final status goes out; interim
// (1xx) responses pass through, they carry no answer.
func (w *batchWriter) WriteHeader(code int) {
	if code >= 200 && !w.commit() {
		return
	}
	if code < 200 && w.failed {
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write commits the batch before the first byte.
func (w *batchWriter) Write(p []byte) (int, error) {
	if !w.commit() {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// WriteString commits the batch before the first byte.
func (w *batchWriter) WriteString(s string) (int, error) {
	if !w.commit() {
		return len(s), nil
	}
	return io.WriteString(w.ResponseWriter, s)
}

// ReadFrom commits the batch before the first byte and keeps the writer's
// own ReadFrom (sendfile) when it has one.
func (w *batchWriter) ReadFrom(src io.Reader) (int64, error) {
	if !w.commit() {
		return io.Copy(io.Discard, src)
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
}

// FlushError commits the batch, then sends what was written so far.
func (w *batchWriter) FlushError() error {
	if !w.commit() {
		return nil
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is FlushError for http.Flusher.
func (w *batchWriter) Flush() { _ = w.FlushError() }

// Hijack commits the batch, then hands the connection over.
func (w *batchWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.commit() {
		return nil, nil, http.ErrNotSupported
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the writer below, for http.ResponseController.
func (w *batchWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

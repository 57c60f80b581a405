package observe

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/propagation"
)

// statusMeter records the final status a handler sent (0 while nothing
// was sent). It is written by hand for the same reason as the middleware
// package's meter (httpsnoop costs about fifteen allocations per request);
// it keeps Flush, Hijack and ReadFrom reachable and offers Unwrap for
// http.ResponseController.
type statusMeter struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the final status; 1xx responses are interim.
func (m *statusMeter) WriteHeader(code int) {
	if m.status == 0 || m.status < 200 {
		m.status = code
	}
	m.ResponseWriter.WriteHeader(code)
}

func (m *statusMeter) commit() {
	if m.status == 0 {
		m.status = http.StatusOK
	}
}

// Write records an implicit 200.
func (m *statusMeter) Write(b []byte) (int, error) {
	m.commit()
	return m.ResponseWriter.Write(b)
}

// WriteString records an implicit 200 and passes s on without a copy
// when the writer below takes strings.
func (m *statusMeter) WriteString(s string) (int, error) {
	m.commit()
	return io.WriteString(m.ResponseWriter, s)
}

// ReadFrom keeps the writer's own ReadFrom (sendfile) when it has one.
func (m *statusMeter) ReadFrom(src io.Reader) (int64, error) {
	m.commit()
	if rf, ok := m.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{m.ResponseWriter}, src)
}

// Flush sends what was written so far.
func (m *statusMeter) Flush() {
	m.commit()
	_ = http.NewResponseController(m.ResponseWriter).Flush()
}

// Hijack hands the connection over, recording a protocol switch.
func (m *statusMeter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(m.ResponseWriter).Hijack()
	if err == nil {
		m.status = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

// Unwrap returns the writer below, for http.ResponseController.
func (m *statusMeter) Unwrap() http.ResponseWriter { return m.ResponseWriter }

// contextWithRoute gives the router rctx to fill: chi's Mux uses a route
// context it finds in the request instead of making its own.
func contextWithRoute(ctx context.Context, rctx *chi.Context) context.Context {
	return context.WithValue(ctx, chi.RouteCtxKey, rctx)
}

// propagationHeader reads trace context from request headers.
func propagationHeader(h http.Header) propagation.HeaderCarrier { return propagation.HeaderCarrier(h) }

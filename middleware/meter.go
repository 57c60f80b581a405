package middleware

import (
	"bufio"
	"io"
	"net"
	"net/http"

	"github.com/felixge/httpsnoop"
)

// responseMeter records what a handler sent through a writer wrapped by
// [meter]: the final status (0 while nothing was sent) and the body bytes.
type responseMeter struct {
	status int
	bytes  int64
}

// started reports whether the status line has been sent (or the connection
// hijacked), after which the response cannot be replaced.
func (m *responseMeter) started() bool { return m.status != 0 }

// commit records an implicit 200 when a body write or flush comes first.
func (m *responseMeter) commit() {
	if m.status == 0 {
		m.status = http.StatusOK
	}
}

// meter wraps w with httpsnoop so that m follows the response. The wrapper
// offers exactly the optional interfaces w offers (Flusher, Hijacker,
// ReaderFrom, …) and Unwrap, so http.ResponseController keeps working.
func meter(w http.ResponseWriter, m *responseMeter) http.ResponseWriter {
	return httpsnoop.Wrap(w, httpsnoop.Hooks{
		WriteHeader: func(next httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
			return func(code int) {
				// 1xx responses are interim: the final status replaces them.
				if m.status == 0 || m.status < 200 {
					m.status = code
				}
				next(code)
			}
		},
		Write: func(next httpsnoop.WriteFunc) httpsnoop.WriteFunc {
			return func(b []byte) (int, error) {
				m.commit()
				n, err := next(b)
				m.bytes += int64(n)
				return n, err
			}
		},
		WriteString: func(next httpsnoop.WriteStringFunc) httpsnoop.WriteStringFunc {
			return func(s string) (int, error) {
				m.commit()
				n, err := next(s)
				m.bytes += int64(n)
				return n, err
			}
		},
		ReadFrom: func(next httpsnoop.ReadFromFunc) httpsnoop.ReadFromFunc {
			return func(src io.Reader) (int64, error) {
				m.commit()
				n, err := next(src)
				m.bytes += n
				return n, err
			}
		},
		Flush: func(next httpsnoop.FlushFunc) httpsnoop.FlushFunc {
			return func() {
				m.commit()
				next()
			}
		},
		Hijack: func(next httpsnoop.HijackFunc) httpsnoop.HijackFunc {
			return func() (net.Conn, *bufio.ReadWriter, error) {
				conn, rw, err := next()
				if err == nil {
					m.status = http.StatusSwitchingProtocols
				}
				return conn, rw, err
			}
		},
	})
}

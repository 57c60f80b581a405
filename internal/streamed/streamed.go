// Package streamed holds the one multipart reader of a streamed upload
// request (see middleware.Streamed), which every reader of the request
// shares: the CSRF check may read the first part, the handler the rest.
//
// The body is read with internal/multipart unless someone asks for a
// mime/multipart reader first (middleware.MultipartReader); once one is in
// use the other cannot take over, except that a mime/multipart reader can
// go on where an internal/multipart one stopped.
package streamed

import (
	"bufio"
	"context"
	"errors"
	"mime"
	stdmultipart "mime/multipart"
	"net/http"
	"sync"

	"github.com/trellis-go/trellis/internal/multipart"
)

// ErrNotMultipart is the error for a body that is not multipart/form-data
// (middleware.ErrNotMultipart).
var ErrNotMultipart = errors.New("the request is not multipart/form-data")

// ErrStdReader is returned by State.Reader when the body is already read
// with a mime/multipart reader.
var ErrStdReader = errors.New("the multipart body is read with mime/multipart")

// State is what a streamed request carries.
type State struct {
	// Limit caps the request body.
	Limit int64

	mu  sync.Mutex
	mr  *multipart.Reader
	std *stdmultipart.Reader
	err error
}

type key struct{}

// NewContext returns ctx carrying st.
func NewContext(ctx context.Context, st *State) context.Context {
	return context.WithValue(ctx, key{}, st)
}

// FromContext returns the State of a streamed request's context.
func FromContext(ctx context.Context) (*State, bool) {
	st, ok := ctx.Value(key{}).(*State)
	return st, ok
}

// Reader returns the request's internal/multipart reader, the same one on
// every call, or ErrStdReader.
func (st *State) Reader(r *http.Request) (*multipart.Reader, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.err != nil {
		return nil, st.err
	}
	if st.std != nil {
		return nil, ErrStdReader
	}
	if st.mr == nil {
		b, err := Boundary(r)
		if err != nil {
			st.err = err
			return nil, err
		}
		st.mr = multipart.NewReader(r.Body, b)
	}
	return st.mr, nil
}

// StdReader returns the request's mime/multipart reader, the same one on
// every call. When the body was being read with Reader's reader, it goes
// on from that reader's next part.
func (st *State) StdReader(r *http.Request) (*stdmultipart.Reader, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.std != nil || st.err != nil {
		return st.std, st.err
	}
	b, err := Boundary(r)
	if err != nil {
		st.err = err
		return nil, err
	}
	if st.mr != nil {
		rest, err := st.mr.Unread()
		if err != nil {
			st.err = err
			return nil, err
		}
		st.std = stdmultipart.NewReader(bufio.NewReaderSize(rest, 64<<10), b)
		return st.std, nil
	}
	// The multipart reader fills 4 KB at a time; a larger buffer below
	// it reads the connection in fewer, bigger system calls.
	st.std = stdmultipart.NewReader(bufio.NewReaderSize(r.Body, 64<<10), b)
	return st.std, nil
}

// Boundary returns the boundary of r's multipart/form-data body, or
// ErrNotMultipart.
func Boundary(r *http.Request) (string, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return "", ErrNotMultipart
	}
	return params["boundary"], nil
}

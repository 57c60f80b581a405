package middleware

import (
	"bufio"
	"context"
	"errors"
	"mime"
	"mime/multipart"
	"net/http"
	"sync"
)

// ErrNotMultipart is returned by MultipartReader for a request whose body
// is not multipart/form-data.
var ErrNotMultipart = errors.New("the request is not multipart/form-data")

// streamState marks a request whose multipart body is read as a stream by
// its handler, and holds the one reader every reader of it shares.
type streamState struct {
	limit int64
	once  sync.Once
	mr    *multipart.Reader
	err   error
}

type streamKey struct{}

// Streamed marks the requests match selects as streamed uploads: MaxBody
// caps them at the limit match returns instead of its own, and Forms leaves
// their multipart body unparsed for the handler to read part by part
// (through MultipartReader). Place it before MaxBody and Forms.
func Streamed(match func(r *http.Request) (limit int64, ok bool)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !isMultipart(r) { // cheap, and false for most requests
				next.ServeHTTP(w, r)
				return
			}
			if limit, ok := match(r); ok {
				r = r.WithContext(context.WithValue(r.Context(), streamKey{}, &streamState{limit: limit}))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// IsStreamed reports whether r was marked by Streamed: its multipart body
// has not been parsed and must be read with MultipartReader.
func IsStreamed(r *http.Request) bool {
	_, ok := r.Context().Value(streamKey{}).(*streamState)
	return ok
}

func streamLimit(r *http.Request) (int64, bool) {
	st, ok := r.Context().Value(streamKey{}).(*streamState)
	if !ok {
		return 0, false
	}
	return st.limit, true
}

// MultipartReader returns the reader of a streamed request's multipart
// body. Every call for the same request returns the same reader, so one
// piece of middleware can read the first part (the CSRF token) and the
// handler the rest. Outside Streamed it returns r.MultipartReader().
func MultipartReader(r *http.Request) (*multipart.Reader, error) {
	st, ok := r.Context().Value(streamKey{}).(*streamState)
	if !ok {
		return r.MultipartReader()
	}
	st.once.Do(func() {
		_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || params["boundary"] == "" {
			st.err = ErrNotMultipart
			return
		}
		// The multipart reader fills 4 KB at a time; a larger buffer below
		// it reads the connection in fewer, bigger system calls.
		st.mr = multipart.NewReader(bufio.NewReaderSize(r.Body, 64<<10), params["boundary"])
	})
	return st.mr, st.err
}

func isMultipart(r *http.Request) bool {
	if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch {
		return false
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct == "multipart/form-data"
}

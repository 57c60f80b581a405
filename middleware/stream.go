package middleware

import (
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/trellis-go/trellis/internal/streamed"
)

// ErrNotMultipart is returned by MultipartReader for a request whose body
// is not multipart/form-data.
var ErrNotMultipart = streamed.ErrNotMultipart

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
				r = r.WithContext(streamed.NewContext(r.Context(), &streamed.State{Limit: limit}))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// IsStreamed reports whether r was marked by Streamed: its multipart body
// has not been parsed and must be read with MultipartReader.
func IsStreamed(r *http.Request) bool {
	_, ok := streamed.FromContext(r.Context())
	return ok
}

func streamLimit(r *http.Request) (int64, bool) {
	st, ok := streamed.FromContext(r.Context())
	if !ok {
		return 0, false
	}
	return st.Limit, true
}

// MultipartReader returns the reader of a streamed request's multipart
// body. Every call for the same request returns the same reader, so one
// piece of middleware can read the first part (the CSRF token) and the
// handler the rest. (The CSRF check and uploads.Receive read a streamed
// body with a faster reader of their own; when they have, this reader goes
// on from the next part.) Outside Streamed it returns r.MultipartReader().
func MultipartReader(r *http.Request) (*multipart.Reader, error) {
	st, ok := streamed.FromContext(r.Context())
	if !ok {
		return r.MultipartReader()
	}
	return st.StdReader(r)
}

func isMultipart(r *http.Request) bool {
	if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch {
		return false
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct == "multipart/form-data"
}

package middleware

import (
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// ErrMalformedForm is passed to the error handler for form bodies that
// cannot be parsed or are not UTF-8.
var ErrMalformedForm = errors.New("malformed form data")

// ErrBadText is passed to the error handler for a path, query or form value
// that is not UTF-8 or contains a NUL byte, which no page means to send
// and PostgreSQL refuses to store.
var ErrBadText = errors.New("text that is not UTF-8 or contains a NUL byte")

// ErrTooManyFields is passed to the error handler for forms with more
// fields than allowed.
var ErrTooManyFields = errors.New("too many form fields")

// FormOptions configures [Forms].
type FormOptions struct {
	// MaxFields caps the number of values in one form (default 1000).
	MaxFields int
	// MaxMemory is how much of a multipart body is kept in memory; the
	// rest of its files go to temporary files (default 8 MiB).
	MaxMemory int64
}

// Forms checks every request's path and query string and parses
// urlencoded and multipart bodies of POST, PUT, PATCH and DELETE requests up
// front, so malformed input is answered once and clearly — 400 for bad
// encoding, a cut-off body, invalid UTF-8 or a NUL byte in the path, a
// query value or a form value, 413 for bodies over the limit or too many
// fields — and never reaches a handler or the database as a 500. It also
// applies method override: a POST form with _method=PUT, PATCH or DELETE
// is routed as that method, so plain HTML forms can use them. Requests
// marked by Streamed keep their body for the handler.
func Forms(opts FormOptions, onError ErrorFunc) func(http.Handler) http.Handler {
	if opts.MaxFields <= 0 {
		opts.MaxFields = 1000
	}
	if opts.MaxMemory <= 0 {
		opts.MaxMemory = 8 << 20
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := checkURL(r); err != nil {
				onError(w, r, http.StatusBadRequest, err)
				return
			}
			if !hasFormBody(r) || IsStreamed(r) {
				next.ServeHTTP(w, r)
				return
			}
			status, err := parseForm(r, opts)
			if r.MultipartForm != nil {
				// net/http cleans up only the original request's files;
				// this may be a copy (middleware replaced the context).
				defer func() { _ = r.MultipartForm.RemoveAll() }()
			}
			if err != nil {
				onError(w, r, status, err)
				return
			}
			if r.Method == http.MethodPost {
				switch m := strings.ToUpper(r.PostForm.Get("_method")); m {
				case http.MethodPut, http.MethodPatch, http.MethodDelete:
					r.Method = m
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

func hasFormBody(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return false
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data"
}

func parseForm(r *http.Request, opts FormOptions) (int, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	if ct == "multipart/form-data" {
		err = r.ParseMultipartForm(opts.MaxMemory)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || errors.Is(err, multipart.ErrMessageTooLarge) || strings.Contains(err.Error(), "too large") {
			return http.StatusRequestEntityTooLarge, fmt.Errorf("%w: %w", ErrMalformedForm, err)
		}
		return http.StatusBadRequest, fmt.Errorf("%w: %w", ErrMalformedForm, err)
	}
	n := 0
	for k, vs := range r.PostForm {
		n += len(vs)
		if !goodText(k) {
			return http.StatusBadRequest, fmt.Errorf("%w: a field name", ErrBadText)
		}
		for _, v := range vs {
			if !goodText(v) {
				return http.StatusBadRequest, fmt.Errorf("%w: field %q", ErrBadText, k)
			}
		}
	}
	if r.MultipartForm != nil {
		for _, fs := range r.MultipartForm.File {
			n += len(fs)
		}
	}
	if n > opts.MaxFields {
		return http.StatusRequestEntityTooLarge, fmt.Errorf("%w: %d values, at most %d", ErrTooManyFields, n, opts.MaxFields)
	}
	return 0, nil
}

// goodText reports whether s is UTF-8 without NUL bytes.
func goodText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// checkURL refuses a decoded path or query value that is not good text.
// Query strings are parsed only when they contain an escape, the only way
// to smuggle such bytes past the request line.
func checkURL(r *http.Request) error {
	if !goodText(r.URL.Path) {
		return fmt.Errorf("%w: the path", ErrBadText)
	}
	raw := r.URL.RawQuery
	if raw == "" {
		return nil
	}
	if strings.IndexByte(raw, '%') < 0 && goodText(raw) {
		return nil
	}
	q, _ := url.ParseQuery(raw) // malformed pairs are dropped, as r.URL.Query does
	for k, vs := range q {
		if !goodText(k) {
			return fmt.Errorf("%w: a query parameter name", ErrBadText)
		}
		for _, v := range vs {
			if !goodText(v) {
				return fmt.Errorf("%w: query parameter %q", ErrBadText, k)
			}
		}
	}
	return nil
}

// Package middleware holds the HTTP middleware Trellis installs by default:
// request ids, access logs, panic recovery, security headers, gzip and
// request body limits. Each is a plain func(http.Handler) http.Handler and
// works with any net/http server.
//
// Middleware that has to answer with an error page takes an [ErrorFunc], so
// the page looks like the rest of the app (see package render).
package middleware

import "net/http"

// ErrorFunc writes an error response for status; err carries detail for the
// log and is never shown to the client for 5xx statuses.
type ErrorFunc func(w http.ResponseWriter, r *http.Request, status int, err error)

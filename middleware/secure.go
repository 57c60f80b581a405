package middleware

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultCSP is the Content-Security-Policy Trellis sends unless configured
// otherwise. {nonce} is replaced per request. Scripts and styles load from
// this origin or carry the nonce; nothing inline runs without it, and the
// page cannot be framed, embedded or made to post forms elsewhere.
const DefaultCSP = "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors {frame-ancestors}"

// SecurityOptions configures [SecureHeaders]. The zero value sends the
// default policy with framing denied and no HSTS.
type SecurityOptions struct {
	// CSP is a policy template; {nonce} becomes the request's nonce and
	// {frame-ancestors} the FrameAncestors sources. Empty means DefaultCSP.
	CSP string
	// AllowEval adds 'unsafe-eval' to script-src (htmx hx-on needs it).
	AllowEval bool
	// FrameAncestors lists CSP sources allowed to frame pages; empty means
	// 'none'.
	FrameAncestors []string
	// ReferrerPolicy, PermissionsPolicy and CrossOriginOpenerPolicy are
	// sent as-is when non-empty.
	ReferrerPolicy          string
	PermissionsPolicy       string
	CrossOriginOpenerPolicy string
	// HSTSMaxAge enables Strict-Transport-Security over TLS when positive.
	HSTSMaxAge time.Duration
	// HSTSIncludeSubdomains and HSTSPreload add the matching directives.
	HSTSIncludeSubdomains bool
	HSTSPreload           bool
	// BehindTLSProxy sends HSTS on plain-HTTP requests too, because a
	// TLS-terminating proxy fronts the app.
	BehindTLSProxy bool
}

// Nonce returns the CSP nonce of the current request, for script and style
// tags: <script nonce={ middleware.Nonce(ctx) }>. It is "" outside
// [SecureHeaders].
func Nonce(ctx context.Context) string {
	if st := stateFrom(ctx); st != nil {
		return st.nonce
	}
	return ""
}

// SecureHeaders sets the security response headers on every response and a
// fresh CSP nonce in the request context.
func SecureHeaders(opts SecurityOptions) func(http.Handler) http.Handler {
	tmpl := opts.CSP
	if tmpl == "" {
		tmpl = DefaultCSP
	}
	ancestors := "'none'"
	if len(opts.FrameAncestors) > 0 {
		ancestors = strings.Join(opts.FrameAncestors, " ")
	}
	tmpl = strings.ReplaceAll(tmpl, "{frame-ancestors}", ancestors)
	if opts.AllowEval {
		tmpl = strings.Replace(tmpl, "script-src ", "script-src 'unsafe-eval' ", 1)
	}
	cspParts := strings.Split(tmpl, "{nonce}")

	// Fixed headers are built once; each slice has len == cap, so a later
	// Header().Add copies instead of writing into the shared array.
	type header struct {
		name  string
		value []string
	}
	fixed := []header{{"X-Content-Type-Options", []string{"nosniff"}}, {"Cross-Origin-Resource-Policy", []string{"same-origin"}}}
	if len(opts.FrameAncestors) == 0 {
		fixed = append(fixed, header{"X-Frame-Options", []string{"DENY"}})
	} else if len(opts.FrameAncestors) == 1 && opts.FrameAncestors[0] == "'self'" {
		fixed = append(fixed, header{"X-Frame-Options", []string{"SAMEORIGIN"}})
	}
	for _, hv := range [][2]string{{"Referrer-Policy", opts.ReferrerPolicy}, {"Permissions-Policy", opts.PermissionsPolicy}, {"Cross-Origin-Opener-Policy", opts.CrossOriginOpenerPolicy}} {
		if hv[1] != "" {
			fixed = append(fixed, header{hv[0], []string{hv[1]}})
		}
	}
	var hsts []string
	if opts.HSTSMaxAge > 0 {
		v := "max-age=" + strconv.FormatInt(int64(opts.HSTSMaxAge/time.Second), 10)
		if opts.HSTSIncludeSubdomains {
			v += "; includeSubDomains"
		}
		if opts.HSTSPreload {
			v += "; preload"
		}
		hsts = []string{v}
	}

	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			nonce := newNonce()
			h := w.Header()
			for _, f := range fixed {
				h[f.name] = f.value
			}
			if hsts != nil && (r.TLS != nil || opts.BehindTLSProxy) {
				h["Strict-Transport-Security"] = hsts
			}
			h["Content-Security-Policy"] = []string{strings.Join(cspParts, nonce)}
			if st := stateFrom(r.Context()); st != nil {
				st.nonce = nonce
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, &requestState{nonce: nonce})))
		})
	}
}

func newNonce() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

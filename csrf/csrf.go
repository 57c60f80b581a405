// Package csrf protects unsafe requests (POST, PUT, PATCH, DELETE) against
// cross-site request forgery with two independent checks:
//
//  1. http.CrossOriginProtection rejects browser requests whose
//     Sec-Fetch-Site or Origin says they come from another site.
//  2. A secret token must accompany the request, in the form field
//     csrf_token or the X-CSRF-Token header. The secret lives in the session
//     (renewed on login and logout) or, for visitors without a session, in
//     an HttpOnly cookie, so anonymous page views create no session. Each
//     render masks the secret with a fresh one-time pad, so the token differs
//     on every page (defeating compression side channels) while staying valid
//     for the whole session: several tabs and parallel htmx requests work.
//     Streamed uploads (middleware.Streamed) take the field only as the
//     first part of the body, so the body is never parsed as a whole.
//
// Requests authenticated with an Authorization: Bearer header are not
// checked (browsers never attach that header on their own), and path
// prefixes can be exempted for webhooks.
package csrf

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/trellis-go/trellis/internal/streamed"
	"github.com/trellis-go/trellis/middleware"
	"github.com/trellis-go/trellis/session"
)

// Names of the token's form field and header, and of the visitor cookie
// ("__Host-trellis_csrf" when cookies are Secure).
const (
	FieldName  = "csrf_token"
	HeaderName = "X-CSRF-Token"
	CookieName = "trellis_csrf"
	sessionKey = "_csrf"
	secretLen  = 32
)

// ErrInvalidToken is the error passed to the error handler when a request
// fails the checks.
var ErrInvalidToken = errors.New("csrf: missing or invalid token")

// FailureMessage tells users what a rejection means and what to do.
const FailureMessage = "This form has expired or was sent from another site, so it was not accepted. Reload the page and try again."

// Options configures a Protector.
type Options struct {
	// Sessions holds the session secret.
	Sessions *session.Manager
	// SecureCookie marks the visitor cookie Secure.
	SecureCookie bool
	// TrustedOrigins may send cross-origin unsafe requests.
	TrustedOrigins []string
	// ExemptPaths are path prefixes that skip both checks (webhooks).
	ExemptPaths []string
	// Authenticated reports whether the request's session is signed in;
	// signed-in sessions accept only the session secret.
	Authenticated func(ctx context.Context) bool
	// OnError answers rejected requests (status 403, ErrInvalidToken).
	OnError middleware.ErrorFunc
}

// Protector is the CSRF middleware.
type Protector struct {
	opts Options
	cop  *http.CrossOriginProtection
}

// New returns a Protector.
func New(opts Options) (*Protector, error) {
	cop := http.NewCrossOriginProtection()
	for _, o := range opts.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("csrf: trusted origin %q: %w", o, err)
		}
	}
	if opts.Authenticated == nil {
		opts.Authenticated = func(context.Context) bool { return false }
	}
	return &Protector{opts: opts, cop: cop}, nil
}

type state struct {
	p      *Protector
	w      http.ResponseWriter
	secret []byte
}

type stateKey struct{}

// Token returns a freshly masked token for this request, for forms and the
// csrf-token meta tag, or "" outside the middleware.
func Token(ctx context.Context) string {
	st, _ := ctx.Value(stateKey{}).(*state)
	if st == nil || st.secret == nil {
		return ""
	}
	return mask(st.secret)
}

// Renew replaces the secret: call it when privileges change (login,
// logout), after the session token was renewed or the session destroyed.
func Renew(ctx context.Context) {
	st, _ := ctx.Value(stateKey{}).(*state)
	if st == nil {
		return
	}
	st.secret = newSecret()
	st.p.store(ctx, st.w, st.secret)
}

// Middleware establishes the request's secret and checks unsafe requests.
func (p *Protector) Middleware(next http.Handler) http.Handler { return p.handler(next, true) }

// Provide establishes the secret for templates without checking the
// request, for pages such as 404 and 405 that serve any method.
func (p *Protector) Provide(next http.Handler) http.Handler { return p.handler(next, false) }

func (p *Protector) handler(next http.Handler, check bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sessionSecret, cookieSecret := p.secrets(r)
		if check && !safeMethod(r.Method) && !p.exempt(r) {
			if err := p.cop.Check(r); err != nil {
				p.opts.OnError(w, r, http.StatusForbidden, fmt.Errorf("%w: %w", ErrInvalidToken, err))
				return
			}
			if !p.valid(ctx, requestToken(r), sessionSecret, cookieSecret) {
				p.opts.OnError(w, r, http.StatusForbidden, ErrInvalidToken)
				return
			}
		}
		secret := sessionSecret
		switch {
		case secret != nil:
		case p.opts.Sessions.Started(ctx):
			// A session exists (for example for a flash message): keep the
			// secret there from now on.
			secret = cookieSecret
			if secret == nil {
				secret = newSecret()
			}
			p.opts.Sessions.Put(ctx, sessionKey, secret)
		case cookieSecret != nil:
			secret = cookieSecret
		default:
			secret = newSecret()
			p.setCookie(w, secret)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, stateKey{}, &state{p: p, w: w, secret: secret})))
	})
}

// secrets reads the session and cookie secrets, either of which may be nil.
func (p *Protector) secrets(r *http.Request) (sessionSecret, cookieSecret []byte) {
	if b := p.opts.Sessions.GetBytes(r.Context(), sessionKey); len(b) == secretLen {
		sessionSecret = b
	}
	if c, err := r.Cookie(p.cookieName()); err == nil {
		if b, err := base64.RawURLEncoding.DecodeString(c.Value); err == nil && len(b) == secretLen {
			cookieSecret = b
		}
	}
	return sessionSecret, cookieSecret
}

func (p *Protector) valid(ctx context.Context, token string, sessionSecret, cookieSecret []byte) bool {
	got := unmask(token)
	if got == nil {
		return false
	}
	if sessionSecret != nil && subtle.ConstantTimeCompare(got, sessionSecret) == 1 {
		return true
	}
	// A visitor whose session began after the page was rendered still
	// holds a token for the cookie secret; signed-in sessions do not
	// accept it.
	return cookieSecret != nil && !p.opts.Authenticated(ctx) && subtle.ConstantTimeCompare(got, cookieSecret) == 1
}

func (p *Protector) store(ctx context.Context, w http.ResponseWriter, secret []byte) {
	if p.opts.Sessions.Started(ctx) {
		p.opts.Sessions.Put(ctx, sessionKey, secret)
		return
	}
	p.setCookie(w, secret)
}

func (p *Protector) setCookie(w http.ResponseWriter, secret []byte) {
	http.SetCookie(w, &http.Cookie{
		Name:     p.cookieName(),
		Value:    base64.RawURLEncoding.EncodeToString(secret),
		Path:     "/",
		HttpOnly: true,
		Secure:   p.opts.SecureCookie,
		SameSite: http.SameSiteLaxMode,
	})
}

// cookieName is the visitor cookie's name: with the __Host- prefix when
// the cookie is Secure, so a subdomain cannot set or shadow it.
func (p *Protector) cookieName() string {
	if p.opts.SecureCookie {
		return "__Host-" + CookieName
	}
	return CookieName
}

func (p *Protector) exempt(r *http.Request) bool {
	if _, ok := middleware.BearerToken(r); ok {
		return true
	}
	for _, prefix := range p.opts.ExemptPaths {
		base := strings.TrimSuffix(prefix, "/")
		if r.URL.Path == base || strings.HasPrefix(r.URL.Path, base+"/") {
			return true
		}
	}
	return false
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// requestToken reads the token from the header, else the form field. A
// streamed upload (see middleware.Streamed) is not parsed as a whole: its
// token must be the body's first part, as the upload form places it.
func requestToken(r *http.Request) string {
	if t := r.Header.Get(HeaderName); t != "" {
		return t
	}
	if middleware.IsStreamed(r) {
		return firstPartToken(r)
	}
	return r.PostFormValue(FieldName)
}

// firstPartToken reads the csrf_token field when it is the first part of
// a streamed multipart body, leaving the rest for the handler.
func firstPartToken(r *http.Request) string {
	if st, ok := streamed.FromContext(r.Context()); ok {
		if mr, err := st.Reader(r); err == nil {
			p, err := mr.NextPart()
			if err != nil {
				return ""
			}
			return partToken(p)
		}
	}
	mr, err := middleware.MultipartReader(r)
	if err != nil {
		return ""
	}
	p, err := mr.NextPart()
	if err != nil {
		return ""
	}
	return partToken(p)
}

// partToken reads the token from a part named csrf_token that is not a
// file.
func partToken(p interface {
	io.Reader
	FormName() string
	FileName() string
}) string {
	if p.FormName() != FieldName || p.FileName() != "" {
		return ""
	}
	b, err := io.ReadAll(io.LimitReader(p, 256))
	if err != nil {
		return ""
	}
	return string(b)
}

func newSecret() []byte {
	b := make([]byte, secretLen)
	_, _ = rand.Read(b)
	return b
}

// mask returns base64(pad || pad XOR secret).
func mask(secret []byte) string {
	buf := make([]byte, 2*secretLen)
	_, _ = rand.Read(buf[:secretLen])
	for i := range secretLen {
		buf[secretLen+i] = buf[i] ^ secret[i]
	}
	return base64.RawURLEncoding.EncodeToString(buf)
}

// unmask reverses mask, or returns nil for a malformed token.
func unmask(token string) []byte {
	if len(token) != base64.RawURLEncoding.EncodedLen(2*secretLen) {
		return nil
	}
	buf, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil
	}
	out := make([]byte, secretLen)
	for i := range secretLen {
		out[i] = buf[i] ^ buf[secretLen+i]
	}
	return out
}

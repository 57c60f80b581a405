// Package trellistest is the test kit for Trellis apps: a test-profile
// config in a temporary directory, an httptest server with a cookie-keeping
// client, request helpers that act like a browser or like htmx, and access
// to the PostgreSQL and Redis services tests run against.
package trellistest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/trellis-go/trellis/config"
)

// Config returns the test-profile defaults with the data directory in a
// fresh temporary directory.
func Config(t testing.TB) *config.Config {
	t.Helper()
	cfg := config.Default(config.Test)
	cfg.App.DataDir = t.TempDir()
	return cfg
}

// Server is a running test server with a client that keeps cookies and does
// not follow redirects, so tests see every 3xx.
type Server struct {
	*httptest.Server
	// Client sends requests to the server.
	Client *http.Client
	t      testing.TB
}

// NewServer starts h on a loopback httptest server, closed at test end.
func NewServer(t testing.TB, h http.Handler) *Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &Server{Server: ts, Client: newClient(t), t: t}
}

// Connect drives an app that is already running at baseURL (such as
// "http://127.0.0.1:3000": a built binary, or a deployed instance) with the
// same client and helpers as NewServer.
func Connect(t testing.TB, baseURL string) *Server {
	t.Helper()
	return &Server{Server: &httptest.Server{URL: strings.TrimSuffix(baseURL, "/")}, Client: newClient(t), t: t}
}

// AsNewVisitor returns a view of the same server with a fresh client, like
// a second browser with its own cookies.
func (s *Server) AsNewVisitor() *Server {
	c := *s
	c.Client = newClient(s.t)
	return &c
}

func newClient(t testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Response is an http.Response with its body read.
type Response struct {
	*http.Response
	// Body is the whole response body.
	Body string
	t    testing.TB
}

// RequestOption adjusts a request before it is sent.
type RequestOption func(*http.Request)

// HTMX marks the request as sent by htmx (HX-Request: true), targeting the
// given element id when target is not empty.
func HTMX(target string) RequestOption {
	return func(r *http.Request) {
		r.Header.Set("HX-Request", "true")
		if target != "" {
			r.Header.Set("HX-Target", target)
		}
		r.Header.Set("HX-Current-URL", "http://"+r.Host+"/")
	}
}

// Boosted marks the request as a boosted htmx navigation.
func Boosted() RequestOption {
	return func(r *http.Request) {
		r.Header.Set("HX-Request", "true")
		r.Header.Set("HX-Boosted", "true")
	}
}

// Header sets a request header.
func Header(name, value string) RequestOption {
	return func(r *http.Request) { r.Header.Set(name, value) }
}

// Get sends a GET request.
func (s *Server) Get(path string, opts ...RequestOption) *Response {
	s.t.Helper()
	return s.Do(http.MethodGet, path, nil, opts...)
}

// PostForm sends an urlencoded form.
func (s *Server) PostForm(path string, form url.Values, opts ...RequestOption) *Response {
	s.t.Helper()
	opts = append([]RequestOption{Header("Content-Type", "application/x-www-form-urlencoded")}, opts...)
	return s.Do(http.MethodPost, path, strings.NewReader(form.Encode()), opts...)
}

// NoCSRF stops Do from adding a CSRF token to an unsafe request, for
// tests of the protection itself.
func NoCSRF() RequestOption {
	return func(r *http.Request) { r.Header.Set(noCSRFHeader, "1") }
}

const noCSRFHeader = "X-Trellistest-No-Csrf"

var metaToken = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// CSRFToken loads a page the way a browser would (a missing path, whose
// 404 page every Trellis app renders with a token) and returns the token
// from its csrf-token meta tag, or "" when the app has none.
func (s *Server) CSRFToken() string {
	s.t.Helper()
	res := s.Get("/__trellistest_csrf_probe", NoCSRF())
	if m := metaToken.FindStringSubmatch(res.Body); m != nil {
		return m[1]
	}
	return ""
}

// Do sends a request with the given method and body and reads the response.
// Unsafe requests (POST, PUT, PATCH, DELETE) carry a fresh CSRF token in
// X-CSRF-Token unless they set one or use NoCSRF, as a page's htmx would.
// Transport failures fail the test.
func (s *Server) Do(method, path string, body io.Reader, opts ...RequestOption) *Response {
	s.t.Helper()
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	for _, o := range opts {
		o(req)
	}
	unsafe := method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
	if req.Header.Get(noCSRFHeader) != "" {
		req.Header.Del(noCSRFHeader)
	} else if unsafe && req.Header.Get("X-CSRF-Token") == "" {
		if tok := s.CSRFToken(); tok != "" {
			req.Header.Set("X-CSRF-Token", tok)
		}
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return &Response{Response: resp, Body: string(b), t: s.t}
}

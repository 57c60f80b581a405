package middleware

import (
	"bytes"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRecoverAbortsStartedResponses(t *testing.T) {
	var logs bytes.Buffer
	called := false
	h := Recover(slog.New(slog.NewTextHandler(&logs, nil)), func(w http.ResponseWriter, r *http.Request, status int, err error) {
		called = true
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "half a page")
		panic("late failure")
	}))
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("a response that panicked after starting was not aborted")
	}
	<-done
	if called {
		t.Error("error page written after the response started")
	}
	if !strings.Contains(logs.String(), "late failure") {
		t.Errorf("panic not logged: %s", logs.String())
	}
}

func TestSecureHeadersOptions(t *testing.T) {
	h := SecureHeaders(SecurityOptions{
		CSP:            "script-src 'self' 'nonce-{nonce}'; frame-ancestors {frame-ancestors}",
		AllowEval:      true,
		FrameAncestors: []string{"'self'"},
		HSTSMaxAge:     time.Hour,
		HSTSPreload:    true,
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, Nonce(r.Context()))
	}))
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	nonce, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := "script-src 'unsafe-eval' 'self' 'nonce-" + string(nonce) + "'; frame-ancestors 'self'"
	if got := resp.Header.Get("Content-Security-Policy"); got != want || len(nonce) < 20 {
		t.Errorf("CSP = %q, want %q", got, want)
	}
	if got := resp.Header.Get("X-Frame-Options"); got != "SAMEORIGIN" {
		t.Errorf("X-Frame-Options = %q", got)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=3600; preload" {
		t.Errorf("HSTS over TLS = %q", got)
	}
}

func TestMaxBodyRejectsDeclaredLength(t *testing.T) {
	var status int
	h := MaxBody(10, func(w http.ResponseWriter, r *http.Request, s int, err error) {
		status = s
		w.WriteHeader(s)
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("handler ran for an oversized body")
	}))
	req := httptest.NewRequest("POST", "/", strings.NewReader("01234567890"))
	h.ServeHTTP(httptest.NewRecorder(), req)
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d", status)
	}
}

package health

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestProbeURL(t *testing.T) {
	for _, c := range []struct {
		addr  string
		https bool
		want  string
	}{
		{":3000", false, "http://127.0.0.1:3000/health/ready"},
		{"0.0.0.0:3000", false, "http://127.0.0.1:3000/health/ready"},
		{"[::]:3000", true, "https://127.0.0.1:3000/health/ready"},
		{"127.0.0.1:8080", false, "http://127.0.0.1:8080/health/ready"},
		{"app.internal:80", false, "http://app.internal:80/health/ready"},
		{"[::1]:3000", false, "http://[::1]:3000/health/ready"},
	} {
		got, err := ProbeURL(c.addr, c.https, "/health/ready")
		if err != nil || got != c.want {
			t.Errorf("ProbeURL(%q, %v) = %q, %v; want %q", c.addr, c.https, got, err, c.want)
		}
	}
	if _, err := ProbeURL("3000", false, "/"); err == nil {
		t.Error("an address without a port is accepted")
	}
}

func TestProbe(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(time.Second)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"status":"down"}`))
	}))
	defer srv.Close()
	ctx := context.Background()
	if err := Probe(ctx, srv.URL+"/health/ready", time.Second); err != nil {
		t.Errorf("a ready app (self-signed https): %v", err)
	}
	status = http.StatusServiceUnavailable
	if err := Probe(ctx, srv.URL+"/health/ready", time.Second); err == nil || !strings.Contains(err.Error(), `answered 503: {"status":"down"}`) {
		t.Errorf("an app that is not ready: %v", err)
	}
	status = http.StatusOK
	if err := Probe(ctx, srv.URL+"/slow", 50*time.Millisecond); err == nil {
		t.Error("a probe that timed out passed")
	}
}

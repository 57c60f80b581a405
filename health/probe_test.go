package health

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

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

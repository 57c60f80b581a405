package trellis_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/health"
	"github.com/trellis-go/trellis/trellistest"
)

// serve starts app on a loopback port and returns its base URL, a cancel
// function that begins shutdown, and a channel with Serve's result.
func serve(t *testing.T, app *trellis.App) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln) }()
	t.Cleanup(cancel)
	return "http://" + ln.Addr().String(), cancel, done
}

func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	cfg := trellistest.Config(t)
	cfg.Server.ShutdownTimeout = 5 * time.Second
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	release := make(chan struct{})
	app.Get("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	var hookRan atomic.Bool
	app.OnShutdown(func(context.Context) error {
		hookRan.Store(true)
		return nil
	})
	base, cancel, done := serve(t, app)

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-started
	cancel() // SIGTERM equivalent

	// New connections are refused once shutdown begins.
	deadline := time.Now().Add(2 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 100*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still accepts connections during shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v before the in-flight request finished", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	r := <-got
	if r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request: %q %v", r.body, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if !hookRan.Load() {
		t.Error("shutdown hook did not run")
	}
	if app.DB != nil {
		t.Error("database left open")
	}
}

func TestShutdownGracePeriodIsBounded(t *testing.T) {
	cfg := trellistest.Config(t)
	cfg.Server.ShutdownTimeout = 200 * time.Millisecond
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	app.Get("/stuck", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(5 * time.Second)
	})
	base, cancel, done := serve(t, app)
	go func() {
		if resp, err := http.Get(base + "/stuck"); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	begin := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if took := time.Since(begin); took > 3*time.Second {
		t.Fatalf("shutdown took %v with a 200ms grace period", took)
	}
}

func TestHealthEndpoints(t *testing.T) {
	cfg := trellistest.Config(t)
	cfg.App.Version = "1.2.3"
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	var cacheDown atomic.Bool
	app.Health.Add(health.Check{Name: "cache", Required: false, Func: func(context.Context) error {
		if cacheDown.Load() {
			return io.ErrUnexpectedEOF
		}
		return nil
	}})
	base, cancel, done := serve(t, app)

	get := func(path string) (int, health.Report) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var rep health.Report
		_ = json.NewDecoder(resp.Body).Decode(&rep)
		return resp.StatusCode, rep
	}
	if code, _ := get("/health/live"); code != 200 {
		t.Errorf("live = %d", code)
	}
	for _, path := range []string{"/health/ready", "/health"} {
		code, rep := get(path)
		db := rep.Components["database"]
		if code != 200 || rep.Status != "ok" || rep.Version != "1.2.3" || db.Status != "up" || !db.Required || db.LatencyMS <= 0 {
			t.Errorf("%s = %d %+v", path, code, rep)
		}
	}
	cacheDown.Store(true)
	if code, rep := get("/health/ready"); code != 200 || rep.Status != "degraded" || rep.Components["cache"].Status != "down" {
		t.Errorf("optional component down: %d %+v", code, rep)
	}
	// A required component down makes the app unready.
	_ = app.DB.SQL.Close()
	if code, rep := get("/health/ready"); code != 503 || rep.Status != "down" || rep.Components["database"].Error == "" {
		t.Errorf("database down: %d %+v", code, rep)
	}
	if code, _ := get("/health/live"); code != 200 {
		t.Errorf("live while database down = %d", code)
	}
	cancel()
	<-done
}

func TestNewFailsClearlyWhenDatabaseUnreachable(t *testing.T) {
	cfg := trellistest.Config(t)
	cfg.Database.URL = "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1"
	_, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
	if err == nil || !strings.Contains(err.Error(), "database unreachable") || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("err = %v", err)
	}
}

func TestPostgresDatabase(t *testing.T) {
	cfg := trellistest.Config(t)
	cfg.Database.URL = trellistest.PostgresURL(t)
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(context.Background())
	rep, ready := app.Health.Run(context.Background())
	if !ready || rep.Components["database"].Status != "up" {
		t.Fatalf("postgres health: %+v", rep)
	}
	if app.DB.Rebind("SELECT ? WHERE x = '?' AND y = ?") != "SELECT $1 WHERE x = '?' AND y = $2" {
		t.Error("Rebind")
	}
}

package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// load sends GET / with c keep-alive connections for d and returns
// requests per second.
func load(t *testing.T, url string, c int, d time.Duration, gzip bool) float64 {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c, DisableCompression: !gzip}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var n atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

func listen(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// TestReportLoopbackThroughput compares requests per second over loopback.
// Rounds alternate between the two servers so drift affects both.
func TestReportLoopbackThroughput(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	app := newTrellis(t)
	bareURL, fullURL := listen(t, newBare(app)), listen(t, app)
	load(t, bareURL, 16, time.Second, false) // warm up
	load(t, fullURL, 16, time.Second, false)
	for _, gzip := range []bool{false, true} {
		var bare, full float64
		const rounds = 3
		for range rounds {
			bare += load(t, bareURL, 32, 3*time.Second, gzip)
			full += load(t, fullURL, 32, 3*time.Second, gzip)
		}
		bare, full = bare/rounds, full/rounds
		fmt.Printf("loopback, 32 connections, %d×3s rounds, client accepts gzip: %v\n", rounds, gzip)
		fmt.Printf("  bare net/http   %8.0f req/s\n", bare)
		fmt.Printf("  trellis stack   %8.0f req/s  (%.1f%% of bare)\n", full, 100*full/bare)
	}
}

func cfgProcs() int { return runtime.GOMAXPROCS(0) }

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

	"github.com/klauspost/compress/gzhttp"
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

// servesGzip reports whether url answers a gzip-accepting client with a
// compressed body.
func servesGzip(t *testing.T, url string) bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Uncompressed
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

// newBareGzip is the compressed baseline: the bare handler behind gzhttp
// with the settings Trellis uses (gzip only, level 5, 1 KiB minimum), so the
// compressed comparison charges both servers the same compression work.
func newBareGzip(t *testing.T, bare http.Handler) http.Handler {
	t.Helper()
	wrap, err := gzhttp.NewWrapper(gzhttp.CompressionLevel(5), gzhttp.EnableZstd(false))
	if err != nil {
		t.Fatal(err)
	}
	return wrap(bare)
}

// TestReportLoopbackThroughput compares requests per second over loopback.
// Rounds alternate between the servers so drift affects all of them. Without
// compression Trellis is compared with bare net/http; with compression it is
// compared with bare net/http behind gzhttp (the uncompressed bare figure is
// printed too, for reference).
func TestReportLoopbackThroughput(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	app := newTrellis(t)
	bare := newBare(app)
	bareURL, bareGzURL, fullURL := listen(t, bare), listen(t, newBareGzip(t, bare)), listen(t, app)
	for _, u := range []string{bareGzURL, fullURL} {
		if !servesGzip(t, u) {
			t.Fatalf("%s does not compress the page", u)
		}
	}
	load(t, bareURL, 16, time.Second, false) // warm up
	load(t, fullURL, 16, time.Second, false)
	const rounds = 3
	var plain, bareGz, fullGz float64
	{
		var bare, full float64
		for range rounds {
			bare += load(t, bareURL, 32, 3*time.Second, false)
			full += load(t, fullURL, 32, 3*time.Second, false)
		}
		bare, full = bare/rounds, full/rounds
		plain = bare
		fmt.Printf("loopback, 32 connections, %d×3s rounds, client accepts gzip: false\n", rounds)
		fmt.Printf("  bare net/http           %8.0f req/s\n", bare)
		fmt.Printf("  trellis stack           %8.0f req/s  (%.2fx bare)\n", full, full/bare)
	}
	for range rounds {
		bareGz += load(t, bareGzURL, 32, 3*time.Second, true)
		fullGz += load(t, fullURL, 32, 3*time.Second, true)
	}
	bareGz, fullGz = bareGz/rounds, fullGz/rounds
	fmt.Printf("loopback, 32 connections, %d×3s rounds, client accepts gzip: true\n", rounds)
	fmt.Printf("  bare net/http + gzhttp  %8.0f req/s  (uncompressed bare above: %.0f)\n", bareGz, plain)
	fmt.Printf("  trellis stack           %8.0f req/s  (%.2fx bare+gzhttp)\n", fullGz, fullGz/bareGz)
}

func cfgProcs() int { return runtime.GOMAXPROCS(0) }

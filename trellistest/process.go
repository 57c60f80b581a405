package trellistest

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// FreeAddr returns a loopback address with a port that was free a moment
// ago, for starting a server process in a test.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// WaitReady polls url every millisecond until it answers 200 and returns
// the time it did; after timeout it fails the test.
func WaitReady(t testing.TB, url string, timeout time.Duration) time.Time {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now()
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%s never answered 200 within %v", url, timeout)
	return time.Time{}
}

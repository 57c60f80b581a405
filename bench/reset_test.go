package bench

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/trellistest"
)

// TestReportResetTiming measures POST /password/forgot for an address
// with an account against one without, interleaved in one run on the same
// app, and prints the median, p90 and p99 of each and their ratio. The
// answer must not tell the two apart: both requests do the same work (one
// job insert); the lookup and the mail happen in the job.
func TestReportResetTiming(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	const n = 400
	fmt.Printf("POST /password/forgot, %d requests per address kind, interleaved:\n", n)
	for _, backend := range []trellistest.Backend{trellistest.SQLite, trellistest.Postgres} {
		app := trellistest.NewApp(t, nil, trellistest.OnBackend(backend), trellistest.Options(trellis.WithLogOutput(io.Discard)),
			trellistest.Configure(func(c *config.Config) {
				c.RateLimit.Reset = "100000/1m"
				c.Server.ShutdownTimeout = 2 * time.Minute // the queued reset and mail jobs finish
			}))
		app.CreateUser("known@example.com", "known password")
		token := app.CSRFToken()
		post := func(email string) time.Duration {
			req, _ := http.NewRequest(http.MethodPost, app.URL+"/password/forgot", strings.NewReader(url.Values{"email": {email}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-CSRF-Token", token)
			start := time.Now()
			res, err := app.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			d := time.Since(start)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d", email, res.StatusCode)
			}
			return d
		}
		for range 20 { // warm up both paths
			post("known@example.com")
			post("nobody@example.com")
		}
		var known, unknown []time.Duration
		for i := range n {
			if i%2 == 0 {
				known = append(known, post("known@example.com"))
				unknown = append(unknown, post("nobody@example.com"))
			} else {
				unknown = append(unknown, post("nobody@example.com"))
				known = append(known, post("known@example.com"))
			}
		}
		k, u := quantiles(known), quantiles(unknown)
		fmt.Printf("  %-8s known   p50 %8v  p90 %8v  p99 %8v\n", backend, k[0], k[1], k[2])
		fmt.Printf("  %-8s unknown p50 %8v  p90 %8v  p99 %8v\n", backend, u[0], u[1], u[2])
		fmt.Printf("  %-8s known/unknown p50 %.3f  p90 %.3f  (p50 difference %v)\n", backend,
			float64(k[0])/float64(u[0]), float64(k[1])/float64(u[1]), (k[0] - u[0]).Round(time.Microsecond))
	}
}

// quantiles returns the 50th, 90th and 99th percentiles of ds.
func quantiles(ds []time.Duration) [3]time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))].Round(time.Microsecond) }
	return [3]time.Duration{at(0.5), at(0.9), at(0.99)}
}

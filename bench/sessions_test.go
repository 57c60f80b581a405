package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/trellistest"
)

// sessionApp builds a full app (sessions, user loading, CSRF) with its
// sessions in store and two routes: one reads the session, one writes it.
func sessionApp(tb testing.TB, store string) *trellis.App {
	tb.Helper()
	cfg := trellistest.Config(tb)
	switch store {
	case "memory":
		cfg.Session.Store = "memory"
	case "postgres":
		cfg.Database.URL = trellistest.PostgresURL(tb)
	case "redis":
		cfg.Redis.URL, cfg.Redis.KeyPrefix = trellistest.RedisURL(tb)
		cfg.Session.Store = "redis"
	}
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = app.Close(context.Background()) })
	app.Get("/read", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, app.Sessions.GetString(r.Context(), "k"))
	})
	app.Post("/write", func(w http.ResponseWriter, r *http.Request) {
		app.Sessions.Put(r.Context(), "k", strconv.FormatInt(time.Now().UnixNano(), 10))
		w.WriteHeader(http.StatusNoContent)
	})
	return app
}

// establish starts a session and returns its cookie and a CSRF token.
func establish(tb testing.TB, app *trellis.App) (*http.Cookie, string) {
	tb.Helper()
	s := trellistest.NewServer(tb, app)
	s.PostForm("/write", nil)
	u, _ := url.Parse(s.URL)
	var cookie *http.Cookie
	for _, c := range s.Client.Jar.Cookies(u) {
		if c.Name == "trellis_session" {
			cookie = c
		}
	}
	if cookie == nil {
		tb.Fatal("no session cookie")
	}
	return cookie, s.CSRFToken()
}

// BenchmarkSession measures one request that loads an existing session
// and either only reads it or writes one key, per store, against the same
// request with no session cookie (anonymous: nothing is loaded or saved).
func BenchmarkSession(b *testing.B) {
	for _, store := range []string{"memory", "sqlite", "postgres", "redis"} {
		app := sessionApp(b, store)
		cookie, token := establish(b, app)
		run := func(b *testing.B, method, path string, withCookie bool) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(method, path, nil)
				if withCookie {
					req.AddCookie(cookie)
					req.Header.Set("X-CSRF-Token", token)
				}
				w := &discardWriter{h: make(http.Header)}
				app.ServeHTTP(w, req)
				if w.status >= 400 {
					b.Fatalf("%s %s: %d", method, path, w.status)
				}
			}
		}
		b.Run(store+"/anonymous", func(b *testing.B) { run(b, "GET", "/read", false) })
		b.Run(store+"/read", func(b *testing.B) { run(b, "GET", "/read", true) })
		b.Run(store+"/write", func(b *testing.B) { run(b, "POST", "/write", true) })
	}
}

var metaToken = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// TestReportLoginFlood measures page latency while 50 clients log in as
// fast as they can (each login costs an argon2id hash), against the same
// page with no logins, in one run.
func TestReportLoginFlood(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	cfg := trellistest.Config(t)
	cfg.RateLimit.Enabled = false // measure the hashing, not the limiter
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(context.Background())
	app.Get("/", func(w http.ResponseWriter, r *http.Request) {
		app.Render.Page(w, r, "Home", page())
	})
	if _, err := app.Auth.CreateUser(context.Background(), "flood@example.com", "", "flood password"); err != nil {
		t.Fatal(err)
	}
	base := listen(t, app)
	measure := func(d time.Duration) []time.Duration {
		client := &http.Client{}
		var lat []time.Duration
		for end := time.Now().Add(d); time.Now().Before(end); {
			start := time.Now()
			resp, err := client.Get(base)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lat = append(lat, time.Since(start))
			time.Sleep(5 * time.Millisecond)
		}
		return lat
	}
	idle := measure(3 * time.Second)

	stop := make(chan struct{})
	var logins, failures atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			server := trellistest.NewServer(t, app)
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := server.AsNewVisitor() // a fresh browser for every login
				tok := metaToken.FindStringSubmatch(s.Get("/login").Body)
				if tok == nil {
					failures.Add(1)
					continue
				}
				res := s.PostForm("/login", url.Values{"email": {"flood@example.com"}, "password": {"flood password"}, "csrf_token": {tok[1]}}, trellistest.NoCSRF())
				if res.StatusCode == http.StatusSeeOther {
					logins.Add(1)
				} else {
					failures.Add(1)
				}
			}
		})
	}
	time.Sleep(time.Second) // let the flood build up
	start := time.Now()
	flood := measure(8 * time.Second)
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()

	fmt.Printf("page latency, sequential GETs on loopback (SQLite, argon2id m=19MiB t=2, hashing concurrency %d):\n", max(1, cfgProcs()/2))
	fmt.Printf("  no logins        %s\n", percentiles(idle))
	fmt.Printf("  50 logins flood  %s\n", percentiles(flood))
	fmt.Printf("  logins completed %.1f/s (failed or busy: %d)\n", float64(logins.Load())/elapsed.Seconds(), failures.Load())
}

func percentiles(d []time.Duration) string {
	slices.Sort(d)
	p := func(q float64) string {
		return fmt.Sprintf("%.1fms", float64(d[int(q*float64(len(d)-1))].Microseconds())/1000)
	}
	return strings.Join([]string{"p50 " + p(0.50), "p95 " + p(0.95), "p99 " + p(0.99), fmt.Sprintf("(n=%d)", len(d))}, "  ")
}

// TestReportLoginTiming compares failed logins for an existing and a
// missing account: both must cost one password hash.
func TestReportLoginTiming(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	cfg := trellistest.Config(t)
	cfg.RateLimit.Enabled = false
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(context.Background())
	if _, err := app.Auth.CreateUser(context.Background(), "known@example.com", "", "known password"); err != nil {
		t.Fatal(err)
	}
	s := trellistest.NewServer(t, app)
	tok := s.CSRFToken()
	var known, missing []time.Duration
	for i := range 60 {
		email := "known@example.com"
		if i%2 == 1 {
			email = "missing@example.com"
		}
		start := time.Now()
		res := s.PostForm("/login", url.Values{"email": {email}, "password": {"wrong password"}}, trellistest.Header("X-CSRF-Token", tok))
		d := time.Since(start)
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("login: %d", res.StatusCode)
		}
		if i%2 == 0 {
			known = append(known, d)
		} else {
			missing = append(missing, d)
		}
	}
	fmt.Printf("failed login latency (30 each, alternating):\n  existing account  %s\n  missing account   %s\n", percentiles(known), percentiles(missing))
}

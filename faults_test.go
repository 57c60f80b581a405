package trellis_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/trellistest"
)

// TestBadTextNeverReachesTheDatabase sends NUL bytes and invalid UTF-8 in
// the path, the query and form fields to routes that store or search what
// they get. PostgreSQL refuses such text with an error that used to become
// a 500; SQLite stored it. Every one is a 400 before any handler runs.
func TestBadTextNeverReachesTheDatabase(t *testing.T) {
	trellistest.ForEachBackend(t, func(t *testing.T, b trellistest.Backend) {
		ta := trellistest.NewApp(t, nil, trellistest.OnBackend(b))
		app := ta.App
		search := func(w http.ResponseWriter, r *http.Request) {
			var n int
			err := app.DB.SQL.QueryRowContext(r.Context(), app.DB.Rebind("SELECT count(*) FROM users WHERE email = ?"), r.URL.Query().Get("q")+r.PathValue("name")).Scan(&n)
			if err != nil {
				app.Render.Error(w, r, err)
				return
			}
			fmt.Fprint(w, n)
		}
		app.Get("/search", search)
		app.Get("/users/{name}", search)
		ta.Get("/search?q=ann").AssertStatus(http.StatusOK)

		for _, path := range []string{"/search?q=%00", "/search?q=a%ffb", "/search?q=%c0%ae", "/search?%00=x", "/users/a%00b", "/users/%ff"} {
			ta.Get(path).AssertStatus(http.StatusBadRequest).AssertContains("NUL byte")
		}
		ta.Get("/search?q=%00", trellistest.HTMX("results")).AssertStatus(http.StatusBadRequest).AssertRetarget("#trellis-error")
		for _, v := range []string{"a\x00b", "a\xffb", "\xc0\xae"} {
			res := ta.PostForm("/register", url.Values{"email": {"x@example.com"}, "name": {v}, "password": {"correct horse battery"}, "password_confirm": {"correct horse battery"}})
			res.AssertStatus(http.StatusBadRequest)
		}
		if strings.Contains(ta.Logs.String(), "level=ERROR") {
			t.Errorf("bad text was logged as a server error:\n%s", ta.Logs)
		}
	})
}

// TestCutOffBodiesAreAnswered400 sends a form body shorter than its
// Content-Length, and one slower than the read timeout: both are 400 in
// the response and the access log, never an empty 200.
func TestCutOffBodiesAreAnswered400(t *testing.T) {
	cfg := trellistest.Config(t)
	cfg.Server.ReadTimeout = 500 * time.Millisecond
	cfg.Logging.AccessLog, cfg.Logging.Level = true, "info"
	logs := &trellistest.Logs{}
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(logs))
	if err != nil {
		t.Fatal(err)
	}
	app.Post("/echo", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "got "+r.PostFormValue("a")) })
	base, _, _ := serve(t, app)
	token := trellistest.NewServer(t, app).CSRFToken()

	for _, mode := range []string{"short", "slow"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /echo HTTP/1.1\r\nHost: example\r\nSec-Fetch-Site: same-origin\r\nX-CSRF-Token: %s\r\n"+
			"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\na=12345", token)
		if mode == "short" {
			_ = conn.(*net.TCPConn).CloseWrite()
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s body: %v", mode, err)
		}
		body, _ := io.ReadAll(res.Body)
		conn.Close()
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "could not be read") {
			t.Errorf("%s body: %d %q", mode, res.StatusCode, body)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(logs.String(), "path=/echo status=400") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), "path=/echo status=400"); n != 2 || strings.Contains(logs.String(), "path=/echo status=200") {
		t.Errorf("access log has %d 400s for the cut-off bodies:\n%s", n, logs)
	}
}

// TestTLSOffersOnlyModernSuites handshakes with the server the way
// testssl.sh probes it: obsolete protocol versions and CBC or RSA key
// exchange suites are refused, TLS 1.2 with ECDHE and AES-GCM and TLS 1.3
// work.
func TestTLSOffersOnlyModernSuites(t *testing.T) {
	certFile, keyFile := writeSelfSignedCert(t, t.TempDir())
	cfg := trellistest.Config(t)
	cfg.Server.TLSCert, cfg.Server.TLSKey = certFile, keyFile
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	base, _, _ := serve(t, app)
	addr := strings.TrimPrefix(base, "http://")
	handshake := func(c *tls.Config) (*tls.ConnectionState, error) {
		c.InsecureSkipVerify = true
		conn, err := tls.Dial("tcp", addr, c)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		st := conn.ConnectionState()
		return &st, nil
	}
	refused := map[string]*tls.Config{
		"TLS 1.1":           {MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11},
		"ECDHE-RSA-AES-CBC": {MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}},
		"RSA key exchange":  {MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_CBC_SHA}},
	}
	for name, c := range refused {
		if st, err := handshake(c); err == nil {
			t.Errorf("%s: handshake succeeded with %s", name, tls.CipherSuiteName(st.CipherSuite))
		}
	}
	st, err := handshake(&tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}})
	if err != nil || st.Version != tls.VersionTLS12 {
		t.Errorf("TLS 1.2 ECDHE-ECDSA-AES128-GCM: %v", err)
	}
	if st, err := handshake(&tls.Config{}); err != nil || st.Version != tls.VersionTLS13 {
		t.Errorf("TLS 1.3: %v", err)
	}
}

// TestDrainDelayLosesNoRequests runs 20 clients behind a simulated load
// balancer that polls readiness every 50 ms and stops routing to the app
// once it fails. With a drain delay longer than that, a shutdown in the
// middle of the load fails no request — POSTs included, which the client
// does not retry when a kept-alive connection is closed under it.
func TestDrainDelayLosesNoRequests(t *testing.T) {
	for run := range 3 {
		cfg := trellistest.Config(t)
		cfg.Server.DrainDelay = time.Second // the balancer polls every 50 ms; slack for a loaded machine
		cfg.CSRF.ExemptPaths = []string{"/work"}
		app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		app.Get("/work", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "done") })
		app.Post("/work", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "done") })
		base, cancel, done := serve(t, app)

		var routing atomic.Bool
		routing.Store(true)
		stopLB := make(chan struct{})
		go func() { // the load balancer's health check
			for {
				select {
				case <-stopLB:
					return
				case <-time.After(50 * time.Millisecond):
				}
				res, err := http.Get(base + "/health/ready")
				if err != nil || res.StatusCode != http.StatusOK {
					routing.Store(false)
				}
				if err == nil {
					res.Body.Close()
				}
			}
		}()
		var ok, failed atomic.Int64
		var first atomic.Value // the first failure, for the message
		fail := func(what string) {
			failed.Add(1)
			first.CompareAndSwap(nil, what)
		}
		var wg sync.WaitGroup
		client := &http.Client{Timeout: 5 * time.Second}
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 2000 && routing.Load(); i++ {
					var res *http.Response
					var err error
					if i%2 == 0 {
						res, err = client.Get(base + "/work")
					} else {
						res, err = client.Post(base+"/work", "text/plain", strings.NewReader("job"))
					}
					if err != nil {
						fail(err.Error())
						continue
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode == http.StatusOK {
						ok.Add(1)
					} else {
						fail(res.Request.Method + " answered " + res.Status)
					}
				}
			}()
		}
		time.Sleep(200 * time.Millisecond)
		cancel()
		wg.Wait()
		close(stopLB)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if failed.Load() != 0 || ok.Load() == 0 {
			t.Errorf("run %d: %d requests failed (first: %v), %d succeeded", run, failed.Load(), first.Load(), ok.Load())
		}
	}
}

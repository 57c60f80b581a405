package trellis_test

import (
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/htmx"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/trellistest"
)

type testApp struct {
	*trellistest.App
	app  *trellis.App
	logs *trellistest.Logs
}

// newTestApp builds an app with a few routes exercising the kernel.
func newTestApp(t *testing.T, mutate ...func(*config.Config)) *testApp {
	t.Helper()
	opts := []trellistest.AppOption{trellistest.Configure(func(cfg *config.Config) {
		cfg.Logging.AccessLog = true
		cfg.Logging.Level = "info"
		cfg.Logging.Format = "json"
	})}
	for _, m := range mutate {
		opts = append(opts, trellistest.Configure(m))
	}
	ta := trellistest.NewApp(t, nil, opts...)
	app := ta.App
	content := templ.Raw(`<p id="content">hello &amp; welcome</p>`)
	app.Get("/page", func(w http.ResponseWriter, r *http.Request) {
		app.Render.View(w, r, render.View{Title: "Page", Content: content, Partial: templ.Raw(`<p id="partial">only the list</p>`)})
	})
	app.Get("/big", func(w http.ResponseWriter, r *http.Request) {
		app.Render.Page(w, r, "Big", templ.Raw("<pre>"+strings.Repeat("trellis ", 2000)+"</pre>"))
	})
	app.Get("/panic", func(http.ResponseWriter, *http.Request) { panic("secret-panic-detail") })
	app.Post("/echo-body", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			app.Render.Error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	app.Get("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		codes := map[string]int{"400": 400, "401": 401, "403": 403, "422": 422, "429": 429, "503": 503}
		app.Render.Error(w, r, render.NewError(codes[r.PathValue("code")], "custom <message>"))
	})
	return &testApp{App: ta, app: app, logs: ta.Logs}
}

func TestFullPageVersusPartial(t *testing.T) {
	ta := newTestApp(t)
	cases := []struct {
		name string
		opts []trellistest.RequestOption
		full bool
	}{
		{"browser", nil, true},
		{"htmx", []trellistest.RequestOption{trellistest.HTMX("main")}, false},
		{"boosted", []trellistest.RequestOption{trellistest.Boosted()}, true},
		{"history restore", []trellistest.RequestOption{trellistest.HTMX(""), trellistest.Header("HX-History-Restore-Request", "true")}, true},
		{"htmx4 full", []trellistest.RequestOption{trellistest.HTMX(""), trellistest.Header("HX-Request-Type", "full")}, true},
		{"htmx4 partial", []trellistest.RequestOption{trellistest.HTMX(""), trellistest.Header("HX-Request-Type", "partial")}, false},
		{"malformed HX-Request", []trellistest.RequestOption{trellistest.Header("HX-Request", "yes")}, true},
		{"oversized HX-Target", []trellistest.RequestOption{trellistest.HTMX(strings.Repeat("t", 100_000))}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := ta.Get("/page", tc.opts...)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			isFull := strings.HasPrefix(res.Body, "<!doctype html>")
			if isFull != tc.full {
				t.Fatalf("full page = %v, want %v; body %q", isFull, tc.full, res.Body)
			}
			if tc.full && (!strings.Contains(res.Body, `<p id="content">`) || !strings.Contains(res.Body, "<title>Page · Trellis</title>")) {
				t.Errorf("full page lacks content or title: %q", res.Body)
			}
			if !tc.full && res.Body != `<p id="partial">only the list</p>` {
				t.Errorf("partial body = %q", res.Body)
			}
			vary := strings.Join(res.Header.Values("Vary"), ", ")
			for _, h := range []string{"HX-Request", "HX-Boosted", "HX-History-Restore-Request", "HX-Request-Type"} {
				if !strings.Contains(vary, h) {
					t.Errorf("Vary %q lacks %s", vary, h)
				}
			}
		})
	}
}

func TestErrorPages(t *testing.T) {
	ta := newTestApp(t)
	type check struct {
		path, method string
		status       int
		contains     string
	}
	checks := []check{
		{"/nope", "GET", 404, "Page not found"},
		{"/page", "DELETE", 405, "Method not allowed"},
		{"/panic", "GET", 500, "Something went wrong"},
		{"/status/400", "GET", 400, "custom &lt;message&gt;"},
		{"/status/401", "GET", 401, "custom &lt;message&gt;"},
		{"/status/403", "GET", 403, "custom &lt;message&gt;"},
		{"/status/422", "GET", 422, "custom &lt;message&gt;"},
		{"/status/429", "GET", 429, "custom &lt;message&gt;"},
		{"/status/503", "GET", 503, "temporarily unavailable"},
	}
	for _, c := range checks {
		t.Run(c.method+c.path, func(t *testing.T) {
			page := ta.Do(c.method, c.path, nil)
			if page.StatusCode != c.status {
				t.Fatalf("status %d, want %d", page.StatusCode, c.status)
			}
			if !strings.HasPrefix(page.Body, "<!doctype html>") || !strings.Contains(page.Body, c.contains) {
				t.Fatalf("browser error page: %q", page.Body)
			}
			if !strings.Contains(page.Body, page.Header.Get("X-Request-ID")) {
				t.Error("error page does not quote the request id")
			}
			frag := ta.Do(c.method, c.path, nil, trellistest.HTMX("main"))
			if frag.StatusCode != c.status || strings.Contains(frag.Body, "<html") || !strings.Contains(frag.Body, c.contains) {
				t.Fatalf("htmx error fragment %d: %q", frag.StatusCode, frag.Body)
			}
			if frag.Header.Get(htmx.HeaderRetarget) != "#trellis-error" || frag.Header.Get(htmx.HeaderReswap) != "innerHTML" {
				t.Errorf("fragment not retargeted to the error region: %v", frag.Header)
			}
			js := ta.Do(c.method, c.path, nil, trellistest.Header("Accept", "application/json"))
			var body struct {
				Error  string `json:"error"`
				Status int    `json:"status"`
			}
			if err := json.Unmarshal([]byte(js.Body), &body); err != nil || body.Status != c.status || body.Error == "" {
				t.Fatalf("json error %q: %v", js.Body, err)
			}
			if strings.Contains(page.Body+frag.Body+js.Body, "secret-panic-detail") || strings.Contains(page.Body, "goroutine") {
				t.Fatal("panic detail leaked into the response")
			}
		})
	}
	if allow := ta.Do("DELETE", "/page", nil).Header.Get("Allow"); allow != "GET, HEAD" {
		t.Errorf("405 Allow = %q", allow)
	}
	logs := ta.logs.String()
	if !strings.Contains(logs, "secret-panic-detail") || !strings.Contains(logs, "goroutine") {
		t.Errorf("panic and stack not logged: %s", logs)
	}
}

func TestBodyLimit(t *testing.T) {
	ta := newTestApp(t, func(c *config.Config) { c.Server.MaxBodyBytes = 1000 })
	if res := ta.Do("POST", "/echo-body", strings.NewReader(strings.Repeat("x", 999))); res.StatusCode != http.StatusNoContent {
		t.Fatalf("under limit: %d", res.StatusCode)
	}
	if res := ta.Do("POST", "/echo-body", strings.NewReader(strings.Repeat("x", 1001))); res.StatusCode != http.StatusRequestEntityTooLarge ||
		!strings.Contains(res.Body, "Request too large") {
		t.Fatalf("declared length over limit: %d %q", res.StatusCode, res.Body)
	}
	// A chunked body has no declared length: the read fails at the limit.
	chunked := io.MultiReader(strings.NewReader(strings.Repeat("y", 800)), strings.NewReader(strings.Repeat("y", 800)))
	res := ta.Do("POST", "/echo-body", io.NopCloser(chunked), trellistest.HTMX(""))
	if res.StatusCode != http.StatusRequestEntityTooLarge || res.Header.Get(htmx.HeaderRetarget) == "" {
		t.Fatalf("chunked over limit: %d %q", res.StatusCode, res.Body)
	}
}

func TestSecurityHeadersAndNonce(t *testing.T) {
	ta := newTestApp(t)
	nonceRe := regexp.MustCompile(`'nonce-([A-Za-z0-9_-]+)'`)
	var seen []string
	for range 2 {
		res := ta.Get("/page")
		csp := res.Header.Get("Content-Security-Policy")
		m := nonceRe.FindStringSubmatch(csp)
		if m == nil {
			t.Fatalf("no nonce in CSP %q", csp)
		}
		if strings.Count(res.Body, `nonce="`+m[1]+`"`) != 2 {
			t.Errorf("scripts do not carry the CSP nonce: %s", res.Body)
		}
		for _, d := range []string{"default-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("CSP lacks %s", d)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("default CSP allows unsafe sources: %s", csp)
		}
		seen = append(seen, m[1])
		want := map[string]string{
			"X-Content-Type-Options":     "nosniff",
			"X-Frame-Options":            "DENY",
			"Referrer-Policy":            "strict-origin-when-cross-origin",
			"Cross-Origin-Opener-Policy": "same-origin",
		}
		for k, v := range want {
			if got := res.Header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		if res.Header.Get("Permissions-Policy") == "" {
			t.Error("no Permissions-Policy")
		}
		if res.Header.Get("Strict-Transport-Security") != "" {
			t.Error("HSTS sent over plain HTTP")
		}
	}
	if seen[0] == seen[1] {
		t.Error("nonce reused across requests")
	}

	proxied := newTestApp(t, func(c *config.Config) { c.Server.BehindTLSProxy = true })
	if hsts := proxied.Get("/page").Header.Get("Strict-Transport-Security"); hsts != "max-age=63072000; includeSubDomains" {
		t.Errorf("HSTS behind TLS proxy = %q", hsts)
	}
}

func TestRequestID(t *testing.T) {
	ta := newTestApp(t)
	gen := ta.Get("/page").Header.Get("X-Request-ID")
	if len(gen) != 24 {
		t.Errorf("generated id %q", gen)
	}
	if got := ta.Get("/page", trellistest.Header("X-Request-ID", "abc-123.x")).Header.Get("X-Request-ID"); got != "abc-123.x" {
		t.Errorf("accepted id = %q", got)
	}
	for _, bad := range []string{strings.Repeat("a", 65), "evil\"id", "a b"} {
		if got := ta.Get("/page", trellistest.Header("X-Request-ID", bad)).Header.Get("X-Request-ID"); got == bad || len(got) != 24 {
			t.Errorf("bad id %q answered with %q", bad, got)
		}
	}
	// The access log carries the id, status and duration as JSON.
	ta.Get("/nope", trellistest.Header("X-Request-ID", "trace-me"))
	var found bool
	for line := range strings.SplitSeq(ta.logs.String(), "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) != nil || entry["request_id"] != "trace-me" || entry["msg"] != "request" {
			continue
		}
		found = entry["status"] == float64(404) && entry["duration"] != nil && entry["path"] == "/nope"
	}
	if !found {
		t.Errorf("access log line missing or incomplete: %s", ta.logs.String())
	}
}

func TestGzip(t *testing.T) {
	ta := newTestApp(t)
	req, _ := http.NewRequest("GET", ta.URL+"/big", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Accept-Encoding") {
		t.Fatalf("not compressed: %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	if !strings.Contains(string(body), strings.Repeat("trellis ", 2000)) {
		t.Fatal("decompressed body differs")
	}
	// Small responses are not worth compressing.
	req, _ = http.NewRequest("GET", ta.URL+"/page", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("HX-Request", "true")
	resp2, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.Header.Get("Content-Encoding") != "" {
		t.Error("tiny partial was compressed")
	}
}

func TestStaticAssetsThroughTheStack(t *testing.T) {
	ta := newTestApp(t)
	page := ta.Get("/page").Body
	m := regexp.MustCompile(`src="(/static/htmx\.min\.[0-9a-f]{12}\.js)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no fingerprinted htmx URL in %q", page)
	}
	res := ta.Get(m[1])
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || res.Header.Get("ETag") == "" {
		t.Fatalf("asset %d %v", res.StatusCode, res.Header)
	}
	if !strings.Contains(res.Body, "htmx") {
		t.Fatal("asset body is not htmx")
	}
	if again := ta.Get(m[1], trellistest.Header("If-None-Match", res.Header.Get("ETag"))); again.StatusCode != http.StatusNotModified {
		t.Errorf("conditional request: %d", again.StatusCode)
	}
	if miss := ta.Get("/static/../go.mod"); miss.StatusCode != http.StatusNotFound || !strings.Contains(miss.Body, "Page not found") {
		t.Errorf("traversal: %d", miss.StatusCode)
	}
	if head := ta.Do("HEAD", "/page", nil); head.StatusCode != 200 || head.Body != "" {
		t.Errorf("HEAD on a GET route: %d %q", head.StatusCode, head.Body)
	}
}

func TestHTMXConfigMeta(t *testing.T) {
	ta := newTestApp(t, func(c *config.Config) { c.HTMX.HistoryCacheSize = 3 })
	page := ta.Get("/page").Body
	m := regexp.MustCompile(`<meta name="htmx-config" content="([^"]+)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no htmx-config meta")
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(strings.ReplaceAll(m[1], "&#34;", `"`)), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["historyCacheSize"] != float64(3) || cfg["allowEval"] != false || cfg["includeIndicatorStyles"] != false {
		t.Errorf("htmx config = %v", cfg)
	}
	rules, _ := json.Marshal(cfg["responseHandling"])
	if !strings.Contains(string(rules), `{"code":"422","swap":true}`) {
		t.Errorf("422 not swapped: %s", rules)
	}
}

func TestBadInputNeverCauses500(t *testing.T) {
	ta := newTestApp(t)
	type req struct {
		method, path string
		headers      map[string]string
	}
	long := strings.Repeat("a", 8000)
	reqs := []req{
		{"FOO", "/page", nil},
		{"GET", "/" + long, nil},
		{"GET", "/page?" + long + "=%zz", nil},
		{"GET", "/%00", nil},
		{"GET", "/static/%2e%2e%2fgo.mod", nil},
		{"POST", "/page", map[string]string{"Content-Type": "multipart/form-data; boundary="}},
		{"GET", "/page", map[string]string{"HX-Request": "true", "HX-Target": "\xff\xfe", "HX-Trigger": long, "HX-Current-URL": "javascript:alert(1)", "HX-Prompt": strings.Repeat("p", 50000)}},
		{"GET", "/page", map[string]string{"HX-Request": "TRUE", "HX-Boosted": "1", "HX-History-Restore-Request": "maybe", "HX-Request-Type": "sideways"}},
		{"GET", "/page", map[string]string{"Accept": strings.Repeat("application/json,", 500)}},
		{"GET", "/page", map[string]string{"X-Request-ID": "\xff" + long}},
		{"GET", "/page", map[string]string{"Accept-Encoding": "gzip;q=nan, *;q=-1"}},
	}
	for _, r := range reqs {
		var opts []trellistest.RequestOption
		for k, v := range r.headers {
			opts = append(opts, trellistest.Header(k, v))
		}
		res := ta.Do(r.method, r.path, nil, opts...)
		if res.StatusCode >= 500 {
			t.Errorf("%s %.40s %v: %d", r.method, r.path, r.headers, res.StatusCode)
		}
	}
}

func TestServesTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeSelfSignedCert(t, dir)
	cfg := trellistest.Config(t)
	cfg.Server.TLSCert, cfg.Server.TLSKey = certFile, keyFile
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	app.Get("/", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "secure") })
	base, cancel, done := serve(t, app)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get(strings.Replace(base, "http://", "https://", 1) + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "secure" || resp.TLS == nil || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("TLS response %q, HSTS %q", body, resp.Header.Get("Strict-Transport-Security"))
	}
	cancel()
	<-done
}

func writeSelfSignedCert(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return certFile, keyFile
}

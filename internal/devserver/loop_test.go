package devserver_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trellis-go/trellis/internal/devserver"
	"github.com/trellis-go/trellis/internal/devserver/fixture"
	"github.com/trellis-go/trellis/trellistest"
)

// devApp is a fixture app served by devserver.Run for one test.
type devApp struct {
	t    *testing.T
	dir  string
	url  string
	log  *syncBuffer
	stop func() error
}

// startDev writes the fixture app with the pid hook and runs the dev
// server on it until the test ends (or stop is called).
func startDev(t *testing.T) *devApp {
	t.Helper()
	if testing.Short() {
		t.Skip("builds an app; skipped in -short mode")
	}
	if runtime.GOOS != "linux" {
		t.Skip("checks processes through /proc")
	}
	dir := fixture.App(t)
	fixture.AddPIDHook(t, dir)
	addr := trellistest.FreeAddr(t)
	log, appLog := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- devserver.Run(ctx, devserver.Options{
			Dir:    dir,
			Addr:   addr,
			Env:    fixture.Env(),
			Log:    log,
			Stdout: io.Discard,
			Stderr: appLog,
		})
	}()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("the dev server did not stop within 30s")
			}
		})
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("the app's log:\n%s", appLog)
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("dev server log:\n%s", log)
		}
	})
	return &devApp{t: t, dir: dir, url: "http://" + addr, log: log, stop: stop}
}

// TestDevLoop runs the dev server on the fixture app: an edit to a .go file
// restarts the app with the change, a syntax error shows the compiler
// output with status 500 (a page for browsers, text otherwise) until it is
// fixed, and stopping the dev server leaves no app process behind, nor
// any process the app started.
func TestDevLoop(t *testing.T) {
	d := startDev(t)

	res := d.waitFor("first build", http.StatusOK, "Hello v1")
	m := regexp.MustCompile(`<script src="/_trellis/dev/reload\.js\?v=[^"]+" nonce="([^"]+)"></script></body>`).FindStringSubmatch(res.body)
	if m == nil {
		t.Fatalf("the page has no live-reload script before </body>:\n%s", res.body)
	}
	if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "'nonce-"+m[1]+"'") {
		t.Errorf("the script's nonce %q is not the page's CSP nonce: %s", m[1], csp)
	}
	if n, err := strconv.Atoi(res.header.Get("Content-Length")); err != nil || n != len(res.body) {
		t.Errorf("Content-Length %q, body is %d bytes", res.header.Get("Content-Length"), len(res.body))
	}
	first := fixture.PIDs(t, d.dir)

	d.edit("home.go", "Hello v1", "Hello v2")
	d.waitFor("restart after a .go edit", http.StatusOK, "Hello v2")
	second := fixture.PIDs(t, d.dir)
	if second[0] == first[0] {
		t.Fatalf("the app was not restarted: pid %d", first[0])
	}
	fixture.AssertGone(t, "the previous app", first...)

	// A config change restarts the app without a build; an app that
	// exits at start shows why.
	config := filepath.Join(d.dir, "config", "trellis.toml")
	good, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	builds := strings.Count(d.log.String(), "building…")
	write(t, d.dir, "config/trellis.toml", string(good)+"read_timeout = \"forever\"\n")
	res = d.waitFor("a bad config", http.StatusInternalServerError, "The app did not start")
	if !strings.Contains(res.body, "read_timeout") {
		t.Errorf("the error page does not show the app's error:\n%s", res.body)
	}
	write(t, d.dir, "config/trellis.toml", string(good))
	d.waitFor("the config fixed", http.StatusOK, "Hello v2")
	if n := strings.Count(d.log.String(), "building…"); n != builds {
		t.Errorf("config changes built the app %d times, want restarts only", n-builds)
	}
	second = fixture.PIDs(t, d.dir)

	d.edit("home.go", "func home(", "func home(((")
	res = d.waitFor("syntax error", http.StatusInternalServerError, "go build failed")
	if !strings.Contains(res.body, "home.go:") || !strings.Contains(res.body, `<script src="/_trellis/dev/reload.js?v=`) {
		t.Errorf("the error page lacks the compiler output or the reload script:\n%s", res.body)
	}
	if !strings.Contains(d.log.String(), "go build failed:") {
		t.Errorf("the terminal does not show the build error:\n%s", d.log)
	}
	text := d.get("/", "")
	if text.status != http.StatusInternalServerError || !strings.HasPrefix(text.header.Get("Content-Type"), "text/plain") || !strings.Contains(text.body, "home.go:") {
		t.Errorf("a non-HTML request during a broken build: %d %s\n%s", text.status, text.header.Get("Content-Type"), text.body)
	}
	fixture.AssertGone(t, "the app of a broken build", second...)

	d.edit("home.go", "func home(((", "func home(")
	d.edit("home.go", "Hello v2", "Hello v3")
	d.waitFor("recovery after the fix", http.StatusOK, "Hello v3")
	third := fixture.PIDs(t, d.dir)

	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	fixture.AssertGone(t, "the app after the dev server stopped", third...)
	if _, err := http.Get(d.url + "/"); err == nil {
		t.Error("the dev server still answers after it stopped")
	}
}

type response struct {
	status int
	header http.Header
	body   string
}

// get requests path from the dev server; accept "" sends no Accept.
func (d *devApp) get(path, accept string) response {
	d.t.Helper()
	req, err := http.NewRequest(http.MethodGet, d.url+path, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{status: -1, body: err.Error()}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, string(b)}
}

// waitFor polls the home page as a browser until it answers status with
// want in the body (builds take seconds; the first one longer).
func (d *devApp) waitFor(step string, status int, want string) response {
	d.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last response
	for time.Now().Before(deadline) {
		last = d.get("/", "text/html,application/xhtml+xml,*/*;q=0.8")
		if last.status == status && strings.Contains(last.body, want) {
			return last
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.t.Fatalf("%s: GET / answers %d, want %d with %q:\n%s", step, last.status, status, want, last.body)
	return last
}

// edit replaces old with new in the app's file name.
func (d *devApp) edit(name, old, new string) {
	d.t.Helper()
	b, err := os.ReadFile(filepath.Join(d.dir, name))
	if err != nil {
		d.t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		d.t.Fatalf("%s does not contain %q", name, old)
	}
	write(d.t, d.dir, name, strings.Replace(string(b), old, new, 1))
}

func write(t testing.TB, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

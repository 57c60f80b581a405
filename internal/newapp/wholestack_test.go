package newapp

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trellis-go/trellis/trellistest"
)

// TestNewApp creates an app the way `trellis new` does (this test binary
// is a development build, so go.mod replaces Trellis with this checkout),
// then, in the app, runs go vet and the app's own test, builds the binary,
// serves it on a free port and drives register, the signed-in page, log
// out and log in over HTTP with the forms' CSRF fields.
func TestNewApp(t *testing.T) {
	if testing.Short() {
		t.Skip("creates and builds an app; skipped in -short mode")
	}
	dir := filepath.Join(t.TempDir(), "myapp")
	start := time.Now()
	var out bytes.Buffer
	if err := Create(context.Background(), Options{Dir: dir, Module: "example.com/myapp", Out: &out}); err != nil {
		t.Fatalf("Create: %v\n%s", err, out.String())
	}
	root, _ := filepath.Abs("../..")
	for _, want := range []string{"go.mod uses the Trellis checkout at " + root, "cd " + dir, "go run .", "go test ./..."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mod), "replace github.com/trellis-go/trellis => "+root+"\n") {
		t.Errorf("go.mod does not use the checkout %s:\n%s", root, mod)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.sum")); err != nil {
		t.Errorf("no go.sum: %v", err)
	}
	goCmd(t, dir, nil, "vet", "./...")
	if res := goCmd(t, dir, nil, "test", "-count=1", "./..."); !strings.Contains(res, "ok  \texample.com/myapp") {
		t.Fatalf("the app's test did not run:\n%s", res)
	}
	t.Logf("new, vet and test took %v", time.Since(start).Round(time.Millisecond))

	// The tools go.mod declares run, and templ itself generates what new did.
	views := filepath.Join(dir, "views")
	before := readGenerated(t, views)
	goCmd(t, dir, nil, "tool", "templ", "generate")
	if after := readGenerated(t, views); after != before {
		t.Errorf("go tool templ generate changed the code new generated")
	}
	if help := goCmd(t, dir, nil, "tool", "trellis", "--help"); !strings.Contains(help, "new") {
		t.Errorf("go tool trellis --help:\n%s", help)
	}

	bin := buildApp(t, dir)
	data := filepath.Join(t.TempDir(), "data")
	s := serveApp(t, dir, bin, "TRELLIS_APP_DATA_DIR="+data)
	driveAccounts(t, s)
	if _, err := os.Stat(filepath.Join(data, "app.db")); err != nil {
		t.Errorf("the app keeps no SQLite database in app.data_dir: %v", err)
	}
}

// TestNewAppPostgres creates a --db postgres app, vets it, runs its test
// with every service required, and serves its binary on a fresh PostgreSQL
// database.
func TestNewAppPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("creates and builds an app; skipped in -short mode")
	}
	dbURL := trellistest.PostgresURL(t) // skips, or fails under TRELLIS_REQUIRE_SERVICES=1, without PostgreSQL
	trellistest.RedisURL(t)             // the app's test runs on Redis too
	dir := filepath.Join(t.TempDir(), "pgapp")
	if err := Create(context.Background(), Options{Dir: dir, DB: "postgres"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "config", "trellis.toml"))
	if err != nil || !strings.Contains(string(cfg), `url = "postgres://localhost:5432/pgapp?sslmode=disable"`) {
		t.Fatalf("config/trellis.toml does not name the app's PostgreSQL database (%v):\n%s", err, cfg)
	}
	goCmd(t, dir, nil, "vet", "./...")
	res := goCmd(t, dir, []string{"TRELLIS_REQUIRE_SERVICES=1"}, "test", "-count=1", "-v", "./...")
	for _, b := range []string{"sqlite", "postgres", "redis"} {
		if !strings.Contains(res, "--- PASS: TestApp/"+b) {
			t.Errorf("the app's test did not pass on %s:\n%s", b, res)
		}
	}
	bin := buildApp(t, dir)
	s := serveApp(t, dir, bin, "TRELLIS_DATABASE_URL="+dbURL, "TRELLIS_APP_DATA_DIR="+t.TempDir())
	driveAccounts(t, s)
}

// readGenerated returns the generated templ code in dir, concatenated.
func readGenerated(t *testing.T, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_templ.go"))
	if err != nil || len(files) < 2 {
		t.Fatalf("generated templ code in %s: %v %v", dir, files, err)
	}
	var b strings.Builder
	for _, f := range files {
		c, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(f + "\n" + string(c))
	}
	return b.String()
}

// goEnv is the environment of the go commands run in an app: outside any
// workspace, with the default (shared, warm) caches, and without -mod=mod,
// so a go.mod or go.sum that new left incomplete fails the command.
var goEnv = append(os.Environ(), "GOFLAGS=", "GOWORK=off")

// goCmd runs the go command in dir and returns its output, failing the
// test on error.
func goCmd(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Env = dir, append(goEnv, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// buildApp builds the app in dir and returns the binary's path.
func buildApp(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "app")
	goCmd(t, dir, nil, "build", "-o", bin, ".")
	return bin
}

// serveApp starts the binary in dir on a free port and returns a
// browser-like client for it (through a loopback proxy, so it has
// trellistest's cookie jar and assertions). The app must stop cleanly on
// SIGTERM when the test ends.
func serveApp(t *testing.T, dir, bin string, env ...string) *trellistest.Server {
	t.Helper()
	addr := trellistest.FreeAddr(t)
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"TRELLIS_SERVER_ADDR=" + addr}, env...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
		}
		logs <- b.String()
	}()
	t.Cleanup(func() {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("stopping the app: %v", err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the app did not exit cleanly on SIGTERM: %v\n%s", err, <-logs)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("the app did not stop within 30s of SIGTERM")
		}
	})
	trellistest.WaitReady(t, "http://"+addr+"/health/ready", 30*time.Second)
	target := &url.URL{Scheme: "http", Host: addr}
	return trellistest.NewServer(t, httputil.NewSingleHostReverseProxy(target))
}

var csrfField = regexp.MustCompile(`<input type="hidden" name="csrf_token" value="([^"]+)">`)

// postPageForm submits a form of the page at page the way a browser
// without JavaScript does: with the CSRF field the page rendered.
func postPageForm(t *testing.T, s *trellistest.Server, page, action string, form url.Values) *trellistest.Response {
	t.Helper()
	res := s.Get(page).AssertStatus(http.StatusOK)
	m := csrfField.FindStringSubmatch(res.Body)
	if m == nil {
		t.Fatalf("GET %s has no CSRF field:\n%s", page, res.Body)
	}
	form.Set("csrf_token", m[1])
	return s.PostForm(action, form, trellistest.NoCSRF())
}

// driveAccounts registers, sees the signed-in home page, logs out with the
// header's form and logs in again.
func driveAccounts(t *testing.T, s *trellistest.Server) {
	t.Helper()
	s.Get("/").AssertStatus(http.StatusOK).AssertFullPage().AssertContains("<h1>Welcome</h1>").
		AssertContains(`<a href="/login">Log in</a>`).AssertContains(`<a href="/register">Register</a>`)
	css := s.Get("/static/app.css").AssertStatus(http.StatusOK)
	if !strings.Contains(css.Body, ".hero") {
		t.Errorf("static/app.css is not the app's stylesheet:\n%s", css.Body)
	}

	postPageForm(t, s, "/register", "/register", url.Values{
		"email": {"ann@example.com"}, "name": {"Ann"},
		"password": {"correct horse battery"}, "password_confirm": {"correct horse battery"},
	}).AssertRedirect("/")
	s.Get("/").AssertContains("<h1>Hello, Ann</h1>").AssertContains(`<a href="/account">Ann</a>`).AssertContains("Log out")

	postPageForm(t, s, "/", "/logout", url.Values{}).AssertRedirect("/")
	s.Get("/").AssertContains("<h1>Welcome</h1>").AssertContains("Log in")
	s.Get("/account").AssertRedirect("/login?next=%2Faccount")

	postPageForm(t, s, "/login", "/login", url.Values{"email": {"ann@example.com"}, "password": {"correct horse battery"}}).
		AssertStatus(http.StatusSeeOther)
	s.Get("/").AssertContains("<h1>Hello, Ann</h1>")
}

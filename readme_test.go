package trellis_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trellis-go/trellis/internal/apptest"
)

var (
	readmeFile   = regexp.MustCompile("(?s)<!-- file: (\\S+) -->\n```\\w*\n(.*?)\n```")
	readmeTempl  = regexp.MustCompile(`go get -tool github.com/a-h/templ/cmd/templ@(v[0-9.]+)`)
	goModTemplV  = regexp.MustCompile(`(?m)^\s*github.com/a-h/templ (v[0-9.]+)`)
	templVersion = func(t *testing.T) string {
		b, err := os.ReadFile("go.mod")
		if err != nil {
			t.Fatal(err)
		}
		m := goModTemplV.FindSubmatch(b)
		if m == nil {
			t.Fatal("go.mod does not require github.com/a-h/templ")
		}
		return string(m[1])
	}
)

// TestReadmeStartYourOwnApp follows the README's "Start your own app" in a
// fresh module: the files it shows, the commands it lists (with the module
// pointing at this checkout instead of a release), the app's own test, and
// the built binary serving a page and stopping on SIGTERM.
func TestReadmeStartYourOwnApp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a fresh module; skipped in -short mode")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	files := readmeFile.FindAllSubmatch(readme, -1)
	if len(files) < 5 {
		t.Fatalf("README shows %d files for the new app, want main.go, views, two migrations and a test", len(files))
	}
	m := readmeTempl.FindSubmatch(readme)
	if m == nil {
		t.Fatal("README does not say how to add templ as a tool")
	}
	if want := templVersion(t); string(m[1]) != want {
		t.Fatalf("README adds templ %s, Trellis is built with %s: generated code must match the runtime", m[1], want)
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(string(f[1])))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, append(f[2], '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOSUMDB=off", "GOWORK=off")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("go", "mod", "init", "example.com/myapp")
	run("go", "mod", "edit", "-require=github.com/trellis-go/trellis@v0.0.0", "-replace=github.com/trellis-go/trellis="+root)
	run("go", "get", "-tool", "github.com/a-h/templ/cmd/templ@"+string(m[1]))
	run("go", "tool", "templ", "generate")
	run("go", "mod", "tidy")
	run("go", "vet", "./...")
	if out := run("go", "test", "-count=1", "./..."); !strings.Contains(out, "ok  \texample.com/myapp") {
		t.Fatalf("the app's test did not run:\n%s", out)
	}
	run("go", "build", "-o", "myapp", ".")
	// Test-only dependencies never link into an app.
	if deps := run("go", "version", "-m", "myapp"); strings.Contains(deps, "chromedp") || strings.Contains(deps, "backlite") {
		t.Errorf("the app binary links test-only modules:\n%s", deps)
	}

	// Served on a free port; it must stop cleanly on SIGTERM when the test ends.
	s := apptest.Serve(t, dir, filepath.Join(dir, "myapp"), "TRELLIS_APP_DATA_DIR="+filepath.Join(dir, "data"), "TRELLIS_APP_NAME=My app")
	res := s.Get("/").AssertStatus(http.StatusOK).AssertContains("<h1>Greetings</h1>").AssertContains("· My app</title>")
	if got := res.Header.Get("X-Powered-By"); got != "myapp" {
		t.Errorf("GET /: X-Powered-By %q, want myapp", got)
	}
}

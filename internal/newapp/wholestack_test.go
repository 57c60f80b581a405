package newapp

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis/internal/apptest"
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
	apptest.Go(t, dir, nil, "vet", "./...")
	if res := apptest.Go(t, dir, nil, "test", "-count=1", "./..."); !strings.Contains(res, "ok  \texample.com/myapp") {
		t.Fatalf("the app's test did not run:\n%s", res)
	}
	t.Logf("new, vet and test took %v", time.Since(start).Round(time.Millisecond))

	// The tools go.mod declares run, and templ itself generates what new did.
	views := filepath.Join(dir, "views")
	before := readGenerated(t, views)
	apptest.Go(t, dir, nil, "tool", "templ", "generate")
	if after := readGenerated(t, views); after != before {
		t.Errorf("go tool templ generate changed the code new generated")
	}
	if help := apptest.Go(t, dir, nil, "tool", "trellis", "--help"); !strings.Contains(help, "new") {
		t.Errorf("go tool trellis --help:\n%s", help)
	}

	bin := apptest.Build(t, dir)
	data := filepath.Join(t.TempDir(), "data")
	s := apptest.Serve(t, dir, bin, "TRELLIS_APP_DATA_DIR="+data)
	driveAccounts(t, s)
	if _, err := os.Stat(filepath.Join(data, "app.db")); err != nil {
		t.Errorf("the app keeps no SQLite database in app.data_dir: %v", err)
	}
	checkDeploy(t, dir)
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

package generate

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trellis-go/trellis/internal/apptest"
	"github.com/trellis-go/trellis/internal/newapp"
	"github.com/trellis-go/trellis/trellistest"
)

// TestNewScaffoldServe is the whole path a user takes, on SQLite and on
// PostgreSQL: `trellis new --db …`, then `go tool trellis generate` in the
// app (scaffolds, a job, a migration), go vet and the app's generated tests
// (on every backend; PostgreSQL and Redis are required under
// TRELLIS_REQUIRE_SERVICES=1), then the built app serving the scaffolded
// resources over HTTP, and its own routes, db status and jobs stats.
func TestNewScaffoldServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs generated apps; skipped in -short mode")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			serveEnv := []string{"TRELLIS_APP_DATA_DIR=" + t.TempDir()}
			if dialect == "postgres" {
				serveEnv = append(serveEnv, "TRELLIS_DATABASE_URL="+trellistest.PostgresURL(t))
			}
			dir := filepath.Join(t.TempDir(), "shop")
			if err := newapp.Create(context.Background(), newapp.Options{Dir: dir, Module: "example.com/shop", DB: dialect, TrellisDir: root}); err != nil {
				t.Fatal(err)
			}
			gen := func(args ...string) string {
				t.Helper()
				return apptest.Go(t, dir, nil, append([]string{"tool", "trellis", "generate"}, args...)...)
			}
			gen("scaffold", "Product", "name:string", "price:int", "notes:text", "in_stock:bool", "released:date")
			gen("scaffold", "Event", "title:string", "starts_at:datetime", "score:float", "--public")
			tests := []string{"TestProductsCreateShowAndEdit", "TestProductsListAndPages", "TestProductsDeleteAndOwnership",
				"TestEventsCreateShowAndEdit", "TestEventsListAndPages", "TestEventsDeleteAndOwnership"}
			if dialect == "sqlite" {
				// The other shapes of resource, a job and a migration, once.
				gen("scaffold", "reading", "value:float", "taken_on:date", "note:string?") // no required string: "Reading 12"
				gen("scaffold", "delivery_window", "active:bool")                          // nothing to search or keep; not *_windows.go
				gen("scaffold", "Upload", "body:text", "--public")                         // searched by a field the list hides
				gen("job", "send_report")
				if out := gen("migration", "add_index"); !strings.Contains(out, "created migrations/sqlite/00006_add_index.sql") {
					t.Errorf("migration numbering: %s", out)
				}
				tests = append(tests, "TestReadingsCreateShowAndEdit", "TestReadingsListAndPages", "TestReadingsDeleteAndOwnership",
					"TestDeliveryWindowsCreateShowAndEdit", "TestDeliveryWindowsListAndPages", "TestDeliveryWindowsDeleteAndOwnership",
					"TestUploadsCreateShowAndEdit", "TestUploadsListAndPages", "TestUploadsDeleteAndOwnership", "TestSendReportJob")
			}
			apptest.Go(t, dir, nil, "vet", "./...")
			// templ fmt and templ generate leave the views as written.
			views := snapshot(t, dir)
			apptest.Go(t, dir, nil, "tool", "templ", "fmt", ".")
			apptest.Go(t, dir, nil, "tool", "templ", "generate")
			for path, content := range snapshot(t, dir) {
				if views[path] != content {
					t.Errorf("templ fmt or generate changed %s", path)
				}
			}
			// Far from UTC, so a date or time read back in local time shows.
			out := apptest.Go(t, dir, []string{"TZ=Pacific/Auckland"}, "test", "-count=1", "-v", "./...")
			for _, test := range append(tests, "TestApp") {
				for _, backend := range []string{"sqlite", "postgres", "redis"} {
					if !strings.Contains(out, "--- PASS: "+test+"/"+backend) && !strings.Contains(out, "--- SKIP: "+test+"/"+backend) {
						t.Errorf("%s/%s did not pass", test, backend)
					}
				}
			}
			if os.Getenv("TRELLIS_REQUIRE_SERVICES") == "1" && strings.Contains(out, "--- SKIP") {
				t.Errorf("tests skipped although services are required:\n%s", out)
			}

			bin := apptest.Build(t, dir)
			driveProducts(t, apptest.Serve(t, dir, bin, serveEnv...))
			cmd := func(args ...string) string {
				t.Helper()
				return apptest.Run(t, dir, serveEnv, bin, args...)
			}
			routes := cmd("routes")
			for _, want := range []*regexp.Regexp{
				regexp.MustCompile(`(?m)^PUT\s+/products/\{id\}\s+\S+\s+user$`),
				regexp.MustCompile(`(?m)^GET\s+/events\s+\S+\s+-$`),
				regexp.MustCompile(`(?m)^POST\s+/events\s+\S+\s+user$`),
			} {
				if !want.MatchString(routes) {
					t.Errorf("routes has no line matching %s:\n%s", want, routes)
				}
			}
			if status := cmd("db", "status"); !strings.Contains(status, "create_products") || !strings.Contains(status, "create_events") {
				t.Errorf("db status:\n%s", status)
			}
			var stats map[string]any
			if err := json.Unmarshal([]byte(cmd("jobs", "stats", "--json")), &stats); err != nil || stats["total_enqueued"] == nil {
				t.Errorf("jobs stats --json: %v %v", stats, err)
			}
		})
	}
}

// driveProducts uses the scaffolded products and events over HTTP the way
// browsers and htmx do.
func driveProducts(t *testing.T, alice *trellistest.Server) {
	register(t, alice, "alice@example.com")
	bob := alice.AsNewVisitor()
	register(t, bob, "bob@example.com")

	alice.Get("/products").AssertStatus(http.StatusOK).AssertFullPage()
	alice.Get("/products/new").AssertStatus(http.StatusOK).AssertContains(`name="price"`)
	alice.PostForm("/products", url.Values{"name": {""}, "price": {"12"}, "notes": {"kept <text>"}, "released": {"2026-11-28"}}).
		AssertStatus(http.StatusUnprocessableEntity).AssertContains("kept &lt;text&gt;")
	created := alice.PostForm("/products", url.Values{"name": {"Teapot"}, "price": {"12"}, "notes": {"green"}, "in_stock": {"on"}, "released": {"2026-11-28"}})
	created.AssertStatus(http.StatusSeeOther)
	loc := created.Header.Get("Location")
	if !regexp.MustCompile(`^/products/\d+$`).MatchString(loc) {
		t.Fatalf("create redirected to %q", loc)
	}
	alice.PostForm("/products", url.Values{"name": {"Kettle"}, "price": {"30"}, "released": {"2026-01-02"}}).AssertStatus(http.StatusSeeOther)
	alice.Get(loc).AssertStatus(http.StatusOK).AssertContains("Teapot").AssertContains("green").AssertContains("28 Nov 2026")
	alice.Get("/products").AssertContains("Teapot").AssertContains("Kettle")
	search := alice.Get("/products?q=teap", trellistest.HTMX(""))
	search.AssertFragment().AssertContains("Teapot")
	if strings.Contains(search.Body, "Kettle") {
		t.Errorf("a search for teap lists Kettle:\n%s", search.Body)
	}
	alice.Get(loc + "/edit").AssertStatus(http.StatusOK).AssertContains(`value="Teapot"`)
	alice.Do(http.MethodPut, loc, strings.NewReader(url.Values{"name": {"Big teapot"}, "price": {"14"}, "released": {"2026-11-28"}}.Encode()),
		trellistest.Header("Content-Type", "application/x-www-form-urlencoded")).AssertRedirect(loc)
	alice.Get(loc).AssertContains("Big teapot")

	bob.Get(loc).AssertStatus(http.StatusNotFound)
	bob.Get(loc + "/edit").AssertStatus(http.StatusNotFound)
	bob.Do(http.MethodDelete, loc, nil).AssertStatus(http.StatusNotFound)
	if list := bob.Get("/products").AssertStatus(http.StatusOK); strings.Contains(list.Body, "teapot") {
		t.Error("bob's list shows alice's product")
	}
	anon := alice.AsNewVisitor()
	anon.Get("/products").AssertRedirect("/login?next=%2Fproducts")
	alice.PostForm("/events", url.Values{"title": {"Launch"}, "starts_at": {"2026-12-01T10:30"}, "score": {"4.5"}}).AssertStatus(http.StatusSeeOther)
	anon.Get("/events").AssertStatus(http.StatusOK).AssertContains("Launch")

	alice.Do(http.MethodDelete, loc, nil).AssertRedirect("/products")
	alice.Get(loc).AssertStatus(http.StatusNotFound)
}

func register(t *testing.T, s *trellistest.Server, email string) {
	t.Helper()
	s.PostForm("/register", url.Values{"email": {email}, "password": {"correct horse battery"}, "password_confirm": {"correct horse battery"}}).
		AssertStatus(http.StatusSeeOther)
}

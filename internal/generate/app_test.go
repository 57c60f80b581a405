package generate

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestGeneratedAppBuildsAndPasses is the whole stack: in a fresh app,
// `go tool trellis generate` scaffolds an owned and a public resource, a
// job and a migration; the app then vets and its generated tests pass on
// every backend (PostgreSQL and Redis are required under
// TRELLIS_REQUIRE_SERVICES=1, as in this module).
func TestGeneratedAppBuildsAndPasses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a generated app; skipped in -short mode")
	}
	dir := newSkeleton(t)
	// The module cache and build cache are the shared ones, so builds
	// are warm; go.sum is written once by tidy, then go.mod stays as is.
	env := append(os.Environ(), "GOSUMDB=off", "GOWORK=off", "GOFLAGS=-mod=mod")
	run := func(args ...string) string {
		t.Helper()
		start := time.Now()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		t.Logf("%s: %.1fs", strings.Join(args, " "), time.Since(start).Seconds())
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("go", "mod", "tidy")
	env = append(env, "GOFLAGS=-mod=readonly") // generated code needs no new requirement
	run("go", "tool", "trellis", "generate", "scaffold", "Product", "name:string", "price:int", "notes:text", "in_stock:bool", "released:date")
	run("go", "tool", "trellis", "generate", "scaffold", "Event", "title:string", "starts_at:datetime", "score:float", "--public")
	// No required string field: records are named "Reading 12".
	run("go", "tool", "trellis", "generate", "scaffold", "reading", "value:float", "taken_on:date", "note:string?")
	// One checkbox: nothing to search or to keep in a form.
	run("go", "tool", "trellis", "generate", "scaffold", "flag", "active:bool")
	// Searched by a text field that the list does not show.
	run("go", "tool", "trellis", "generate", "scaffold", "Memo", "body:text", "--public")
	run("go", "tool", "trellis", "generate", "job", "send_report")
	if out := run("go", "tool", "trellis", "generate", "migration", "add_index"); !strings.Contains(out, "created migrations/sqlite/00006_add_index.sql") {
		t.Errorf("migration numbering: %s", out)
	}
	run("go", "build", "./...")
	run("go", "vet", "./...")
	// templ fmt and templ generate leave the views as written.
	views := snapshot(t, dir)
	run("go", "tool", "templ", "fmt", ".")
	run("go", "tool", "templ", "generate")
	for path, content := range snapshot(t, dir) {
		if views[path] != content {
			t.Errorf("templ fmt or generate changed %s", path)
		}
	}
	// Far from UTC, so a date or time read back in local time shows.
	env = append(env, "TZ=Pacific/Auckland")
	out := run("go", "test", "-count=1", "-v", "./...")
	for _, test := range []string{"TestProductsCreateShowAndEdit", "TestProductsListAndPages", "TestProductsDeleteAndOwnership",
		"TestEventsCreateShowAndEdit", "TestEventsListAndPages", "TestEventsDeleteAndOwnership",
		"TestReadingsCreateShowAndEdit", "TestReadingsListAndPages", "TestReadingsDeleteAndOwnership",
		"TestFlagsCreateShowAndEdit", "TestFlagsListAndPages", "TestFlagsDeleteAndOwnership",
		"TestMemosCreateShowAndEdit", "TestMemosListAndPages", "TestMemosDeleteAndOwnership", "TestSendReportJob"} {
		for _, backend := range []string{"sqlite", "postgres", "redis"} {
			if !strings.Contains(out, "--- PASS: "+test+"/"+backend) && !strings.Contains(out, "--- SKIP: "+test+"/"+backend) {
				t.Errorf("%s/%s did not pass", test, backend)
			}
		}
	}
	if os.Getenv("TRELLIS_REQUIRE_SERVICES") == "1" && strings.Contains(out, "--- SKIP") {
		t.Errorf("tests skipped although services are required:\n%s", out)
	}
}

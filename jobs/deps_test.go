package jobs_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoHTTPDependencies keeps the engine free of the HTTP layer: the
// admin API and dashboard live in jobs/admin, and jobs must not import
// them or any of Trellis's HTTP packages (or a router).
func TestNoHTTPDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/trellis-go/trellis/jobs").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		deps[p] = true
	}
	if !deps["github.com/riverqueue/river"] {
		t.Fatalf("go list printed no sensible dependency list:\n%s", out)
	}
	const mod = "github.com/trellis-go/trellis"
	for _, forbidden := range []string{
		mod, mod + "/render", mod + "/session", mod + "/form", mod + "/htmx", mod + "/middleware",
		mod + "/csrf", mod + "/auth", mod + "/ui", mod + "/jobs/admin", "github.com/go-chi/chi/v5",
		"github.com/a-h/templ",
	} {
		if deps[forbidden] {
			t.Errorf("package jobs depends on %s; HTTP belongs in jobs/admin", forbidden)
		}
	}
}

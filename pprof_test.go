package trellis_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/trellistest"
)

// TestProfilingForAdminsOnly: Go's profiles are served under
// /admin/pprof to admins, refused to visitors and signed-in users, and
// bad parameters get a 400.
func TestProfilingForAdminsOnly(t *testing.T) {
	a := trellistest.NewApp(t, nil, trellistest.Configure(func(c *config.Config) { c.RateLimit.Enabled = false }))
	a.CreateUser("admin@example.com", "admin password", "admin")
	a.CreateUser("user@example.com", "user password")

	if res := a.Get("/admin/pprof/heap?debug=1"); res.StatusCode == http.StatusOK || strings.Contains(res.Body, "heap profile") {
		t.Fatalf("anonymous visitor got %d: %.200s", res.StatusCode, res.Body)
	}
	user := a.AsNewVisitor()
	user.SignIn("user@example.com", "user password")
	if res := user.Get("/admin/pprof/goroutine?debug=1"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("non-admin got %d, want 403", res.StatusCode)
	}

	a.SignIn("admin@example.com", "admin password")
	a.Get("/admin/pprof/").AssertStatus(http.StatusOK).AssertContains(`href="goroutine?debug=1"`)
	a.Get("/admin/pprof/heap?debug=1").AssertStatus(http.StatusOK).AssertContains("heap profile")
	a.Get("/admin/pprof/goroutine?debug=2").AssertStatus(http.StatusOK).AssertContains("goroutine")
	if res := a.Get("/admin/pprof/profile?seconds=1").AssertStatus(http.StatusOK); len(res.Body) == 0 || res.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("CPU profile: %d bytes, Content-Type %q", len(res.Body), res.Header.Get("Content-Type"))
	}
	a.Get("/admin/pprof/heap?debug=9").AssertStatus(http.StatusBadRequest)
	a.Get("/admin/pprof/profile?seconds=600").AssertStatus(http.StatusBadRequest)
	a.Get("/admin/pprof/heap?seconds=600").AssertStatus(http.StatusBadRequest) // a delta profile keeps to the limit too
	a.Get("/admin/pprof/nosuch").AssertStatus(http.StatusNotFound)
}

// TestProfilingCanMove: the profiles follow MountAt and disappear with
// Without.
func TestProfilingCanMove(t *testing.T) {
	a := trellistest.NewApp(t, nil, trellistest.Options(trellis.MountAt(trellis.Profiling, "/ops/pprof")))
	a.CreateUser("admin@example.com", "admin password", "admin")
	a.SignIn("admin@example.com", "admin password")
	a.Get("/ops/pprof/heap?debug=1").AssertStatus(http.StatusOK)
	a.Get("/admin/pprof/heap?debug=1").AssertStatus(http.StatusNotFound)

	b := trellistest.NewApp(t, nil, trellistest.Options(trellis.Without(trellis.Profiling)))
	b.CreateUser("admin@example.com", "admin password", "admin")
	b.SignIn("admin@example.com", "admin password")
	b.Get("/admin/pprof/heap?debug=1").AssertStatus(http.StatusNotFound)
}

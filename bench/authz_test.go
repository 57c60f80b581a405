package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/authz"
	"github.com/trellis-go/trellis/trellistest"
)

// demoPolicies are the demo app's policies and schema.
var demoPolicies = os.DirFS("../examples/demo/policies")

// note is a note resource owned by user 1, as the demo builds it.
func note() authz.Resource {
	return authz.Resource{Type: "Note", ID: "42", Attrs: map[string]any{"owner": authz.User(1)}}
}

// benchDecide measures one decision with the demo's policies.
func benchDecide(b *testing.B, a *authz.Authorizer, u *auth.User, action string, want bool) {
	ctx := context.Background()
	res := note()
	b.ReportAllocs()
	for b.Loop() {
		if a.DecideFor(ctx, u, action, res).Allowed != want {
			b.Fatalf("%s: allowed != %v", action, want)
		}
	}
}

// BenchmarkDecide is the cost of one authorization with the demo's
// policy set: an owner allowed, another user denied, an admin allowed.
func BenchmarkDecide(b *testing.B) {
	a, err := authz.New(authz.Options{FS: demoPolicies})
	if err != nil {
		b.Fatal(err)
	}
	owner := &auth.User{ID: 1}
	other := &auth.User{ID: 2}
	admin := &auth.User{ID: 3, Roles: []string{auth.RoleAdmin}}
	b.Run("owner-edit-allow", func(b *testing.B) { benchDecide(b, a, owner, "note.edit", true) })
	b.Run("other-edit-deny", func(b *testing.B) { benchDecide(b, a, other, "note.edit", false) })
	b.Run("admin-delete-allow", func(b *testing.B) { benchDecide(b, a, admin, "note.delete", true) })
}

// policyApp is an app with the demo's policies and a signed-in owner: GET
// /guarded/42 goes through authz.Require("note.edit"), GET /plain/42 loads
// the same resource and skips authorization. Both pay for the session and
// the user lookup, so their difference is what authorization adds.
func policyApp(t testing.TB) (http.Handler, []*http.Cookie) {
	app := trellistest.NewApp(t, nil, trellistest.Options(trellis.WithPolicies(demoPolicies)))
	app.CreateUser("owner@example.com", "owner password")
	u, err := app.App.Auth.Users.ByEmail(context.Background(), "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	load := func(*http.Request) (authz.Resource, error) {
		return authz.Resource{Type: "Note", ID: "42", Attrs: map[string]any{"owner": authz.User(u.ID)}}, nil
	}
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("note")) }
	app.App.With(app.App.Authz.Require("note.edit", load)).Get("/guarded/{id}", ok)
	app.App.Get("/plain/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := load(r); err != nil {
			t.Error(err)
		}
		ok(w, r)
	})
	app.SignIn("owner@example.com", "owner password")
	base, _ := url.Parse(app.URL)
	cookies := app.Client.Jar.Cookies(base)
	for _, path := range []string{"/plain/42", "/guarded/42"} {
		req := httptest.NewRequest("GET", path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		w := httptest.NewRecorder()
		app.App.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d, want 200", path, w.Code)
		}
	}
	return app.App, cookies
}

func benchRequest(b *testing.B, h http.Handler, cookies []*http.Cookie, path string) {
	base := httptest.NewRequest("GET", path, nil)
	for _, c := range cookies {
		base.AddCookie(c)
	}
	base.Header.Set("Accept", "text/html")
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{h: make(http.Header)}
		h.ServeHTTP(w, base.Clone(context.Background()))
		if w.status != http.StatusOK {
			b.Fatalf("%s: status %d", path, w.status)
		}
	}
}

// TestReportAuthz prints the cost of authorization: one decision with the
// demo's policies, and a signed-in request with and without the guard.
func TestReportAuthz(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	a, err := authz.New(authz.Options{FS: demoPolicies})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("authorization with the demo's policies (in-process; CPU is the process's user+system")
	fmt.Println("time per decision, less distorted by other load than wall time, but including GC):")
	for _, c := range []struct {
		name   string
		u      *auth.User
		action string
		want   bool
	}{
		{"owner edits (allow)", &auth.User{ID: 1}, "note.edit", true},
		{"other edits (deny)", &auth.User{ID: 2}, "note.edit", false},
		{"admin deletes (allow)", &auth.User{ID: 3, Roles: []string{auth.RoleAdmin}}, "note.delete", true},
	} {
		r := testing.Benchmark(func(b *testing.B) { benchDecide(b, a, c.u, c.action, c.want) })
		const n = 20000
		res, ctx := note(), context.Background()
		cpu0 := cpuTime()
		for range n {
			a.DecideFor(ctx, c.u, c.action, res)
		}
		cpu := float64(cpuTime()-cpu0) / n
		fmt.Printf("  decision: %-22s %7.0f ns wall  %6.0f ns CPU  %3d allocs\n", c.name, float64(r.NsPerOp()), cpu, r.AllocsPerOp())
	}
	h, cookies := policyApp(t)
	plain := testing.Benchmark(func(b *testing.B) { benchRequest(b, h, cookies, "/plain/42") })
	guarded := testing.Benchmark(func(b *testing.B) { benchRequest(b, h, cookies, "/guarded/42") })
	p, g := float64(plain.NsPerOp()), float64(guarded.NsPerOp())
	fmt.Printf("  signed-in request, no authz   %8.0f ns  %4d allocs\n", p, plain.AllocsPerOp())
	fmt.Printf("  signed-in request, guarded    %8.0f ns  %4d allocs\n", g, guarded.AllocsPerOp())
	fmt.Printf("  added by authorization        %8.0f ns  (%.3fx; goal ≤ 20000 ns)\n", g-p, g/p)
}

// cpuTime is the CPU time (user plus system) the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

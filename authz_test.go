package trellis_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/authz"
	"github.com/trellis-go/trellis/cli"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/trellistest"
)

// docSchema is the schema of the policy tests: documents with an owner
// and a size, and the built-in admin actions on the site.
const docSchema = `entity User { roles: Set<String>, verified: Bool };
entity Anonymous;
entity Site;
entity Doc { owner: User, size: Long };
action "doc.read" appliesTo { principal: [User, Anonymous], resource: Doc };
action "jobs.admin", "roles.admin" appliesTo { principal: [User, Anonymous], resource: Site };
`

// docPolicies let owners read their documents and admins into the admin
// sets. "overflow" errors for a size of 2 or more: Cedar alone would
// skip it and let "owner" allow; Trellis must deny.
const docPolicies = `@id("owner")
permit (principal is User, action == Action::"doc.read", resource is Doc) when { resource.owner == principal };
@id("overflow")
permit (principal, action == Action::"doc.read", resource is Doc) when { resource.size * 9223372036854775807 < 0 };
@id("admin")
permit (principal is User, action in [Action::"jobs.admin", Action::"roles.admin"], resource is Site) when { principal.roles.contains("admin") };
`

func policyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writePolicy(t, dir, "schema.cedarschema", docSchema)
	writePolicy(t, dir, "docs.cedar", docPolicies)
	return dir
}

func writePolicy(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// docRoutes guards GET /docs/{id}; the id picks how loading goes.
func docRoutes(app *trellis.App) {
	load := func(r *http.Request) (authz.Resource, error) {
		owner, _ := strconv.ParseInt(r.URL.Query().Get("owner"), 10, 64)
		res := authz.Resource{Type: "Doc", ID: r.PathValue("id"), Attrs: map[string]any{"owner": authz.User(owner), "size": 1}}
		switch r.PathValue("id") {
		case "missing":
			return res, authz.ErrNotFound
		case "panic":
			panic("loading exploded")
		case "broken":
			res.Attrs["owner"] = "not a user"
		case "overflow":
			res.Attrs["size"] = 2
		case "down":
			return res, errors.New("database unreachable")
		}
		return res, nil
	}
	app.With(app.Authz.Require("doc.read", load)).Get("/docs/{id}", func(w http.ResponseWriter, r *http.Request) {
		res, _ := authz.Loaded(r.Context())
		_, _ = w.Write([]byte("document " + res.ID))
	})
	app.Get("/can/{id}", func(w http.ResponseWriter, r *http.Request) {
		owner, _ := strconv.ParseInt(r.URL.Query().Get("owner"), 10, 64)
		res := authz.Resource{Type: "Doc", ID: r.PathValue("id"), Attrs: map[string]any{"owner": authz.User(owner), "size": 1}}
		_, _ = w.Write([]byte(strconv.FormatBool(authz.Can(r.Context(), "doc.read", res))))
	})
}

func userID(t *testing.T, app *trellistest.App, email string) int64 {
	t.Helper()
	u, err := app.App.Auth.Users.ByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestPolicyGuardFailsClosed(t *testing.T) {
	trellistest.ForEachBackend(t, func(t *testing.T, b trellistest.Backend) {
		app := trellistest.NewApp(t, nil, trellistest.OnBackend(b), trellistest.Options(trellis.WithPolicyDir(policyDir(t))))
		docRoutes(app.App)
		app.CreateUser("owner@example.com", "owner password")
		app.CreateUser("other@example.com", "other password")
		owner := app.AsNewVisitor()
		owner.SignIn("owner@example.com", "owner password")
		other := app.AsNewVisitor()
		other.SignIn("other@example.com", "other password")
		mine := "?owner=" + strconv.FormatInt(userID(t, app, "owner@example.com"), 10)

		owner.Get("/docs/1" + mine).AssertStatus(200).AssertContains("document 1")
		owner.Get("/can/1" + mine).AssertStatus(200).AssertContains("true")
		other.Get("/can/1" + mine).AssertStatus(200).AssertContains("false")
		res := other.Get("/docs/1" + mine).AssertStatus(http.StatusForbidden).AssertFullPage().AssertContains("not allowed")
		for _, leak := range []string{"owner", "permit", "doc.read"} {
			if strings.Contains(res.Body, `"`+leak) || strings.Contains(res.Body, leak+`"`) || strings.Contains(res.Body, "Action::") {
				t.Errorf("403 page leaks %q", leak)
			}
		}
		other.Get("/docs/1"+mine, trellistest.HTMX("main")).AssertStatus(http.StatusForbidden).AssertFragment().AssertRetarget("#trellis-error")
		if res := app.AsNewVisitor().Get("/docs/1" + mine); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?next=") {
			t.Errorf("anonymous: %d %q, want a sign-in redirect", res.StatusCode, res.Header.Get("Location"))
		}
		owner.Get("/docs/missing" + mine).AssertStatus(http.StatusNotFound)
		owner.Get("/docs/down" + mine).AssertStatus(http.StatusInternalServerError)

		// The owner would be allowed; each failure denies instead.
		for id, logged := range map[string]string{"panic": "loading exploded", "broken": "does not match the schema", "overflow": "overflow"} {
			res := owner.Get("/docs/" + id + mine)
			if res.StatusCode != http.StatusForbidden || strings.Contains(res.Body, "document") || !strings.Contains(res.Body, "not allowed") {
				t.Errorf("%s: %d %.200s, want 403", id, res.StatusCode, res.Body)
			}
			if !strings.Contains(app.Logs.String(), logged) {
				t.Errorf("%s: the denial is not logged (want %q)", id, logged)
			}
		}

		// The decisions are counted.
		metrics := app.AsNewVisitor().Get("/metrics").AssertStatus(200)
		for _, want := range []string{
			`trellis_authz_decisions_total{action="doc.read",decision="allow"}`,
			`trellis_authz_decisions_total{action="doc.read",decision="deny"}`,
			`trellis_authz_decisions_total{action="doc.read",decision="error"} 3`,
		} {
			if !strings.Contains(metrics.Body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

func TestPolicyRoutesListTheirAction(t *testing.T) {
	app := trellistest.NewApp(t, nil, trellistest.Options(trellis.WithPolicyDir(policyDir(t))))
	docRoutes(app.App)
	routes, err := cli.Routes(app.App)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"/docs/{id}": "policy:doc.read", "/admin/jobs": "policy:jobs.admin",
		"/admin/users/{id}/roles/": "policy:roles.admin", "/admin/policies/reload": "role:admin"}
	for _, r := range routes {
		if req, ok := want[r.Path]; ok {
			if r.Requires != req {
				t.Errorf("%s %s requires %q, want %q", r.Method, r.Path, r.Requires, req)
			}
			delete(want, r.Path)
		}
	}
	if len(want) > 0 {
		t.Errorf("routes not listed: %v", want)
	}
}

func TestPolicyReloadEndpoint(t *testing.T) {
	trellistest.ForEachBackend(t, func(t *testing.T, b trellistest.Backend) {
		dir := policyDir(t)
		app := trellistest.NewApp(t, nil, trellistest.OnBackend(b), trellistest.Options(trellis.WithPolicyDir(dir)))
		docRoutes(app.App)
		app.CreateUser("admin@example.com", "admin password", auth.RoleAdmin)
		app.CreateUser("user@example.com", "user password")
		admin := app.AsNewVisitor()
		admin.SignIn("admin@example.com", "admin password")
		user := app.AsNewVisitor()
		user.SignIn("user@example.com", "user password")
		json := trellistest.Header("Accept", "application/json")

		user.PostForm("/admin/policies/reload", nil, json).AssertStatus(http.StatusForbidden)
		app.AsNewVisitor().PostForm("/admin/policies/reload", nil).AssertStatus(http.StatusSeeOther)
		admin.Do("POST", "/admin/policies/reload", nil, trellistest.NoCSRF()).AssertStatus(http.StatusForbidden)
		admin.PostForm("/admin/policies/reload", nil, json).AssertStatus(200).AssertContains(`"policies":3`)

		// Anyone may read document 7 after this edit — but it is broken,
		// so the reload is refused and the old rules keep serving.
		writePolicy(t, dir, "open.cedar", `permit (principal, action == Action::"doc.read", resource) when { resource.colour == "red" };`)
		res := admin.PostForm("/admin/policies/reload", nil, json).AssertStatus(http.StatusUnprocessableEntity)
		res.AssertContains(filepath.Join(dir, "open.cedar") + ":1").AssertContains("keep serving")
		user.Get("/docs/7?owner=999").AssertStatus(http.StatusForbidden)

		writePolicy(t, dir, "open.cedar", `permit (principal, action == Action::"doc.read", resource);`)
		admin.PostForm("/admin/policies/reload", nil, json).AssertStatus(200).AssertContains(`"policies":4`)
		user.Get("/docs/7?owner=999").AssertStatus(200)
	})
}

func TestPolicyDirReloadsOnChangeInDevelopment(t *testing.T) {
	dir := policyDir(t)
	app := trellistest.NewApp(t, nil, trellistest.Options(trellis.WithPolicyDir(dir)),
		trellistest.Configure(func(c *config.Config) { c.Profile = config.Development }))
	docRoutes(app.App)
	open := func() bool { return app.AsNewVisitor().Get("/can/1?owner=5").Body == "true" }
	if open() {
		t.Fatal("anonymous may read before the change")
	}
	writePolicy(t, dir, "docs.cedar", docPolicies+"\npermit (principal, action == Action::\"doc.read\", resource);")
	deadline := time.Now().Add(10 * time.Second)
	for !open() {
		if time.Now().After(deadline) {
			t.Fatal("the changed policy file was not reloaded")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A broken edit is refused; the last good set keeps serving.
	writePolicy(t, dir, "docs.cedar", "permit (principal, action, resource")
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(app.Logs.String(), "policy reload refused") {
		if time.Now().After(deadline) {
			t.Fatal("the broken edit was not reported")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !open() {
		t.Fatal("after a refused reload the last good policies no longer serve")
	}
}

func TestBadPoliciesStopStartUp(t *testing.T) {
	cases := map[string]struct {
		files map[string]string
		want  []string
	}{
		"syntax": {map[string]string{"schema.cedarschema": docSchema, "docs.cedar": docPolicies + "\n\nforbid (principal, action, resource) when { principal. };"},
			[]string{"policies/docs.cedar:9: the policy does not parse", "(fix: "}},
		"unknown attribute": {map[string]string{"schema.cedarschema": docSchema, "docs.cedar": `permit (principal, action == Action::"doc.read", resource) when { resource.colour == "red" };`},
			[]string{"policies/docs.cedar:1:", "colour", "(fix: make the policy agree with the schema"}},
		"built-in action undeclared": {map[string]string{"schema.cedarschema": strings.Replace(docSchema, `"jobs.admin", `, "", 1), "docs.cedar": `permit (principal, action == Action::"doc.read", resource);`},
			[]string{`declares no action "jobs.admin"`, "trellis.Without(trellis.JobsAdmin)"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for f, text := range c.files {
				fsys[f] = &fstest.MapFile{Data: []byte(text)}
			}
			cfg := trellistest.Config(t)
			app, err := trellis.New(context.Background(), cfg, trellis.WithPolicies(fsys), trellis.WithLogOutput(&trellistest.Logs{}))
			if err == nil {
				_ = app.Close(context.Background())
				t.Fatal("New accepted bad policies")
			}
			if !config.IsConfigError(err) {
				t.Errorf("%v is not a configuration error (exit 2)", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	// Leaving the set out is the other fix.
	fsys := fstest.MapFS{"schema.cedarschema": {Data: []byte(strings.Replace(docSchema, `"jobs.admin", `, "", 1))},
		"docs.cedar": {Data: []byte(`permit (principal, action == Action::"doc.read", resource);`)}}
	app, err := trellis.New(context.Background(), trellistest.Config(t), trellis.WithPolicies(fsys), trellis.Without(trellis.JobsAdmin), trellis.WithLogOutput(&trellistest.Logs{}))
	if err != nil {
		t.Fatal(err)
	}
	_ = app.Close(context.Background())
}

// TestWithoutPoliciesAdminSetsKeepTheRole: an app without policies
// guards the built-in admin sets by the admin role, as before.
func TestWithoutPoliciesAdminSetsKeepTheRole(t *testing.T) {
	app := trellistest.NewApp(t, nil)
	if app.App.Authz != nil {
		t.Fatal("Authz set without policies")
	}
	routes, err := cli.Routes(app.App)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if strings.HasPrefix(r.Path, "/admin/") && r.Requires != "role:admin" {
			t.Errorf("%s %s requires %q, want role:admin", r.Method, r.Path, r.Requires)
		}
		if strings.HasPrefix(r.Path, "/admin/policies") {
			t.Errorf("%s mounted without a policy directory", r.Path)
		}
	}
}

package authz

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/config"
)

// demoPolicies are the demo app's policy files: the table test checks
// the rules the demo ships.
var demoPolicies = os.DirFS("../examples/demo/policies")

func newDemo(t *testing.T, logs *bytes.Buffer) *Authorizer {
	t.Helper()
	opts := Options{FS: demoPolicies}
	if logs != nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

var (
	now       = time.Now()
	owner     = &auth.User{ID: 1, Email: "owner@example.com", EmailVerifiedAt: &now}
	other     = &auth.User{ID: 2, Email: "other@example.com"}
	admin     = &auth.User{ID: 3, Email: "admin@example.com", Roles: []string{auth.RoleAdmin}}
	anonymous *auth.User
)

func note(ownerID int64) Resource {
	return Resource{Type: "Note", ID: "42", Attrs: map[string]any{"owner": User(ownerID)}}
}

var site = Resource{Type: "Site", ID: "site"}

// TestDemoPolicyTable is the allow/deny matrix of the demo's policies:
// every principal kind against every action.
func TestDemoPolicyTable(t *testing.T) {
	a := newDemo(t, nil)
	users := map[string]*auth.User{"owner": owner, "other": other, "admin": admin, "anonymous": anonymous}
	cases := []struct {
		action string
		res    Resource
		allow  map[string]bool // principals allowed; all others denied
	}{
		{"note.read", note(1), map[string]bool{"owner": true, "admin": true}},
		{"note.edit", note(1), map[string]bool{"owner": true}},
		{"note.delete", note(1), map[string]bool{"owner": true, "admin": true}},
		{"jobs.admin", site, map[string]bool{"admin": true}},
		{"roles.admin", site, map[string]bool{"admin": true}},
		// An admin's own note: admin is the owner, so may edit it.
		{"note.edit", note(3), map[string]bool{"admin": true}},
	}
	for _, c := range cases {
		for name, u := range users {
			d := a.DecideFor(context.Background(), u, c.action, c.res)
			if d.Err != nil {
				t.Errorf("%s %s on %s: error %v", name, c.action, c.res.Attrs["owner"], d.Err)
			}
			if d.Allowed != c.allow[name] {
				t.Errorf("%s %s on note of %v: allowed = %v, want %v (policies %v)", name, c.action, c.res.Attrs["owner"], d.Allowed, c.allow[name], d.Policies)
			}
			if d.Allowed && len(d.Policies) == 0 {
				t.Errorf("%s %s: allowed without a determining policy", name, c.action)
			}
		}
	}
}

func TestDecisionLogAndMetric(t *testing.T) {
	var logs bytes.Buffer
	a := newDemo(t, &logs)
	a.DecideFor(context.Background(), owner, "note.edit", note(1))
	a.DecideFor(context.Background(), other, "note.edit", note(1))
	a.DecideFor(context.Background(), other, "note.frobnicate", note(1))
	for _, want := range []string{
		`principal=User::1 action=note.edit resource=Note::42 decision=allow policies=[note-owner]`,
		`principal=User::2 action=note.edit resource=Note::42 decision=deny policies=[]`,
		`decision=error`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
	for _, c := range []struct {
		action, decision string
		want             float64
	}{{"note.edit", "allow", 1}, {"note.edit", "deny", 1}, {"(undeclared)", "error", 1}, {"note.frobnicate", "error", 0}} {
		if got := testutil.ToFloat64(a.decisions.WithLabelValues(c.action, c.decision)); got != c.want {
			t.Errorf("trellis_authz_decisions_total{action=%q,decision=%q} = %v, want %v", c.action, c.decision, got, c.want)
		}
	}
}

// TestFailClosed: anything that goes wrong denies, even for a user the
// policies would allow.
func TestFailClosed(t *testing.T) {
	a := newDemo(t, nil)
	ctx := context.Background()
	cases := map[string]struct {
		u      *auth.User
		action string
		res    Resource
	}{
		"owner attribute of the wrong type": {owner, "note.edit", Resource{Type: "Note", ID: "42", Attrs: map[string]any{"owner": "1"}}},
		"owner attribute missing":           {owner, "note.edit", Resource{Type: "Note", ID: "42"}},
		"attribute the schema lacks":        {admin, "note.read", Resource{Type: "Note", ID: "42", Attrs: map[string]any{"owner": User(3), "x": true}}},
		"unsupported Go value":              {owner, "note.edit", Resource{Type: "Note", ID: "42", Attrs: map[string]any{"owner": 1.5}}},
		"ref without a type":                {owner, "note.edit", Resource{Type: "Note", ID: "42", Attrs: map[string]any{"owner": Ref{ID: "1"}}}},
		"resource without a type":           {admin, "note.read", Resource{ID: "42"}},
		"undeclared resource type":          {admin, "note.read", Resource{Type: "Photo", ID: "42"}},
		"wrong resource type for action":    {admin, "jobs.admin", note(3)},
		"undeclared action":                 {admin, "note.purge", note(3)},
	}
	for name, c := range cases {
		d := a.DecideFor(ctx, c.u, c.action, c.res)
		if d.Allowed || d.Err == nil {
			t.Errorf("%s: allowed=%v err=%v, want a denial with an error", name, d.Allowed, d.Err)
		}
	}

	hooked, err := New(Options{FS: demoPolicies, Principal: func(context.Context, *auth.User) (map[string]any, error) {
		return nil, errors.New("directory unavailable")
	}})
	if err != nil {
		t.Fatal(err)
	}
	if d := hooked.DecideFor(ctx, owner, "note.edit", note(1)); d.Allowed || d.Err == nil {
		t.Errorf("principal hook failing: allowed=%v err=%v, want denied", d.Allowed, d.Err)
	}
	spoof, err := New(Options{FS: demoPolicies, Principal: func(context.Context, *auth.User) (map[string]any, error) {
		return map[string]any{"roles": []string{"admin"}}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if d := spoof.DecideFor(ctx, other, "note.delete", note(1)); d.Allowed {
		t.Error("a principal hook replaced roles and was allowed")
	}
	// Anonymous requests always build, so a missing hook result is fine.
	if d := hooked.DecideFor(ctx, nil, "note.read", note(1)); d.Allowed || d.Err != nil {
		t.Errorf("anonymous with a failing hook: allowed=%v err=%v, want a clean deny", d.Allowed, d.Err)
	}
}

// schema is a minimal schema for the load and evaluation tests.
const docSchema = `entity User { roles: Set<String>, verified: Bool };
entity Anonymous;
entity Doc { size: Long };
action "doc.read" appliesTo { principal: [User, Anonymous], resource: Doc };
`

// TestEvaluationErrorDenies: Cedar on its own skips a policy that errors
// and lets another permit allow; Trellis denies.
func TestEvaluationErrorDenies(t *testing.T) {
	a, err := New(Options{FS: fstest.MapFS{
		"schema.cedarschema": {Data: []byte(docSchema)},
		"docs.cedar": {Data: []byte(`@id("everyone") permit (principal, action, resource);
@id("overflow") permit (principal, action, resource) when { resource.size * 9223372036854775807 > 0 };`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if d := a.DecideFor(ctx, owner, "doc.read", Resource{Type: "Doc", ID: "1", Attrs: map[string]any{"size": 1}}); !d.Allowed {
		t.Fatalf("size 1: denied (%v); want allowed, the test needs a clean allow", d.Err)
	}
	d := a.DecideFor(ctx, owner, "doc.read", Resource{Type: "Doc", ID: "2", Attrs: map[string]any{"size": 2}})
	if d.Allowed || d.Err == nil || !strings.Contains(d.Err.Error(), "overflow") {
		t.Fatalf("overflowing policy: allowed=%v err=%v, want denied with the policy's error", d.Allowed, d.Err)
	}
}

func TestLoadErrors(t *testing.T) {
	valid := `@id("read") permit (principal, action == Action::"doc.read", resource);`
	cases := map[string]struct {
		files map[string]string
		want  []string
	}{
		"syntax error": {map[string]string{"schema.cedarschema": docSchema, "a.cedar": valid,
			"docs.cedar": "permit (principal, action, resource)\nwhen { principal. };"},
			[]string{"policies/docs.cedar:2: the policy does not parse", "column 20", "fix: fix the syntax"}},
		"unknown action": {map[string]string{"schema.cedarschema": docSchema,
			"docs.cedar": "\n\npermit (principal, action == Action::\"doc.raed\", resource);"},
			[]string{"policies/docs.cedar:3:", "doc.raed", "fix: make the policy agree with the schema"}},
		"unknown entity type": {map[string]string{"schema.cedarschema": docSchema,
			"docs.cedar": "permit (principal is Admin, action, resource);"},
			[]string{"policies/docs.cedar:1:", "Admin"}},
		"unknown attribute": {map[string]string{"schema.cedarschema": docSchema,
			"docs.cedar": "permit (principal is User, action, resource) when { principal.team == \"x\" };"},
			[]string{"policies/docs.cedar:1:", "team"}},
		"duplicate id": {map[string]string{"schema.cedarschema": docSchema, "a.cedar": valid, "b.cedar": valid},
			[]string{"policies/b.cedar:1: policy id \"read\" is also used at a.cedar:1"}},
		"no schema":     {map[string]string{"a.cedar": valid}, []string{"policies: no *.cedarschema file", "fix: keep one schema.cedarschema"}},
		"two schemas":   {map[string]string{"a.cedarschema": docSchema, "b.cedarschema": docSchema, "a.cedar": valid}, []string{"more than one schema"}},
		"no policies":   {map[string]string{"schema.cedarschema": docSchema}, []string{"no *.cedar policy files"}},
		"schema syntax": {map[string]string{"schema.cedarschema": "entity User {", "a.cedar": valid}, []string{"policies/schema.cedarschema: the schema does not parse"}},
		"schema lacks principal attrs": {map[string]string{"schema.cedarschema": strings.Replace(docSchema, "verified: Bool", "verified: String", 1), "a.cedar": valid},
			[]string{"the User entity type cannot hold a signed-in user", "fix: declare entity User { roles: Set<String>, verified: Bool }"}},
		"action not for anonymous": {map[string]string{"schema.cedarschema": strings.Replace(docSchema, "[User, Anonymous]", "User", 1), "a.cedar": valid},
			[]string{`action "doc.read" does not apply to both User and Anonymous principals`}},
		"schema lacks Anonymous": {map[string]string{"schema.cedarschema": strings.Replace(docSchema, "entity Anonymous;", "", 1) + "entity X;", "a.cedar": `permit (principal, action, resource);`},
			[]string{"Anonymous"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for f, text := range c.files {
				fsys[f] = &fstest.MapFile{Data: []byte(text)}
			}
			_, err := New(Options{FS: fsys})
			if err == nil {
				t.Fatal("New accepted invalid policies")
			}
			if !errors.Is(err, ErrInvalid) || !config.IsConfigError(err) {
				t.Errorf("error %v is not ErrInvalid and a config error", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for f, text := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReloadRefusesInvalidSets: a set that fails validation is refused
// and the old one keeps serving; a valid one takes over.
func TestReloadRefusesInvalidSets(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"schema.cedarschema": docSchema, "docs.cedar": `permit (principal is User, action, resource);`})
	a, err := New(Options{FS: os.DirFS(dir), Source: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Use("doc.read"); err != nil {
		t.Fatal(err)
	}
	doc := Resource{Type: "Doc", ID: "1", Attrs: map[string]any{"size": 1}}
	ctx := context.Background()
	allowed := func(u *auth.User) bool { return a.DecideFor(ctx, u, "doc.read", doc).Allowed }
	if !allowed(owner) || allowed(nil) {
		t.Fatal("initial set: want users allowed, anonymous denied")
	}

	writeFiles(t, dir, map[string]string{"docs.cedar": `forbid (principal, action, resource) when { principal.nope };`})
	if _, err := a.Reload(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), filepath.Join(dir, "docs.cedar")+":1") {
		t.Fatalf("reload of an invalid set: %v, want ErrInvalid naming the file", err)
	}
	if !allowed(owner) {
		t.Fatal("after a refused reload the old set no longer serves")
	}

	// A schema that drops an action the app's guards use is refused too.
	writeFiles(t, dir, map[string]string{
		"schema.cedarschema": strings.Replace(docSchema, `"doc.read"`, `"doc.view"`, 1),
		"docs.cedar":         `permit (principal, action, resource);`,
	})
	if _, err := a.Reload(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"doc.read"`) {
		t.Fatalf("reload dropping a used action: %v, want refused", err)
	}
	if !allowed(owner) || allowed(nil) {
		t.Fatal("after a refused reload the old set no longer serves")
	}

	writeFiles(t, dir, map[string]string{"schema.cedarschema": docSchema, "docs.cedar": `permit (principal, action, resource);`})
	if n, err := a.Reload(); err != nil || n != 1 {
		t.Fatalf("valid reload: %d, %v", n, err)
	}
	if !allowed(nil) {
		t.Fatal("the reloaded set is not in force")
	}
}

func TestCanWithoutAuthorizerDenies(t *testing.T) {
	if Can(context.Background(), "note.read", note(1)) {
		t.Fatal("Can allowed with no Authorizer in the context")
	}
	a := newDemo(t, nil)
	if Can(WithAuthorizer(context.Background(), a), "note.read", note(1)) {
		t.Fatal("anonymous may read a note")
	}
}

// TestDecideDuringReload: decisions running while sets are swapped see
// either the old or the new set, never a mix or a race.
func TestDecideDuringReload(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"schema.cedarschema": docSchema, "docs.cedar": `permit (principal is User, action, resource);`})
	a, err := New(Options{FS: os.DirFS(dir), Source: dir})
	if err != nil {
		t.Fatal(err)
	}
	doc := Resource{Type: "Doc", ID: "1", Attrs: map[string]any{"size": 1}}
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				if d := a.DecideFor(context.Background(), owner, "doc.read", doc); !d.Allowed || d.Err != nil {
					errs <- fmt.Errorf("owner denied during reloads: %v", d.Err)
					return
				}
			}
		}()
	}
	for range 50 {
		if _, err := a.Reload(); err != nil {
			t.Error(err)
		}
	}
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

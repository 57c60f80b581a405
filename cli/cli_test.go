package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/trellistest"
)

// okArgs and failArgs are the test app's job kinds: one succeeds, the
// other fails for good, so it lands in the dead letter queue.
type okArgs struct{}

func (okArgs) Kind() string { return "cli_test_ok" }

type failArgs struct{}

func (failArgs) Kind() string { return "cli_test_fail" }

func home(w http.ResponseWriter, _ *http.Request)    { fmt.Fprint(w, "home") }
func profile(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "profile") }
func reports(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "reports") }
func guarded(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "guarded") }

// newTestApp is the test app's build function, as an app's newApp is: its
// migrations, a public route, one for users, one for admins, one with the
// guard around the handler itself, and two job kinds.
func newTestApp(migrations string) Build {
	return func(ctx context.Context, cfg *config.Config, opts ...trellis.Option) (*trellis.App, error) {
		app, err := trellis.New(ctx, cfg, append([]trellis.Option{trellis.WithMigrations(os.DirFS(migrations))}, opts...)...)
		if err != nil {
			return nil, err
		}
		app.Get("/", home)
		app.With(app.Auth.RequireUser).Get("/me", profile)
		app.With(app.Auth.RequireRole("admin")).Post("/reports", reports)
		app.Method(http.MethodGet, "/guarded", app.Auth.RequireUser(http.HandlerFunc(guarded)))
		jobs.RegisterFunc(app.Jobs, func(context.Context, *jobs.Job[okArgs]) error { return nil })
		jobs.RegisterFunc(app.Jobs, func(context.Context, *jobs.Job[failArgs]) error {
			return jobs.Permanent(errors.New("boom"))
		})
		return app, nil
	}
}

const widgetsSQL = "-- +goose Up\nCREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n-- +goose Down\nDROP TABLE widgets;\n"

// stack is one test app on one backend: its config file, migrations
// directory and build function.
type stack struct {
	t          *testing.T
	cfgPath    string
	migrations string
	build      Build
}

func newStack(t *testing.T, b trellistest.Backend) *stack {
	t.Helper()
	dir := t.TempDir()
	s := &stack{t: t, cfgPath: filepath.Join(dir, "trellis.toml"), migrations: filepath.Join(dir, "migrations")}
	for _, d := range []string{"sqlite", "postgres"} {
		if err := os.MkdirAll(filepath.Join(s.migrations, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(s.migrations, d, "00001_widgets.sql"), []byte(widgetsSQL), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	toml := fmt.Sprintf("[app]\nname = \"clitest\"\ndata_dir = %q\n\n[jobs]\npoll_interval = \"50ms\"\nfetch_cooldown = \"10ms\"\n", filepath.Join(dir, "data"))
	if b == trellistest.Postgres {
		toml += fmt.Sprintf("\n[database]\nurl = %q\n", trellistest.PostgresURL(t))
	}
	if err := os.WriteFile(s.cfgPath, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	s.build = newTestApp(s.migrations)
	return s
}

// result is what one run of the command line printed and returned.
type result struct {
	out, err string
	code     int
}

// run runs the command line with stdin as standard input.
func (s *stack) run(stdin string, args ...string) result {
	s.t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--config", s.cfgPath, "--env", "test")
	code := Run(context.Background(), args, s.build, Options{
		Migrations:    os.DirFS(s.migrations),
		MigrationsDir: s.migrations,
		Stdin:         strings.NewReader(stdin),
		Stdout:        &out,
		Stderr:        &errb,
	})
	return result{out.String(), errb.String(), code}
}

// ok runs the command line and fails the test unless it succeeds.
func (s *stack) ok(stdin string, args ...string) string {
	s.t.Helper()
	r := s.run(stdin, args...)
	if r.code != 0 {
		s.t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.out, r.err)
	}
	return r.out
}

// fails runs the command line and checks its exit code and error message.
func (s *stack) fails(code int, msg string, args ...string) {
	s.t.Helper()
	s.failsWith("", code, msg, args...)
}

func (s *stack) failsWith(stdin string, code int, msg string, args ...string) {
	s.t.Helper()
	r := s.run(stdin, args...)
	if r.code != code || !strings.Contains(r.err, msg) {
		s.t.Errorf("%v: exit %d, want %d with %q\nstdout: %s\nstderr: %s", args, r.code, code, msg, r.out, r.err)
	}
}

// config loads the stack's configuration, as the commands do.
func (s *stack) config() *config.Config {
	s.t.Helper()
	cfg, err := config.Load(config.Options{Path: s.cfgPath, Profile: config.Test})
	if err != nil {
		s.t.Fatal(err)
	}
	return cfg
}

// contains fails the test unless out matches every pattern.
func contains(t *testing.T, what, out string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(out) {
			t.Errorf("%s: no match for %q in:\n%s", what, p, out)
		}
	}
}

func TestCommands(t *testing.T) {
	for _, b := range []trellistest.Backend{trellistest.SQLite, trellistest.Postgres} {
		t.Run(string(b), func(t *testing.T) {
			s := newStack(t, b)
			t.Run("db", s.testDB)
			t.Run("routes", s.testRoutes)
			t.Run("users", s.testUsers)
			t.Run("jobs", s.testJobs)
		})
	}
}

func (s *stack) testDB(t *testing.T) {
	s.t = t
	contains(t, "status of a new database", s.ok("", "db", "status"),
		`(?m)^trellis  pending  1  `, `(?m)^river    version 0 of [1-9]\d*$`, `(?m)^app      pending  1  .*00001_widgets.sql$`)
	// The framework's migrations (other features add theirs): how many,
	// and the latest version.
	fw, _ := filepath.Glob("../db/migrations/sqlite/*.sql")
	latest := strings.TrimLeft(strings.SplitN(filepath.Base(fw[len(fw)-1]), "_", 2)[0], "0")
	contains(t, "migrate", s.ok("", "db", "migrate"), fmt.Sprintf(`^applied %d migration\(s\) and [1-9]\d* River migration\(s\)\n$`, len(fw)+1))
	out := s.ok("", "db", "status")
	contains(t, "status after migrate", out, `(?m)^trellis  applied  `+latest+`  `, `(?m)^app      applied  1  `)
	if m := regexp.MustCompile(`river    version (\d+) of (\d+)`).FindStringSubmatch(out); m == nil || m[1] != m[2] {
		t.Errorf("River not fully migrated: %s", out)
	}
	if strings.Contains(out, "pending") {
		t.Errorf("pending migrations after migrate: %s", out)
	}

	// create writes the next number for both dialects; filled in, the
	// migration is pending, then applied.
	out = s.ok("", "db", "create", "add_gadgets")
	for _, d := range []string{"sqlite", "postgres"} {
		p := filepath.Join(s.migrations, d, "00002_add_gadgets.sql")
		contains(t, "create", out, "(?m)^created "+regexp.QuoteMeta(p)+"$")
		body, err := os.ReadFile(p)
		if err != nil || !strings.HasPrefix(string(body), "-- +goose Up\n") {
			t.Fatalf("%s: %v %q", p, err, body)
		}
		sql := strings.ReplaceAll(widgetsSQL, "widgets", "gadgets")
		if err := os.WriteFile(p, []byte(sql), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	contains(t, "status after create", s.ok("", "db", "status"), `(?m)^app      pending  2  .*00002_add_gadgets.sql$`)
	contains(t, "migrate the new one", s.ok("", "db", "migrate"), `^applied 1 migration\(s\) and 0 River`)
	s.fails(2, "lower-case", "db", "create", "Bad Name")
	s.fails(2, "accepts 1 arg", "db", "create")

	contains(t, "rollback", s.ok("", "db", "rollback"), `^rolled back app migration 2\n$`)
	contains(t, "status after rollback", s.ok("", "db", "status"), `(?m)^app      applied  1  `, `(?m)^app      pending  2  `)
	contains(t, "framework rollback", s.ok("", "db", "rollback", "--framework"), `^rolled back trellis migration `+latest+`\n$`)
	contains(t, "migrate after rollbacks", s.ok("", "db", "migrate"), `^applied 2 migration\(s\) and 0 River`)

	// reset asks first; it destroys what the tables hold.
	s.ok("averylongpassword\n", "users", "create", "gone@example.com")
	s.failsWith("", 2, "--yes", "db", "reset")
	s.failsWith("no\n", 1, "reset cancelled", "db", "reset")
	r := s.run("yes\n", "db", "reset")
	if r.code != 0 || r.out != "database reset\n" || !strings.Contains(r.err, "Type yes to continue") {
		t.Fatalf("reset: %+v", r)
	}
	contains(t, "reset --yes", s.ok("", "db", "reset", "--yes"), `^database reset\n$`)
	s.ok("averylongpassword\n", "users", "create", "gone@example.com") // no longer taken
	out = s.ok("", "db", "status")
	if strings.Contains(out, "pending") || strings.Contains(out, "version 0 of") {
		t.Errorf("status after reset: %s", out)
	}
	s.ok("", "db", "reset", "--yes")

	s.fails(2, "unknown flag", "db", "status", "--bogus")
	s.fails(2, "unknown command", "bogus")
}

func (s *stack) testRoutes(t *testing.T) {
	s.t = t
	out := s.ok("", "routes")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if f := strings.Fields(lines[0]); !slices.Equal(f, []string{"METHOD", "PATH", "HANDLER", "REQUIRES"}) {
		t.Errorf("header: %q", lines[0])
	}
	want := []string{
		`GET +/ +cli.home +-`,
		`GET +/me +cli.profile +user`,
		`POST +/reports +cli.reports +role:admin`,
		`GET +/guarded +cli.guarded +user`,
		`GET +/login +auth.\(\*Auth\).loginPage +-`,
		`POST +/login +auth.\(\*Auth\).login +-`,
		`GET +/account +auth.\(\*Auth\).account +user`,
		`POST +/account/password +auth.\(\*Auth\).changePassword +user`,
		`GET +/admin/users/\{id\}/roles/ +auth.\(\*Auth\).listRoles +role:admin`,
		`DELETE +/admin/users/\{id\}/roles/\{role\} +auth.\(\*Auth\).removeRole +role:admin`,
		`GET +/admin/jobs +admin.\(\*Handler\).dashboard +role:admin`,
		`POST +/admin/jobs/dead-letter/clear +admin.\(\*Handler\).clearDead +role:admin`,
		`GET +/health +health.\(\*Health\).Ready +-`,
		`GET +/health/live +health.\(\*Health\).Live +-`,
		`GET +/metrics +\S+ +-`,
		`\* +/static/\* +\*static.Assets +-`,
	}
	for _, w := range want {
		contains(t, "routes", out, "(?m)^"+w+" *$")
	}
	// Sorted by path, then method.
	if i, j := regexp.MustCompile(`GET +/login`).FindStringIndex(out), regexp.MustCompile(`POST +/login`).FindStringIndex(out); i == nil || j == nil || j[0] < i[0] {
		t.Errorf("GET /login should come before POST /login:\n%s", out)
	}

	var routes []Route
	if err := json.Unmarshal([]byte(s.ok("", "routes", "--json")), &routes); err != nil {
		t.Fatal(err)
	}
	if len(routes) != len(lines)-1 {
		t.Errorf("%d routes in JSON, %d in the table", len(routes), len(lines)-1)
	}
	byKey := map[string]Route{}
	for _, r := range routes {
		byKey[r.Method+" "+r.Path] = r
	}
	for key, want := range map[string]Route{
		"GET /":                {Method: "GET", Path: "/", Handler: "cli.home", Requires: ""},
		"POST /reports":        {Method: "POST", Path: "/reports", Handler: "cli.reports", Requires: "role:admin"},
		"GET /admin/jobs/{id}": {Method: "GET", Path: "/admin/jobs/{id}", Handler: "admin.(*Handler).job", Requires: "role:admin"},
		"GET /account":         {Method: "GET", Path: "/account", Handler: "auth.(*Auth).account", Requires: "user"},
	} {
		if byKey[key] != want {
			t.Errorf("%s: %+v, want %+v", key, byKey[key], want)
		}
	}
	s.fails(2, "unknown command", "routes", "extra")
}

func (s *stack) testUsers(t *testing.T) {
	s.t = t
	contains(t, "create with a password", s.ok("correct horse battery\n", "users", "create", " Ada@Example.com ", "--name", "Ada"),
		`^created user \d+: ada@example.com\n$`)
	out := s.ok("", "users", "create", "boss@example.com", "--admin")
	contains(t, "create with a generated password", out, `^created user \d+: boss@example.com \(roles: admin\)\npassword: [A-Za-z0-9_-]{24}\n`)

	s.failsWith("another password\n", 1, "already exists", "users", "create", "ada@example.com")
	s.failsWith("short\n", 2, "at least 8 characters", "users", "create", "new@example.com")
	s.fails(2, "valid email", "users", "create", "not-an-email")
	s.fails(2, "at most 100", "users", "create", "long@example.com", "--name", strings.Repeat("x", 101))
	s.fails(2, "accepts 1 arg", "users", "create")

	// Both can sign in with their passwords, and only the admin is one.
	boss := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)[1]
	cfg := s.config()
	app := trellistest.NewApp(t, trellistest.Build(s.build), trellistest.Configure(func(c *config.Config) { *c = *cfg }))
	app.SignIn("ada@example.com", "correct horse battery")
	app.Get("/me").AssertStatus(http.StatusOK).AssertContains("profile")
	app.PostForm("/reports", nil).AssertStatus(http.StatusForbidden)
	admin := app.AsNewVisitor()
	admin.SignIn("boss@example.com", boss)
	admin.PostForm("/reports", nil).AssertStatus(http.StatusOK).AssertContains("reports")
}

// produceJobs works jobs in the app until two are completed and three are
// dead, and leaves one scheduled for later; it returns their ids by kind.
func (s *stack) produceJobs(t *testing.T) (ok, dead []int64, later int64) {
	t.Helper()
	ctx := context.Background()
	cfg := s.config()
	app, err := s.build(ctx, cfg, trellis.WithLogOutput(&bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	enqueue := func(args jobs.Args, o *jobs.Opts) int64 {
		res, err := app.Jobs.Enqueue(ctx, args, o)
		if err != nil {
			t.Fatal(err)
		}
		return res.ID
	}
	for range 2 {
		ok = append(ok, enqueue(okArgs{}, nil))
	}
	for range 3 {
		dead = append(dead, enqueue(failArgs{}, nil))
	}
	later = enqueue(okArgs{}, &jobs.Opts{RunAt: time.Now().Add(time.Hour)})
	waitFor(t, app.Jobs, jobs.StatusCompleted, ok...)
	waitFor(t, app.Jobs, jobs.StatusDead, dead...)
	return ok, dead, later
}

// waitFor waits until every job in ids has status st.
func waitFor(t *testing.T, e *jobs.Engine, st jobs.Status, ids ...int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range ids {
		for {
			d, err := e.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status == st {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %d is %s, want %s", id, d.Status, st)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// apiList is the admin API's list shape.
type apiList struct {
	Jobs []struct {
		ID     string `json:"id"`
		Kind   string `json:"job_type"`
		Status string `json:"status"`
	} `json:"jobs"`
	Total      int    `json:"total"`
	NextCursor string `json:"next_cursor"`
	Message    string `json:"message"`
}

func (s *stack) listJSON(args ...string) apiList {
	s.t.Helper()
	var l apiList
	out := s.ok("", append([]string{"jobs", "list", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		s.t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return l
}

func (s *stack) testJobs(t *testing.T) {
	s.t = t
	ok, dead, later := s.produceJobs(t)

	out := s.ok("", "jobs", "list")
	contains(t, "list", out, `(?m)^ID +KIND +STATUS +QUEUE +PRIORITY +ATTEMPT +CREATED +SCHEDULED *$`,
		fmt.Sprintf(`(?m)^%d +cli_test_fail +dead +default +2 +1/4 +\d{4}-`, dead[0]),
		fmt.Sprintf(`(?m)^%d +cli_test_ok +completed +default `, ok[0]),
		fmt.Sprintf(`(?m)^%d +cli_test_ok +scheduled +default +2 +0/4 `, later),
		`(?m)^6 of 6 jobs$`)

	l := s.listJSON("--status", "dead")
	if l.Total != 3 || len(l.Jobs) != 3 || l.Jobs[0].ID != fmt.Sprint(dead[2]) || l.Jobs[0].Status != "dead" || l.Message != "retrieved 3 of 3 jobs" {
		t.Errorf("dead jobs: %+v", l)
	}
	l = s.listJSON("--kind", "cli_test_ok", "--limit", "2")
	if l.Total != 3 || len(l.Jobs) != 2 || l.NextCursor == "" {
		t.Fatalf("first page: %+v", l)
	}
	if l = s.listJSON("--kind", "cli_test_ok", "--cursor", l.NextCursor); len(l.Jobs) != 1 || l.Jobs[0].ID != fmt.Sprint(ok[0]) {
		t.Errorf("second page: %+v", l)
	}
	contains(t, "list a page", s.ok("", "jobs", "list", "--queue", "default", "--limit", "1"), `(?m)^1 of 6 jobs\nnext page: --cursor \d+$`)
	if l = s.listJSON("--queue", "other"); l.Total != 0 || l.Jobs == nil {
		t.Errorf("another queue: %+v", l)
	}
	s.fails(2, "--status \"bogus\"", "jobs", "list", "--status", "bogus")
	s.fails(2, "--limit 0", "jobs", "list", "--limit", "0")
	s.fails(2, "--cursor is malformed", "jobs", "list", "--cursor", "x")

	contains(t, "stats", s.ok("", "jobs", "stats"),
		`(?m)^KIND +ENQUEUED +PENDING +SCHEDULED +RUNNING +COMPLETED +FAILED +RETRIED +CANCELLED +DEAD +SUCCESS % +P50 MS +P95 MS$`,
		`(?m)^cli_test_fail +3 +0 +0 +0 +0 +3 +0 +0 +3 +0.00 `,
		`(?m)^cli_test_ok +3 +0 +1 +0 +2 +0 +0 +0 +0 +100.00 `,
		`(?m)^\(all\) +6 +0 +1 +0 +2 +3 +0 +0 +3 +40.00 `,
		`(?m)^timings: completed jobs of the last `)
	var stats map[string]any
	if err := json.Unmarshal([]byte(s.ok("", "jobs", "stats", "--json")), &stats); err != nil {
		t.Fatal(err)
	}
	if stats["total_enqueued"] != 6.0 || stats["dead_letter"] != 3.0 || stats["success_rate"] != 40.0 || len(stats["kinds"].([]any)) != 2 {
		t.Errorf("stats: %v", stats)
	}

	// Actions, with the admin API's messages and JSON.
	contains(t, "retry", s.ok("", "jobs", "retry", fmt.Sprint(dead[0])), fmt.Sprintf(`^Job %d \(cli_test_fail\) will run again.\n$`, dead[0]))
	var body map[string]any
	if err := json.Unmarshal([]byte(s.ok("", "jobs", "cancel", fmt.Sprint(later), "--json")), &body); err != nil ||
		body["success"] != true || body["message"] != fmt.Sprintf("Job %d (cli_test_ok) was cancelled.", later) {
		t.Errorf("cancel --json: %v %v", body, err)
	}
	if l = s.listJSON("--status", "pending"); l.Total != 1 || l.Jobs[0].ID != fmt.Sprint(dead[0]) {
		t.Errorf("pending after retry: %+v", l)
	}
	if l = s.listJSON("--status", "cancelled"); l.Total != 1 || l.Jobs[0].ID != fmt.Sprint(later) {
		t.Errorf("cancelled: %+v", l)
	}
	s.fails(1, fmt.Sprintf("job %d already finished (completed)", ok[0]), "jobs", "cancel", fmt.Sprint(ok[0]))
	s.fails(1, "job 999999 not found", "jobs", "retry", "999999")
	s.fails(1, "job 999999 not found", "jobs", "cancel", "999999")
	s.fails(2, `job id "abc"`, "jobs", "retry", "abc")
	s.fails(2, `job id "0"`, "jobs", "cancel", "0")
	s.fails(2, "accepts 1 arg", "jobs", "retry")
	body = nil
	if err := json.Unmarshal([]byte(s.ok("", "jobs", "retry", fmt.Sprint(ok[1]), "--json")), &body); err != nil ||
		body["success"] != true || body["message"] != fmt.Sprintf("Job %d (cli_test_ok) will run again.", ok[1]) {
		t.Errorf("retry --json: %v %v", body, err)
	}

	if err := json.Unmarshal([]byte(s.ok("", "jobs", "retry-all", "--json")), &body); err != nil || body["retried"] != 2.0 ||
		body["message"] != "2 dead jobs will run again." {
		t.Errorf("retry-all: %v %v", body, err)
	}
	contains(t, "retry-all with none", s.ok("", "jobs", "retry-all"), `^0 dead jobs will run again.\n$`)

	// Worked again, the retried jobs die again; clear-dead deletes them.
	cfg := s.config()
	app := trellistest.NewApp(t, trellistest.Build(s.build), trellistest.Configure(func(c *config.Config) { *c = *cfg }))
	app.Get("/health/live").AssertStatus(http.StatusOK) // starts the workers
	waitFor(t, app.App.Jobs, jobs.StatusDead, dead...)
	contains(t, "clear-dead", s.ok("", "jobs", "clear-dead"), `^3 dead jobs were deleted.\n$`)
	if err := json.Unmarshal([]byte(s.ok("", "jobs", "clear-dead", "--json")), &body); err != nil || body["cleared"] != 0.0 {
		t.Errorf("clear-dead --json: %v %v", body, err)
	}
	if l = s.listJSON(); l.Total != 3 {
		t.Errorf("after clear-dead: %+v", l)
	}

	// The JSON has the admin API's shape.
	s.ok("adminpassword\n", "users", "create", "jobs-admin@example.com", "--admin")
	app.SignIn("jobs-admin@example.com", "adminpassword")
	for _, c := range []struct{ api, cli []string }{
		{[]string{"/admin/jobs/list"}, []string{"jobs", "list", "--json"}},
		{[]string{"/admin/jobs/stats"}, []string{"jobs", "stats", "--json"}},
	} {
		var fromAPI, fromCLI map[string]any
		res := app.Get(c.api[0], trellistest.Header("Accept", "application/json")).AssertStatus(http.StatusOK)
		if err := json.Unmarshal([]byte(res.Body), &fromAPI); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(s.ok("", c.cli...)), &fromCLI); err != nil {
			t.Fatal(err)
		}
		if !sameShape(fromAPI, fromCLI) {
			t.Errorf("%v differs from %s:\nCLI %v\nAPI %v", c.cli, c.api[0], fromCLI, fromAPI)
		}
	}
}

// sameShape reports whether a and b have the same keys, recursively, in
// objects and in the first element of arrays.
func sameShape(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !sameShape(v, w) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		return len(a) == 0 || sameShape(a[0], b[0])
	}
	return true
}

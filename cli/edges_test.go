package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/trellistest"
)

// TestServe serves the app until the context ends, with the flags before
// the command.
func TestServe(t *testing.T) {
	s := newStack(t, trellistest.SQLite)
	addr := trellistest.FreeAddr(t)
	f, err := os.OpenFile(s.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\n[server]\naddr = %q\n", addr)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"--config", s.cfgPath, "--env", "test", "serve"}, s.build, Options{
			Stdout: io.Discard, Stderr: &stderr,
		})
	}()
	trellistest.WaitReady(t, "http://"+addr+"/health/ready", 15*time.Second)
	res, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "home" {
		t.Errorf("home page: %q", body)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d: %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// TestErrors covers exit codes: configuration and usage errors are 2,
// everything else 1.
func TestErrors(t *testing.T) {
	s := newStack(t, trellistest.SQLite)
	run := func(build Build, o Options, args ...string) (int, string) {
		var stderr bytes.Buffer
		o.Stdout, o.Stderr, o.Stdin = io.Discard, &stderr, strings.NewReader("")
		return Run(context.Background(), args, build, o), stderr.String()
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"db", "status", "--config", filepath.Join(t.TempDir(), "missing.toml")}, 2, "cannot read config file"},
		{[]string{"routes", "--env", "staging"}, 2, "unknown profile"},
		{[]string{"jobs", "stats", "--config", s.cfgPath, "--json=maybe"}, 2, "invalid argument"},
		{[]string{"serve", "now", "--config", s.cfgPath}, 2, "unknown command"},
	} {
		if code, msg := run(s.build, Options{}, tc.args...); code != tc.code || !strings.Contains(msg, tc.msg) {
			t.Errorf("%v: exit %d %q, want %d with %q", tc.args, code, msg, tc.code, tc.msg)
		}
	}

	// A build that fails is an error of its own (1); one whose config is
	// invalid is a config error (2).
	failing := func(context.Context, *config.Config, ...trellis.Option) (*trellis.App, error) {
		return nil, fmt.Errorf("the app cannot start")
	}
	for _, args := range [][]string{{"routes"}, {"serve"}} {
		if code, msg := run(failing, Options{}, append(args, "--config", s.cfgPath, "--env", "test")...); code != 1 || !strings.Contains(msg, "the app cannot start") {
			t.Errorf("%v with a failing build: %d %q", args, code, msg)
		}
	}
	invalid := func(ctx context.Context, cfg *config.Config, opts ...trellis.Option) (*trellis.App, error) {
		cfg.Server.Addr = "nonsense"
		return trellis.New(ctx, cfg, opts...)
	}
	if code, msg := run(invalid, Options{}, "jobs", "list", "--config", s.cfgPath, "--env", "test"); code != 2 || !strings.Contains(msg, "server.addr") {
		t.Errorf("invalid config from the build: %d %q", code, msg)
	}

	// An unreachable database is a clear error.
	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("[database]\nurl = \"postgres://nobody@127.0.0.1:1/x?connect_timeout=1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"db", "status"}, {"jobs", "stats"}} {
		if code, msg := run(s.build, Options{}, append(args, "--config", bad, "--env", "test")...); code != 1 || !strings.Contains(msg, "database unreachable") {
			t.Errorf("%v on an unreachable database: %d %q", args, code, msg)
		}
	}
}

// TestWithoutDatabase runs the commands for an app with no database and
// no migrations of its own.
func TestWithoutDatabase(t *testing.T) {
	s := newStack(t, trellistest.SQLite)
	build := func(ctx context.Context, cfg *config.Config, opts ...trellis.Option) (*trellis.App, error) {
		return trellis.New(ctx, cfg, append(opts, trellis.WithoutDatabase())...)
	}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), append(args, "--config", s.cfgPath, "--env", "test"), build,
			Options{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr})
		return code, stdout.String(), stderr.String()
	}
	code, out, _ := run("routes")
	if code != 0 || !strings.Contains(out, "/health/live") || strings.Contains(out, "/login") {
		t.Errorf("routes: %d %s", code, out)
	}
	if code, _, msg := run("jobs", "stats"); code != 1 || !strings.Contains(msg, "no database, so no jobs") {
		t.Errorf("jobs: %d %s", code, msg)
	}
	if code, _, msg := run("users", "create", "a@example.com"); code != 1 || !strings.Contains(msg, "no database, so no accounts") {
		t.Errorf("users: %d %s", code, msg)
	}
	// The db commands still manage the framework's tables.
	if code, out, _ := run("db", "status"); code != 0 || strings.Contains(out, "app ") || !strings.Contains(out, "trellis  pending") {
		t.Errorf("status: %d %s", code, out)
	}
	if code, _, msg := run("db", "rollback"); code != 2 || !strings.Contains(msg, "--framework") {
		t.Errorf("rollback without app migrations: %d %s", code, msg)
	}
	if code, out, _ := run("db", "rollback", "--framework"); code != 0 || out != "nothing to roll back in trellis migrations\n" {
		t.Errorf("rollback with nothing applied: %d %s", code, out)
	}
}

// TestUsersFromDevNull generates a password when standard input is a
// character device (a terminal, or /dev/null), without reading it.
func TestUsersFromDevNull(t *testing.T) {
	s := newStack(t, trellistest.SQLite)
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Skip(err)
	}
	defer null.Close()
	var stdout bytes.Buffer
	code := Run(context.Background(), []string{"users", "create", "dev@example.com", "--config", s.cfgPath, "--env", "test"}, s.build,
		Options{Stdin: null, Stdout: &stdout, Stderr: io.Discard})
	if code != 0 || !strings.Contains(stdout.String(), "password: ") {
		t.Errorf("exit %d: %s", code, stdout.String())
	}
}

// TestRoutesRequirements reads requirements wherever the guards are: in
// Use, With, a chain around the endpoint, or around the handler itself.
func TestRoutesRequirements(t *testing.T) {
	app := trellistest.NewApp(t, nil)
	a := app.App.Auth
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	r := chi.NewRouter()
	r.With(a.RequireUser, a.RequireRole("b"), a.RequireRole("a")).Get("/roles", ok)
	r.Handle("/chain", chi.Chain(a.RequireRole("ops")).Handler(chi.Chain(a.RequireUser).Handler(ok)))
	r.Route("/sub", func(r chi.Router) {
		r.Use(a.RequireUser)
		r.Get("/", ok)
		r.Method(http.MethodDelete, "/{id}", a.RequireRole("ops")(ok))
	})
	routes, err := Routes(r)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, rt := range routes {
		got[rt.Method+" "+rt.Path] = rt.Requires + " " + rt.Handler
	}
	for key, want := range map[string]string{
		"GET /roles":       "role:a,role:b cli.TestRoutesRequirements",
		"* /chain":         "role:ops cli.TestRoutesRequirements",
		"GET /sub/":        "user cli.TestRoutesRequirements",
		"DELETE /sub/{id}": "role:ops cli.TestRoutesRequirements",
	} {
		if got[key] != want {
			t.Errorf("%s: %q, want %q (all: %v)", key, got[key], want, got)
		}
	}
}

// TestHelp shows what the commands document: the job statuses, what a
// route requires, where users create reads the password, the profiles.
func TestHelp(t *testing.T) {
	statuses := make([]string, len(jobs.Statuses))
	for i, st := range jobs.Statuses {
		statuses[i] = string(st)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"jobs", "list"}, "only jobs in this status: " + strings.Join(statuses, ", ")},
		{[]string{"routes"}, `"role:NAME", or "-" for public routes`},
		{[]string{"users", "create"}, "a strong password is generated\nand printed once"},
		{[]string{"serve"}, "profile: development, test or production (default $TRELLIS_ENV or development)"},
	} {
		var stdout bytes.Buffer
		code := Run(context.Background(), append(tc.args, "--help"), nil, Options{Stdout: &stdout, Stderr: io.Discard})
		if code != 0 || !strings.Contains(stdout.String(), tc.want) {
			t.Errorf("%v --help: exit %d, want %q in:\n%s", tc.args, code, tc.want, stdout.String())
		}
	}
}

// TestJobsOnABrokenDatabase reports a failing query with exit 1, not an
// empty result: the app is built, then its jobs table is dropped.
func TestJobsOnABrokenDatabase(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"jobs", "list"}, "no such table: river_job"},
		{[]string{"jobs", "retry-all"}, "retried 0 dead jobs, then failed: jobs: retrying dead jobs: "},
	} {
		s := newStack(t, trellistest.SQLite)
		build := s.build
		s.build = func(ctx context.Context, cfg *config.Config, opts ...trellis.Option) (*trellis.App, error) {
			app, err := build(ctx, cfg, opts...)
			if err == nil {
				_, err = app.DB.SQL.ExecContext(ctx, "DROP TABLE river_job")
			}
			return app, err
		}
		s.fails(1, tc.msg, tc.args...)
	}
}

type structHandler struct{}

func (structHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}

func genericHandler[T any](http.ResponseWriter, *http.Request) {}

// TestHandlerName names functions without their package path or closure
// suffixes, and anything else by its type.
func TestHandlerName(t *testing.T) {
	for _, tc := range []struct {
		h    http.Handler
		want string
	}{
		{http.HandlerFunc(home), "cli.home"},
		{http.HandlerFunc(genericHandler[*chi.Mux]), "cli.genericHandler[...]"},
		{http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), "cli.TestHandlerName"},
		{structHandler{}, "cli.structHandler"},
		{&structHandler{}, "*cli.structHandler"},
		{http.HandlerFunc(nil), "http.HandlerFunc"},
	} {
		if got := handlerName(tc.h); got != tc.want {
			t.Errorf("handlerName(%T): %q, want %q", tc.h, got, tc.want)
		}
	}
}

// TestMethodRank orders a route of every method ("*") first, then the
// methods as a reader expects them, then methods of the app's own
// (chi.RegisterMethod).
func TestMethodRank(t *testing.T) {
	order := []string{"*", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "PURGE"}
	for i := 1; i < len(order); i++ {
		if methodRank(order[i-1]) >= methodRank(order[i]) {
			t.Errorf("%s ranks %d, not before %s (%d)", order[i-1], methodRank(order[i-1]), order[i], methodRank(order[i]))
		}
	}
}

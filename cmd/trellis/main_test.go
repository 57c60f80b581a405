package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trellis-go/trellis/trellistest"
)

// TestMain lets tests run this binary as the real CLI: with
// TRELLIS_TEST_RUN_CLI=1 the test binary behaves as `trellis`.
func TestMain(m *testing.M) {
	if os.Getenv("TRELLIS_TEST_RUN_CLI") == "1" {
		os.Exit(run(context.Background(), os.Args[1:]))
	}
	os.Exit(m.Run())
}

func cli(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TRELLIS_TEST_RUN_CLI=1")
	cmd.Dir = t.TempDir()
	return cmd
}

func TestConfigErrorsExitWithCode2(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "trellis.toml")
	if err := os.WriteFile(bad, []byte("[server]\nread_timeout = \"forever\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		env  []string
		want []string
	}{
		{[]string{"demo", "--config", bad}, nil, []string{"trellis.toml:2", "server.read_timeout", "invalid duration", "fix:"}},
		{[]string{"demo", "--env", "staging"}, nil, []string{"unknown profile"}},
		{[]string{"demo"}, []string{"TRELLIS_ENV=production", "TRELLIS_HTMX_ALLOW_EVAL=true"}, []string{"env TRELLIS_HTMX_ALLOW_EVAL", "refused in production"}},
		{[]string{"demo", "--addr", "nonsense"}, nil, []string{"flag --addr", "server.addr"}},
		{[]string{"demo", "--bogus"}, nil, []string{"unknown flag"}},
	}
	for _, tc := range cases {
		cmd := cli(t, tc.args...)
		cmd.Env = append(cmd.Env, tc.env...)
		out, err := cmd.CombinedOutput()
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != 2 {
			t.Errorf("%v: exit code %d, want 2; output %s", tc.args, code, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%v: output %q lacks %q", tc.args, out, w)
			}
		}
	}
}

// TestDemoStartsServesAndStopsOnSIGTERM runs the demo as a real process:
// it must be ready quickly, serve the home page, and exit 0 on SIGTERM.
func TestDemoStartsServesAndStopsOnSIGTERM(t *testing.T) {
	addr := trellistest.FreeAddr(t)
	cmd := cli(t, "demo", "--addr", addr, "--data", t.TempDir())
	cmd.Env = append(cmd.Env, "TRELLIS_ENV=test", "TRELLIS_LOGGING_LEVEL=info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	trellistest.WaitReady(t, "http://"+addr+"/health/ready", 15*time.Second)
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Trellis demo") {
		t.Fatalf("home page: %d %s", resp.StatusCode, body)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("demo exit after SIGTERM: %v", err)
	}
	var log strings.Builder
	for l := range lines {
		log.WriteString(l + "\n")
	}
	if !strings.Contains(log.String(), "shutting down") || !strings.Contains(log.String(), "stopped") {
		t.Errorf("no shutdown in log: %s", log.String())
	}
}

func TestDBCommands(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (string, int) {
		t.Helper()
		cmd := cli(t, append(args, "--migrations", filepath.Join(dir, "migrations"))...)
		cmd.Dir = dir
		cmd.Env = append(cmd.Env, "TRELLIS_APP_DATA_DIR="+filepath.Join(dir, "data"))
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return string(out), code
	}
	out, code := run("db", "create", "add_widgets")
	if code != 0 || strings.Count(out, "created") != 2 {
		t.Fatalf("create: %d %s", code, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "migrations", "*", "*_add_widgets.sql"))
	if len(files) != 2 {
		t.Fatalf("created files: %v", files)
	}
	for _, f := range files {
		body := "-- +goose Up\nCREATE TABLE widgets (id INTEGER PRIMARY KEY);\n-- +goose Down\nDROP TABLE widgets;\n"
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, code := run("db", "create", "Bad Name"); code != 2 || !strings.Contains(out, "lower-case") {
		t.Errorf("bad name: %d %s", code, out)
	}
	// The framework's migrations (features add theirs) plus the one above.
	fw, _ := filepath.Glob("../../db/migrations/sqlite/*.sql")
	if out, code := run("db", "migrate"); code != 0 || !strings.Contains(out, fmt.Sprintf("applied %d migration(s)", len(fw)+1)) || !strings.Contains(out, "River migration(s)") {
		t.Fatalf("migrate: %d %s", code, out)
	}
	if out, _ := run("db", "status"); !strings.Contains(out, "app      applied") || !strings.Contains(out, "trellis  applied") ||
		!regexp.MustCompile(`river    version (\d+) of \d+`).MatchString(out) || strings.Contains(out, "version 0 of") {
		t.Errorf("status: %s", out)
	}
	if out, code := run("db", "rollback"); code != 0 || !strings.Contains(out, "rolled back app migration") {
		t.Errorf("rollback: %d %s", code, out)
	}
	if out, _ := run("db", "status"); !strings.Contains(out, "app      pending") {
		t.Errorf("status after rollback: %s", out)
	}
	if out, code := run("db", "reset", "--yes"); code != 0 || !strings.Contains(out, "database reset") {
		t.Errorf("reset: %d %s", code, out)
	}
	if out, code := run("db", "reset", "--env", "production"); code != 2 || !strings.Contains(out, "--yes") {
		t.Errorf("reset without an answer or --yes: %d %s", code, out)
	}
	// An unreachable database is a clear error, not a hang or a panic.
	cmd := cli(t, "db", "status")
	cmd.Env = append(cmd.Env, "TRELLIS_DATABASE_URL=postgres://nobody@127.0.0.1:1/x?connect_timeout=1")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "database unreachable") {
		t.Errorf("unreachable database: %v %s", err, out)
	}
}

package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/trellis-go/trellis/trellistest"
)

// mainEnv, when set, makes the test binary the app's own binary: TestMain
// calls Main with the test app's build function and the migrations
// directory the variable names, as a generated main.go does.
const mainEnv = "TRELLIS_CLI_TEST_MAIN"

func TestMain(m *testing.M) {
	if dir := os.Getenv(mainEnv); dir != "" {
		Main(newTestApp(dir), Options{Migrations: os.DirFS(dir)})
	}
	os.Exit(m.Run())
}

// TestMainBinary runs Main in a subprocess, through a link named myapp:
// it runs the command in os.Args after the program name, names the
// program in usage and errors, exits with the code, and prints an error
// as one line without the usage text.
func TestMainBinary(t *testing.T) {
	s := newStack(t, trellistest.SQLite)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "myapp")
	if err := os.Symlink(exe, bin); err != nil {
		t.Skip(err)
	}
	for _, tc := range []struct {
		args           []string
		code           int
		stdout, stderr string // patterns
	}{
		{[]string{"routes", "--config", s.cfgPath, "--env", "test"}, 0, `(?m)^GET +/ +cli\.home +- *$`, ``},
		{[]string{"--help"}, 0, `^A Trellis app\n\nUsage:\n  myapp \[flags\]\n  myapp \[command\]\n`, `^$`},
		{[]string{"jobs", "retry", "abc"}, 2, `^$`, `^myapp: job id "abc": use a positive whole number\n$`},
		{[]string{"jobs", "retry", "999999", "--config", s.cfgPath, "--env", "test"}, 1, `^$`, `^myapp: job 999999 not found\n$`},
	} {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = append(os.Environ(), mainEnv+"="+s.migrations)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		code := 0
		if err := cmd.Run(); err != nil {
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatal(err)
			}
			code = exit.ExitCode()
		}
		if code != tc.code || !regexp.MustCompile(tc.stdout).MatchString(stdout.String()) ||
			!regexp.MustCompile(tc.stderr).MatchString(stderr.String()) {
			t.Errorf("myapp %v: exit %d, want %d\nstdout: %s\nstderr: %s", tc.args, code, tc.code, stdout.String(), stderr.String())
		}
	}
}

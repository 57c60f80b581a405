package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewUsageErrorsExitWithCode2: bad arguments and flags exit 2 with a
// message saying what to do, and write nothing.
func TestNewUsageErrorsExitWithCode2(t *testing.T) {
	taken := t.TempDir()
	if err := os.WriteFile(filepath.Join(taken, "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"new"}, nil, "one argument"},
		{[]string{"new", "a", "b"}, nil, "one argument"},
		{[]string{"new", taken}, nil, "is not empty"},
		{[]string{"new", "app", "--db", "mysql"}, nil, "--db sqlite or --db postgres"},
		{[]string{"new", "app", "--module", "bad path!"}, nil, "invalid module path"},
		{[]string{"new", "app", "--frobnicate"}, nil, "unknown flag"},
		{[]string{"new", "app"}, []string{"TRELLIS_SOURCE_DIR=" + t.TempDir()}, "no go.mod for github.com/trellis-go/trellis"},
	}
	for _, tc := range cases {
		cmd := cli(t, tc.args...)
		cmd.Env = append(cmd.Env, tc.env...)
		out, err := cmd.CombinedOutput()
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != 2 || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: exit code %d, output %q; want 2 and %q", tc.args, code, out, tc.want)
		}
		if entries, _ := os.ReadDir(cmd.Dir); len(entries) != 0 {
			t.Errorf("%v wrote %s", tc.args, entries[0].Name())
		}
	}
	if entries, _ := os.ReadDir(taken); len(entries) != 1 {
		t.Errorf("new wrote into a non-empty directory: %v", entries)
	}
}

// TestNewCreatesApp runs the command as a user would; the app's build and
// behaviour are tested in internal/newapp.
func TestNewCreatesApp(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	// In an empty directory of its own: PATH is ".".
	cmd := cli(t, "new", ".", "--db", "postgres", "--trellis-dir", root)
	cmd.Dir = filepath.Join(cmd.Dir, "shop")
	if err := os.Mkdir(cmd.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("trellis new: %v\n%s", err, out)
	}
	for _, want := range []string{"module shop, PostgreSQL", "Trellis checkout at " + root, "createdb shop", "go run .", "go test ./..."} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "cd ") {
		t.Errorf("the output says to cd into the current directory:\n%s", out)
	}
	for _, f := range []string{"go.mod", "go.sum", "main.go", "views/layout_templ.go", "config/trellis.toml"} {
		if _, err := os.Stat(filepath.Join(cmd.Dir, f)); err != nil {
			t.Errorf("no %s: %v", f, err)
		}
	}
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenerateCommand runs `trellis generate` as a process in a minimal
// app: it writes and reports files, and answers mistakes with exit code 2
// and a message, writing nothing.
func TestGenerateCommand(t *testing.T) {
	dir := t.TempDir()
	for path, content := range map[string]string{
		"go.mod":                     "module example.com/shop\n\ngo 1.26\n",
		"app.go":                     "package main\n",
		"routes.go":                  "package main\n\nfunc routes() {\n\t// trellis:routes\n}\n",
		"views/nav.go":               "package views\n\nvar Nav = []NavLink{\n\t// trellis:nav\n}\n",
		"migrations/sqlite/README":   "",
		"migrations/postgres/README": "",
	} {
		p := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	generate := func(args ...string) (string, int) {
		t.Helper()
		cmd := cli(t, append([]string{"generate"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	out, code := generate("scaffold", "Widget", "label:string", "size:int")
	if code != 0 || !strings.Contains(out, "created widgets.go\n") || !strings.Contains(out, "created migrations/postgres/00001_create_widgets.sql\n") ||
		!strings.Contains(out, "updated routes.go\n") {
		t.Fatalf("scaffold: exit %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "routes.go")); !strings.Contains(string(b), "\tregisterWidgets(app)\n\t// trellis:routes\n") {
		t.Errorf("routes.go:\n%s", b)
	}
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"scaffold", "Widget", "label:string"}, "file exists (use --force to overwrite): widgets.go"},
		{[]string{"scaffold", "Gadget", "label:strin"}, `unknown type "strin"`},
		{[]string{"scaffold", "Gadget", "type:string"}, "Go keyword"},
		{[]string{"scaffold", "Gadgets", "label:string"}, "looks plural"},
		{[]string{"job", "send_report"}, `app.go has no "// trellis:jobs" line`},
		{[]string{"migration", "Bad-Name"}, "migration name"},
		{[]string{"scaffold"}, "requires at least 1 arg"},
	} {
		before, _ := os.ReadDir(dir)
		out, code := generate(c.args...)
		if code != 2 || !strings.Contains(out, c.says) {
			t.Errorf("%v: exit %d, want 2 saying %q\n%s", c.args, code, c.says, out)
		}
		if after, _ := os.ReadDir(dir); len(after) != len(before) {
			t.Errorf("%v wrote files", c.args)
		}
	}
	if out, code := generate("scaffold", "Widget", "label:string", "--force"); code != 0 {
		t.Errorf("--force: exit %d\n%s", code, out)
	}
}

package generate

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newSkeleton writes the app layout `trellis new` writes (a minimal one,
// from testdata/skeleton) into a temporary directory and returns it. Files
// named *.txt there lose the suffix, so the checkout's tools skip them;
// go.mod points at this checkout.
func newSkeleton(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := os.DirFS("testdata/skeleton")
	err = fs.WalkDir(src, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(src, path)
		if err != nil {
			return err
		}
		b = []byte(strings.ReplaceAll(string(b), "{{ROOT}}", root))
		dst := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(path, ".txt")))
		if strings.HasSuffix(dst, ".templ") {
			out, err := TemplGo(strings.TrimSuffix(path, ".txt"), b)
			if err != nil {
				return err
			}
			if err := writeFile(strings.TrimSuffix(dst, ".templ")+"_templ.go", out); err != nil {
				return err
			}
		}
		return writeFile(dst, b)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// snapshot reads every file under dir, for comparing before and after.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

package generate

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/trellis-go/trellis/internal/newapp"
)

// newSkeleton creates an app with `trellis new` (module example.com/shop)
// in a temporary directory, its go.mod pointing at this checkout.
func newSkeleton(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := newapp.Create(context.Background(), newapp.Options{Dir: dir, Module: "example.com/shop", TrellisDir: root}); err != nil {
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

package db_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/trellis-go/trellis/db"
)

func TestCreateMigrationNumbersLikeTheFramework(t *testing.T) {
	dir := t.TempDir()
	paths, err := db.CreateMigration(dir, "create_widgets")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "sqlite", "00001_create_widgets.sql"), filepath.Join(dir, "postgres", "00001_create_widgets.sql")}
	if len(paths) != 2 || paths[0] != want[0] || paths[1] != want[1] {
		t.Fatalf("paths %v, want %v", paths, want)
	}
	// The next number follows the highest in either dialect.
	if err := os.WriteFile(filepath.Join(dir, "postgres", "00007_pg_only.sql"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	paths, err = db.CreateMigration(dir, "add_index")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(paths[0]) != "00008_add_index.sql" || filepath.Base(paths[1]) != "00008_add_index.sql" {
		t.Errorf("second migration: %v", paths)
	}
	if _, err := db.CreateMigration(dir, "Bad Name"); !errors.Is(err, db.ErrMigrationName) {
		t.Errorf("bad name: %v", err)
	}
	// The framework's own migrations follow the same rule.
	for _, d := range []string{"migrations/sqlite", "migrations/postgres"} {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if ok, _ := filepath.Match("[0-9][0-9][0-9][0-9][0-9]_*.sql", e.Name()); !ok {
				t.Errorf("framework migration %s/%s is not named NNNNN_name.sql", d, e.Name())
			}
		}
	}
}

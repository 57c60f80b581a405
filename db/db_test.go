package db_test

import (
	"context"
	"errors"
	"testing"
	"testing/fstest"

	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/trellistest"
)

func openBoth(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			cfg := config.Default(config.Test).Database
			if name == "postgres" {
				cfg.URL = trellistest.PostgresURL(t)
			}
			d, err := db.Open(context.Background(), cfg, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.Close() })
			fn(t, d)
		})
	}
}

func migrations(files map[string]string) db.Source {
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys["sqlite/"+name] = &fstest.MapFile{Data: []byte(body)}
		fsys["postgres/"+name] = &fstest.MapFile{Data: []byte(body)}
	}
	return db.Source{Name: "app", Table: "app_schema_migrations", FS: fsys}
}

func tableExists(t *testing.T, d *db.DB, name string) bool {
	t.Helper()
	q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	if d.Dialect == db.Postgres {
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = ?"
	}
	var n int
	if err := d.SQL.QueryRow(d.Rebind(q), name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func TestMigrateRollbackStatusReset(t *testing.T) {
	openBoth(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		src := migrations(map[string]string{
			"00001_a.sql": "-- +goose Up\nCREATE TABLE a (id INTEGER PRIMARY KEY);\n-- +goose Down\nDROP TABLE a;\n",
			"00002_b.sql": "-- +goose Up\nCREATE TABLE b (id INTEGER PRIMARY KEY);\n-- +goose Down\nDROP TABLE b;\n",
		})
		n, err := d.Migrate(ctx, nil, src)
		if err != nil || n != 2 || !tableExists(t, d, "a") || !tableExists(t, d, "b") {
			t.Fatalf("migrate: %d %v", n, err)
		}
		if n, err := d.Migrate(ctx, nil, src); err != nil || n != 0 {
			t.Fatalf("second migrate applied %d (%v)", n, err)
		}
		v, err := d.Rollback(ctx, src)
		if err != nil || v != 2 || tableExists(t, d, "b") || !tableExists(t, d, "a") {
			t.Fatalf("rollback: %d %v", v, err)
		}
		st, err := d.Status(ctx, src)
		if err != nil || len(st) != 2 || !st[0].Applied || st[1].Applied {
			t.Fatalf("status: %+v %v", st, err)
		}
		if err := d.Reset(ctx, nil, src); err != nil || !tableExists(t, d, "b") {
			t.Fatalf("reset: %v", err)
		}
	})
}

func TestFailedMigrationLeavesSchemaUnchanged(t *testing.T) {
	openBoth(t, func(t *testing.T, d *db.DB) {
		src := migrations(map[string]string{
			"00001_ok.sql":     "-- +goose Up\nCREATE TABLE ok (id INTEGER PRIMARY KEY);\n-- +goose Down\nDROP TABLE ok;\n",
			"00002_broken.sql": "-- +goose Up\nCREATE TABLE half (id INTEGER PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n-- +goose Down\nDROP TABLE half;\n",
		})
		_, err := d.Migrate(context.Background(), nil, src)
		if !errors.Is(err, db.ErrMigration) {
			t.Fatalf("err = %v, want ErrMigration", err)
		}
		if !tableExists(t, d, "ok") {
			t.Error("the good migration before the broken one was not kept")
		}
		if tableExists(t, d, "half") {
			t.Error("the broken migration left a table behind")
		}
	})
}

func TestOpenSQLitePragmas(t *testing.T) {
	d, err := db.Open(context.Background(), config.Default(config.Test).Database, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000", "synchronous": "1"} {
		var got string
		if err := d.SQL.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil || got != want {
			t.Errorf("PRAGMA %s = %q (%v), want %q", pragma, got, err, want)
		}
	}
}

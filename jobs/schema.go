package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/trellis-go/trellis/db"
)

// MigrateSchema applies River's pending migrations and (re)creates the
// metrics triggers, returning how many River migrations ran. It is safe to
// run on every start and from several processes.
func MigrateSchema(ctx context.Context, d *db.DB, logger *slog.Logger) (int, error) {
	var n int
	var err error
	if d.Dialect == db.Postgres {
		// River's migrator takes no lock: processes starting together on
		// a new database would create the same objects at once.
		unlock, lerr := advisoryLock(ctx, d, riverMigrationLock)
		if lerr != nil {
			return 0, fmt.Errorf("jobs: River migrations: %w", lerr)
		}
		defer unlock()
		n, err = migrateRiver(ctx, riverpgxv5.New(d.Pool), logger, rivermigrate.DirectionUp, nil)
	} else {
		n, err = migrateRiver(ctx, riversqlite.New(d.SQL), logger, rivermigrate.DirectionUp, nil)
	}
	if err != nil {
		return n, fmt.Errorf("jobs: River migrations: %w", err)
	}
	return n, ensureCounterSchema(ctx, d)
}

// riverMigrationLock is the PostgreSQL advisory lock key held while
// River's migrations run.
const riverMigrationLock = 0x7472656c6c6972 // "trellir"

// advisoryLock takes a session-level advisory lock on a connection of
// its own and returns the function that releases both.
func advisoryLock(ctx context.Context, d *db.DB, key int64) (func(), error) {
	conn, err := d.Pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		conn.Release()
		return nil, err
	}
	return func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
		conn.Release()
	}, nil
}

// RemoveSchema drops River's tables (and with them every job and the
// metrics triggers), for `trellis db reset`.
func RemoveSchema(ctx context.Context, d *db.DB, logger *slog.Logger) error {
	opts := &rivermigrate.MigrateOpts{TargetVersion: -1}
	var err error
	if d.Dialect == db.Postgres {
		_, err = migrateRiver(ctx, riverpgxv5.New(d.Pool), logger, rivermigrate.DirectionDown, opts)
	} else {
		_, err = migrateRiver(ctx, riversqlite.New(d.SQL), logger, rivermigrate.DirectionDown, opts)
	}
	if err != nil {
		return fmt.Errorf("jobs: removing River tables: %w", err)
	}
	return nil
}

// SchemaVersion reports River's applied and latest migration versions;
// applied is 0 when River's tables do not exist. A database that cannot
// be read is an error, not version 0.
func SchemaVersion(ctx context.Context, d *db.DB) (applied, latest int, err error) {
	if d.Dialect == db.Postgres {
		return riverVersion(ctx, riverpgxv5.New(d.Pool))
	}
	return riverVersion(ctx, riversqlite.New(d.SQL))
}

func migrateRiver[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], logger *slog.Logger, dir rivermigrate.Direction, opts *rivermigrate.MigrateOpts) (int, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: logger})
	if err != nil {
		return 0, err
	}
	res, err := m.Migrate(ctx, dir, opts)
	if err != nil {
		return 0, err
	}
	return len(res.Versions), nil
}

func riverVersion[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) (int, int, error) {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return 0, 0, err
	}
	all := m.AllVersions()
	latest := 0
	if len(all) > 0 {
		latest = all[len(all)-1].Version
	}
	exists, err := driver.GetExecutor().TableExists(ctx, &riverdriver.TableExistsParams{Table: "river_migration"})
	if err != nil {
		return 0, latest, fmt.Errorf("jobs: reading River's schema version: %w", err)
	}
	if !exists {
		return 0, latest, nil // River's tables do not exist yet
	}
	existing, err := m.ExistingVersions(ctx)
	if err != nil {
		return 0, latest, fmt.Errorf("jobs: reading River's schema version: %w", err)
	}
	applied := 0
	if len(existing) > 0 {
		applied = existing[len(existing)-1].Version
	}
	return applied, latest, nil
}

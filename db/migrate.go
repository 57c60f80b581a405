package db

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Source is one set of migrations with its own version table. Its FS holds
// a directory per dialect ("sqlite/" and "postgres/") of goose SQL files;
// each migration runs in a transaction unless it says otherwise, so a
// failed migration leaves the schema as it was.
type Source struct {
	// Name identifies the set in messages ("trellis", "app").
	Name string
	// Table records applied versions, e.g. "trellis_schema_migrations".
	Table string
	// FS holds the sqlite/ and postgres/ directories.
	FS fs.FS
}

// MigrationStatus describes one migration of one source.
type MigrationStatus struct {
	Source  string
	Version int64
	Name    string
	Applied bool
}

// ErrMigration is wrapped by errors from failed migrations.
var ErrMigration = errors.New("migration failed")

func (d *DB) provider(src Source, logger *slog.Logger) (*goose.Provider, error) {
	sub, err := fs.Sub(src.FS, string(d.Dialect))
	if err != nil {
		return nil, fmt.Errorf("db: %s migrations for %s: %w", src.Name, d.Dialect, err)
	}
	dialect := goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithTableName(src.Table), goose.WithDisableGlobalRegistry(true)}
	if d.Dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("db: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	p, err := goose.NewProvider(dialect, d.SQL, sub, opts...)
	if errors.Is(err, goose.ErrNoMigrations) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("db: %s migrations: %w", src.Name, err)
	}
	return p, nil
}

// Migrate applies every pending migration of each source, in order.
// It returns the number applied.
func (d *DB) Migrate(ctx context.Context, logger *slog.Logger, sources ...Source) (int, error) {
	applied := 0
	for _, src := range sources {
		p, err := d.provider(src, logger)
		if err != nil || p == nil {
			if err != nil {
				return applied, err
			}
			continue
		}
		results, err := p.Up(ctx)
		applied += countApplied(results)
		if err != nil {
			return applied, fmt.Errorf("db: %s: %w: %w", src.Name, ErrMigration, err)
		}
	}
	return applied, nil
}

// Rollback undoes the most recent migration of src. It returns the version
// rolled back, or 0 when nothing was applied.
func (d *DB) Rollback(ctx context.Context, src Source) (int64, error) {
	p, err := d.provider(src, nil)
	if err != nil || p == nil {
		return 0, err
	}
	res, err := p.Down(ctx)
	if errors.Is(err, goose.ErrNoNextVersion) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("db: %s rollback: %w: %w", src.Name, ErrMigration, err)
	}
	return res.Source.Version, nil
}

// Reset rolls back every migration of the sources (last source first) and
// applies them all again.
func (d *DB) Reset(ctx context.Context, logger *slog.Logger, sources ...Source) error {
	for i := len(sources) - 1; i >= 0; i-- {
		p, err := d.provider(sources[i], logger)
		if err != nil {
			return err
		}
		if p == nil {
			continue
		}
		if _, err := p.DownTo(ctx, 0); err != nil {
			return fmt.Errorf("db: %s reset: %w: %w", sources[i].Name, ErrMigration, err)
		}
	}
	_, err := d.Migrate(ctx, logger, sources...)
	return err
}

// Status lists every migration of the sources and whether it is applied.
func (d *DB) Status(ctx context.Context, sources ...Source) ([]MigrationStatus, error) {
	var out []MigrationStatus
	for _, src := range sources {
		p, err := d.provider(src, nil)
		if err != nil {
			return nil, err
		}
		if p == nil {
			continue
		}
		st, err := p.Status(ctx)
		if err != nil {
			return nil, fmt.Errorf("db: %s status: %w", src.Name, err)
		}
		for _, s := range st {
			out = append(out, MigrationStatus{Source: src.Name, Version: s.Source.Version,
				Name: s.Source.Path, Applied: s.State == goose.StateApplied})
		}
	}
	return out, nil
}

func countApplied(results []*goose.MigrationResult) int {
	n := 0
	for _, r := range results {
		if r.Error == nil && !r.Empty {
			n++
		}
	}
	return n
}

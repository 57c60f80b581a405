package db

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// ErrMigrationName is returned by CreateMigration for a name that is not
// lower-case letters, digits and underscores starting with a letter.
var ErrMigrationName = errors.New("migration name: use lower-case letters, digits and underscores, starting with a letter")

var (
	migrationName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	migrationFile = regexp.MustCompile(`^(\d+)_.*\.sql$`)
)

// CreateMigration writes an empty goose migration named name for both
// dialects, dir/sqlite/NNNNN_name.sql and dir/postgres/NNNNN_name.sql, and
// returns their paths. Migrations are numbered — the framework's, the
// demo's and an app's alike: NNNNN is one more than the highest number in
// either directory, padded to five digits, so both dialects keep the same
// versions and the order stays readable in a file listing.
func CreateMigration(dir, name string) ([]string, error) {
	if !migrationName.MatchString(name) {
		return nil, fmt.Errorf("%w (got %q)", ErrMigrationName, name)
	}
	next, err := NextMigrationVersion(dir)
	if err != nil {
		return nil, err
	}
	file := fmt.Sprintf("%05d_%s.sql", next, name)
	dialects := []string{"sqlite", "postgres"}
	body := "-- +goose Up\n-- Write the change here; it runs in a transaction.\n\n-- +goose Down\n-- Write how to undo it.\n"
	var paths []string
	for _, dialect := range dialects {
		d := filepath.Join(dir, dialect)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", d, err)
		}
		p := filepath.Join(d, file)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, fmt.Errorf("creating migration: %w", err)
		}
		_, err = f.WriteString(body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// NextMigrationVersion is the number CreateMigration gives the next
// migration in dir: one more than the highest in dir/sqlite and
// dir/postgres, or 1 when there are none.
func NextMigrationVersion(dir string) (int, error) {
	next := 1
	for _, dialect := range []string{"sqlite", "postgres"} {
		entries, err := os.ReadDir(filepath.Join(dir, dialect))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("reading migrations: %w", err)
		}
		for _, e := range entries {
			if m := migrationFile.FindStringSubmatch(e.Name()); m != nil {
				if n, err := strconv.Atoi(m[1]); err == nil && n >= next {
					next = n + 1
				}
			}
		}
	}
	return next, nil
}

package db

import (
	"embed"
	"io/fs"
)

//go:embed migrations
var frameworkMigrations embed.FS

// Framework is the migration set for Trellis's own tables (sessions, users,
// roles, API tokens). Apps apply it before their own migrations.
func Framework() Source {
	sub, err := fs.Sub(frameworkMigrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return Source{Name: "trellis", Table: "trellis_schema_migrations", FS: sub}
}

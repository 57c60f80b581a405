package db

import (
	"embed"
	"io/fs"
)

//go:embed migrations
var frameworkMigrations embed.FS

// Framework is the migration set for Trellis's own tables (sessions, users,
// roles, API tokens). It is applied first, then River's tables, then App.
func Framework() Source {
	sub, err := fs.Sub(frameworkMigrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return Source{Name: "trellis", Table: "trellis_schema_migrations", FS: sub}
}

// App is the migration set of the app itself: fsys holds sqlite/ and
// postgres/ directories. Its versions are kept apart from the framework's.
func App(fsys fs.FS) Source {
	return Source{Name: "app", Table: "app_schema_migrations", FS: fsys}
}

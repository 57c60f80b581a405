package generate

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/trellis-go/trellis/db"
)

// Job writes a background job in package main: NAME_job.go (typed
// arguments, worker, register function) and NAME_job_test.go (enqueues
// one on every backend and waits for it to complete), and registers the
// worker above the "// trellis:jobs" line of app.go.
func Job(o Options, name string) (*Result, error) {
	n, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	dir := o.dir()
	if _, err := modulePath(dir); err != nil {
		return nil, err
	}
	data := struct{ N Name }{n}
	p := &plan{dir: dir, force: o.Force}
	for _, t := range []struct{ tmpl, path string }{
		{"job.go.tmpl", n.Snake() + "_job.go"},
		{"job_test.go.tmpl", n.Snake() + "_job_test.go"},
	} {
		b, err := render(t.tmpl, data)
		if err != nil {
			return nil, err
		}
		p.add(t.path, b)
	}
	if err := p.insert("app.go", "// trellis:jobs", "register"+n.Go()+"Job(app)",
		"in newApp after trellis.New, where job workers are registered"); err != nil {
		return nil, err
	}
	return p.write()
}

// Migration writes an empty migration for SQLite and PostgreSQL into the
// app's migrations directory, numbered after the existing ones (see
// db.CreateMigration).
func Migration(o Options, name string) (*Result, error) {
	if _, err := modulePath(o.dir()); err != nil {
		return nil, err
	}
	paths, err := db.CreateMigration(filepath.Join(o.dir(), "migrations"), name)
	if errors.Is(err, db.ErrMigrationName) {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	res := &Result{}
	for _, p := range paths {
		rel, err := filepath.Rel(o.dir(), p)
		if err != nil {
			rel = p
		}
		res.Created = append(res.Created, filepath.ToSlash(rel))
	}
	return res, nil
}

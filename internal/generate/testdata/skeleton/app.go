package main

import (
	"context"
	"embed"
	"io/fs"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"

	"example.com/shop/views"
)

//go:embed migrations
var migrations embed.FS

//go:embed static
var static embed.FS

// migrationsFS holds the sqlite/ and postgres/ migration directories.
func migrationsFS() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// newApp builds the app; main and the tests share it.
func newApp(ctx context.Context, cfg *config.Config, opts ...trellis.Option) (*trellis.App, error) {
	assets, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	opts = append([]trellis.Option{
		trellis.WithMigrations(migrationsFS()),
		trellis.WithAssets(assets),
		trellis.WithLayout(views.Layout),
	}, opts...)
	app, err := trellis.New(ctx, cfg, opts...)
	if err != nil {
		return nil, err
	}
	// trellis:jobs
	routes(app)
	return app, nil
}

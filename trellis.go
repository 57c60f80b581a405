// Package trellis is an opinionated web framework for server-rendered htmx
// applications. An App wires configuration, logging, the database, static
// assets, rendering, health checks and a secure default middleware stack:
//
//	cfg, err := config.Load(config.Options{})
//	app, err := trellis.New(context.Background(), cfg)
//	app.Get("/", func(w http.ResponseWriter, r *http.Request) {
//		app.Render.Page(w, r, "Home", views.Home())
//	})
//	err = app.Run(context.Background())
//
// Handlers are plain net/http handlers; per-request data (CSP nonce,
// request id) travels in the request context.
package trellis

import (
	"io"
	"log/slog"

	"github.com/trellis-go/trellis/config"
)

// NewLogger builds the app logger from the [logging] section: text or JSON
// lines on w at the configured level.
func NewLogger(cfg config.Logging, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

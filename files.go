package trellis

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/health"
	"github.com/trellis-go/trellis/storage"
	"github.com/trellis-go/trellis/uploads"
)

// setupFiles builds the file store from [storage] and the upload manager
// (App.Files), with its thumbnail and cleanup jobs.
func (a *App) setupFiles() error {
	cfg := a.Config.Storage
	prefix, _ := a.opts.mountedAt(Files)
	if prefix == off {
		prefix = defaultMounts[Files]
	}
	var signer *storage.Signer
	key := []byte(cfg.SigningKey)
	if len(key) == 0 && a.Config.Profile != config.Production {
		key = make([]byte, 32) // per process: signed URLs end with it
		_, _ = rand.Read(key)
	}
	if len(key) > 0 {
		s, err := storage.NewSigner(key, prefix+"/signed")
		if err != nil {
			return fmt.Errorf("trellis: storage.signing_key: %w", err)
		}
		signer = s
	}
	var store storage.Store
	switch cfg.Driver {
	case "s3":
		s3, err := storage.NewS3(storage.S3Options{
			Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket, Region: cfg.S3Region,
			AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey, PathStyle: cfg.S3PathStyle,
		})
		if err != nil {
			return fmt.Errorf("trellis: storage.s3_endpoint: %w", err)
		}
		a.Health.Add(health.Check{Name: "storage", Required: true, Func: s3.Check})
		store = s3
	default:
		dir := cfg.LocalDir
		if dir == "" {
			dir = filepath.Join(a.Config.App.DataDir, "files")
		}
		local, err := storage.NewLocal(dir, signer)
		if err != nil {
			return fmt.Errorf("trellis: storage.local_dir: %w", err)
		}
		a.OnShutdown(func(context.Context) error { return local.Close() })
		store = local
	}
	m, err := uploads.New(uploads.Options{
		Config: cfg, Store: store, Signer: signer, DB: a.DB, Jobs: a.Jobs, Render: a.Render, Logger: a.Logger,
	})
	if err != nil {
		return fmt.Errorf("trellis: %w", err)
	}
	a.Files = m
	return nil
}

// Upload registers h for POST requests to pattern as a streamed upload
// route: its multipart body is not parsed up front but left for
// App.Files.Receive to read part by part, and it may be as large as
// storage.max_request_bytes instead of server.max_body_bytes. Its CSRF
// token comes from the X-CSRF-Token header (htmx) or the body's first part
// (the upload form puts it there). Register it like any route, before the
// app serves.
func (a *App) Upload(pattern string, h http.HandlerFunc) {
	a.mu.Lock()
	if a.uploadRoutes == nil {
		a.uploadRoutes = chi.NewRouter()
	}
	a.uploadRoutes.Post(pattern, func(http.ResponseWriter, *http.Request) {})
	a.mu.Unlock()
	a.Router.Post(pattern, h)
}

// streamedUpload reports whether r is for a route registered with Upload.
func (a *App) streamedUpload(r *http.Request) (int64, bool) {
	a.mu.Lock()
	mux := a.uploadRoutes
	a.mu.Unlock()
	if mux == nil || !mux.Match(chi.NewRouteContext(), r.Method, r.URL.Path) {
		return 0, false
	}
	return a.Config.Storage.MaxRequestBytes, true
}

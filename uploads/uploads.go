// Package uploads receives files from multipart forms and serves them back
// safely.
//
// Receiving ([Manager.Receive]) streams each part to the [storage.Store]:
// memory holds the first few kilobytes used to sniff the type (images, which
// are re-encoded, are held whole, within their field's size limit). The type
// is decided from the bytes (gabriel-vasile/mimetype) against the field's
// allowlist; a type or extension the client claims that disagrees with the
// bytes is refused with 422, a file over its limit with 413 as soon as the
// limit is passed. Each file gets a row in trellis_files, written as
// pending before the object and made ready — together with the app's own
// rows (Policy.Attach) — once every file is stored, so a failure leaves
// neither object nor row, and the cleanup job removes what a crash leaves.
//
// Serving ([Manager.Routes]) is private: GET /files/{id} serves the file to
// whoever Manager.Authorize allows (by default its owner; anybody else gets
// 404), and signed expiring URLs serve it without a session. Responses
// carry nosniff, a sandboxing Content-Security-Policy, and
// Content-Disposition: attachment unless the type is on a short list of
// types safe to show inline (images other than SVG, plain text, audio and
// video) — never HTML, SVG or XML. Range and conditional requests are
// answered by http.ServeContent.
package uploads

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/storage"
)

// ErrNoSigningKey is returned by SignedURL on the local store when no
// signing key is configured (production without storage.signing_key).
var ErrNoSigningKey = storage.ErrNoSigner

// File is a stored file's record.
type File struct {
	// ID identifies the record.
	ID int64
	// OwnerID is the user who uploaded it (0: none).
	OwnerID int64
	// Key is the object's storage key.
	Key string
	// Field is the form field it came from.
	Field string
	// Size is its length in bytes.
	Size int64
	// ContentType is the type decided from its bytes.
	ContentType string
	// SHA256 is the hex SHA-256 of the stored bytes.
	SHA256 string
	// Name is the client's file name, sanitised; metadata only, never
	// used as a path.
	Name string
	// Width and Height are an image's dimensions (0 otherwise).
	Width, Height int
	// ThumbKey is the thumbnail's storage key, once the job made it.
	ThumbKey string
	// CreatedAt is when it was uploaded.
	CreatedAt time.Time
}

// Options configure a Manager.
type Options struct {
	// Config is the [storage] section.
	Config config.Storage
	// Store holds the objects.
	Store storage.Store
	// Signer signs local URLs (nil: none).
	Signer *storage.Signer
	// DB holds the records (trellis_files).
	DB *db.DB
	// Jobs runs thumbnails and the cleanup (nil: thumbnails are not made).
	Jobs *jobs.Engine
	// Render answers errors.
	Render *render.Renderer
	// Logger logs failures of background work.
	Logger *slog.Logger
}

// Manager receives, records, serves and deletes uploaded files. Build it
// with New; an App has one as App.Files.
type Manager struct {
	// Store holds the objects.
	Store storage.Store
	// Authorize reports whether the request may read f through the app
	// route. The default allows the signed-in owner only; anybody else
	// gets 404, as if the file did not exist. Set it before serving.
	Authorize func(r *http.Request, f *File) bool

	cfg    config.Storage
	signer *storage.Signer
	db     *db.DB
	jobs   *jobs.Engine
	render *render.Renderer
	logger *slog.Logger
	now    func() time.Time
}

// New returns a Manager and registers its jobs (thumbnails, cleanup and
// its schedule) with o.Jobs when given.
func New(o Options) (*Manager, error) {
	if o.Store == nil || o.DB == nil || o.Render == nil {
		return nil, errors.New("uploads: New needs a store, a database and a renderer")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{
		Store: o.Store, cfg: o.Config, signer: o.Signer, db: o.DB, jobs: o.Jobs,
		render: o.Render, logger: o.Logger, now: time.Now,
		Authorize: OwnerOnly,
	}
	if o.Jobs != nil {
		jobs.Register(o.Jobs, &thumbWorker{m: m})
		jobs.Register(o.Jobs, &cleanupWorker{m: m})
		if err := o.Jobs.Schedule("trellis_files_cleanup", o.Config.CleanupSchedule, func() jobs.Args { return CleanupArgs{} }, nil); err != nil {
			return nil, fmt.Errorf("uploads: storage.cleanup_schedule: %w", err)
		}
	}
	return m, nil
}

// OwnerOnly is the default Authorize: the signed-in user owns the file.
func OwnerOnly(r *http.Request, f *File) bool {
	u := auth.CurrentUser(r.Context())
	return u != nil && f.OwnerID != 0 && u.ID == f.OwnerID
}

// Config is the [storage] configuration the manager applies.
func (m *Manager) Config() config.Storage { return m.cfg }

// SignedURL returns an expiring URL serving f (its thumbnail when thumb
// is true) without a session, valid for storage.url_ttl.
func (m *Manager) SignedURL(ctx context.Context, f *File, thumb bool) (string, error) {
	key, ctype, name := f.Key, f.ContentType, f.Name
	if thumb {
		if f.ThumbKey == "" {
			return "", fmt.Errorf("uploads: file %d has no thumbnail yet: %w", f.ID, storage.ErrNotFound)
		}
		key, ctype, name = f.ThumbKey, thumbType, "thumbnail.png"
	}
	ctype, disp := presentation(ctype, name)
	return m.Store.SignedURL(ctx, key, m.cfg.URLTTL, storage.SignOptions{ContentType: ctype, Disposition: disp})
}

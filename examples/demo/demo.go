// Package demo is the Trellis showcase app that `trellis demo` runs: htmx
// partials, out-of-band swaps, triggers, polling and error handling on the
// embedded SQLite database.
package demo

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/examples/demo/views"
	"github.com/trellis-go/trellis/htmx"
	"github.com/trellis-go/trellis/mail"
	"github.com/trellis-go/trellis/render"
)

//go:embed migrations
var migrations embed.FS

// Policies are the demo's authorization rules and their schema.
//
//go:embed policies
var policies embed.FS

// AdminEmail is the demo's administrator account.
const AdminEmail = "admin@example.com"

// New builds the demo app on cfg, adding the job playground's queue to
// jobs.queues (see PlaygroundQueue) unless it is listed. adminPassword is the password of
// admin@example.com when that account is created; empty means a random one,
// printed once to standard error.
func New(ctx context.Context, cfg *config.Config, adminPassword string, opts ...trellis.Option) (*trellis.App, error) {
	migrationsFS, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	policiesFS, err := fs.Sub(policies, "policies")
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	d := &demo{}
	fl := &files{}
	addPlaygroundQueue(cfg)
	opts = append([]trellis.Option{
		trellis.WithMigrations(migrationsFS),
		trellis.WithPolicies(policiesFS),
		trellis.WithNav(templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
			if err := views.Nav(d.clicks(ctx), d.mailOutbox).Render(ctx, w); err != nil {
				return err
			}
			if a, ok := fl.navAvatar(ctx); ok {
				return views.NavAvatar(a).Render(ctx, w)
			}
			return nil
		})),
	}, opts...)
	app, err := trellis.New(ctx, cfg, opts...)
	if err != nil {
		return nil, err
	}
	d.app = app
	d.mailPreviews(app)
	fl.app = app
	if err := seedAdmin(app, adminPassword); err != nil {
		_ = app.Close(context.Background())
		return nil, err
	}
	if err := d.registerJobs(app); err != nil {
		_ = app.Close(context.Background())
		return nil, err
	}
	n := &notes{app: app, db: app.DB, files: fl}
	n.routes(app)
	fl.routes(app, n)
	app.Get("/", d.index)
	app.Get("/about", d.about)
	app.Post("/counter", d.increment)
	app.Get("/activity", d.activity)
	app.Get("/clock", d.clock)
	app.Get("/countdown", d.countdown)
	app.Get("/demo/panic", func(http.ResponseWriter, *http.Request) { panic("demo: deliberate panic") })
	return app, nil
}

type demo struct {
	app *trellis.App
	// mailOutbox is the outbox link in the nav: set in development when
	// mail is stored rather than sent.
	mailOutbox string
}

// mailPreviews registers the demo's mail templates for
// /dev/mail/previews and, in development with the outbox in use, links
// the outbox from the nav.
func (d *demo) mailPreviews(app *trellis.App) {
	app.Mail.Preview("welcome", func(context.Context) mail.Message {
		link := app.Mail.URL("/notes")
		return mail.Message{
			To: []string{"Ann Example <ann@example.com>"}, Subject: "Welcome to the Trellis demo",
			HTML: views.WelcomeMail("Ann <Example>", link), Text: views.WelcomeText("Ann <Example>", link),
		}
	})
	if app.Config.Profile == config.Development && app.Mail.Outbox() != nil {
		d.mailOutbox = "/dev/mail"
	}
}

func (d *demo) index(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	count, err := d.count(ctx)
	if err != nil {
		d.app.Render.Error(w, r, err)
		return
	}
	items, err := d.recent(ctx)
	if err != nil {
		d.app.Render.Error(w, r, err)
		return
	}
	d.app.Render.Page(w, r, "Home", views.Index(count, items, time.Now()))
}

func (d *demo) about(w http.ResponseWriter, r *http.Request) {
	mode := "a partial"
	if htmx.ParseRequest(r).WantsFullPage() {
		mode = "a full page"
	}
	d.app.Render.Page(w, r, "About", views.About(mode))
}

func (d *demo) increment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	db := d.app.DB
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		d.app.Render.Error(w, r, err)
		return
	}
	defer func() { _ = tx.Rollback() }()
	var n int64
	err = tx.QueryRowContext(ctx, db.Rebind(`INSERT INTO demo_counters (name, value) VALUES ('clicks', 1)
		ON CONFLICT (name) DO UPDATE SET value = demo_counters.value + 1 RETURNING value`)).Scan(&n)
	if err == nil {
		_, err = tx.ExecContext(ctx, db.Rebind(`INSERT INTO demo_activity (message) VALUES (?)`), "Counter reached "+strconv.FormatInt(n, 10))
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		d.app.Render.Error(w, r, fmt.Errorf("demo: incrementing counter: %w", err))
		return
	}
	if err := htmx.Trigger(w, "counter-changed", map[string]int64{"value": n}); err != nil {
		d.app.Render.Error(w, r, err)
		return
	}
	if !htmx.IsRequest(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	d.app.Render.Fragment(w, r, http.StatusOK, templ.Join(
		views.Counter(n),
		htmx.OOB("span", "click-total", "innerHTML", views.ClickCount(n)),
	))
}

func (d *demo) activity(w http.ResponseWriter, r *http.Request) {
	items, err := d.recent(r.Context())
	if err != nil {
		d.app.Render.Error(w, r, err)
		return
	}
	d.app.Render.Fragment(w, r, http.StatusOK, views.ActivityList(items))
}

func (d *demo) clock(w http.ResponseWriter, r *http.Request) {
	d.app.Render.Fragment(w, r, http.StatusOK, views.Clock(time.Now()))
}

func (d *demo) countdown(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	if err != nil || n < 0 || n > 60 {
		d.app.Render.Error(w, r, render.NewError(http.StatusBadRequest, "n must be a whole number from 0 to 60."))
		return
	}
	if n <= 1 {
		d.app.Render.Fragment(w, r, htmx.StatusStopPolling, views.Countdown(0, true))
		return
	}
	d.app.Render.Fragment(w, r, http.StatusOK, views.Countdown(n-1, false))
}

func (d *demo) count(ctx context.Context) (int64, error) {
	var n int64
	err := d.app.DB.SQL.QueryRowContext(ctx, `SELECT COALESCE(MAX(value), 0) FROM demo_counters WHERE name = 'clicks'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("demo: reading counter: %w", err)
	}
	return n, nil
}

// clicks is the header badge's value; the nav renders even when the
// database is down, so it reports 0 on error.
func (d *demo) clicks(ctx context.Context) int64 {
	n, _ := d.count(ctx)
	return n
}

func (d *demo) recent(ctx context.Context) ([]views.Activity, error) {
	rows, err := d.app.DB.SQL.QueryContext(ctx, `SELECT message, created_at FROM demo_activity ORDER BY id DESC LIMIT 5`)
	if err != nil {
		return nil, fmt.Errorf("demo: reading activity: %w", err)
	}
	defer rows.Close()
	var items []views.Activity
	for rows.Next() {
		var a views.Activity
		if err := rows.Scan(&a.Message, &a.At); err != nil {
			return nil, fmt.Errorf("demo: reading activity: %w", err)
		}
		items = append(items, a)
	}
	return items, rows.Err()
}

// seedAdmin creates admin@example.com with the admin role unless it exists.
func seedAdmin(app *trellis.App, password string) error {
	ctx := context.Background()
	if _, err := app.Auth.Users.ByEmail(ctx, AdminEmail); err == nil {
		return nil
	} else if !errors.Is(err, auth.ErrNotFound) {
		return fmt.Errorf("demo: looking up the admin: %w", err)
	}
	generated := password == ""
	if generated {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		password = base64.RawURLEncoding.EncodeToString(b)
	}
	if _, err := app.Auth.CreateUser(ctx, AdminEmail, "Demo admin", password, auth.RoleAdmin); err != nil {
		return fmt.Errorf("demo: creating the admin: %w", err)
	}
	// Hashing the password took argon2id's 19 MiB; give it back now rather
	// than when the scavenger gets to it.
	debug.FreeOSMemory()
	if generated {
		fmt.Fprintf(os.Stderr, "\n  Demo admin account created: %s / %s\n  (shown once; set TRELLIS_DEMO_ADMIN_PASSWORD to choose it)\n\n", AdminEmail, password)
	}
	return nil
}

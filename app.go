package trellis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"
	"github.com/redis/go-redis/v9"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/csrf"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/form"
	"github.com/trellis-go/trellis/health"
	"github.com/trellis-go/trellis/jobs"
	jobsadmin "github.com/trellis-go/trellis/jobs/admin"
	"github.com/trellis-go/trellis/middleware"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/session"
	"github.com/trellis-go/trellis/static"
	"github.com/trellis-go/trellis/ui"
)

// App is a configured Trellis application. Register routes on it (it embeds
// a chi.Router whose routes run behind the full middleware stack), then call
// Run. Build one with New.
type App struct {
	chi.Router

	// Config is the configuration the app was built from.
	Config *config.Config
	// Logger is the app's structured logger.
	Logger *slog.Logger
	// Render renders pages, partials and error pages.
	Render *render.Renderer
	// Assets serves and names the static files.
	Assets *static.Assets
	// Site is what layouts need: name, assets, htmx configuration, nav.
	Site *ui.Site
	// DB is the app's database.
	DB *db.DB
	// Health serves the health endpoints; add checks for new components.
	Health *health.Health
	// Sessions loads and saves sessions (nil without a database).
	Sessions *session.Manager
	// Auth provides accounts, RequireUser and RequireRole (nil without a
	// database).
	Auth *auth.Auth
	// CSRF protects unsafe requests (nil without a database).
	CSRF *csrf.Protector
	// Redis is the shared client when redis.url is set, else nil.
	Redis *redis.Client
	// Jobs runs background jobs (nil without a database).
	Jobs *jobs.Engine
	// Forms decodes, validates and re-renders forms.
	Forms *form.Forms

	root     *chi.Mux
	handler  http.Handler
	shutdown []func(context.Context) error

	startOnce sync.Once
	startErr  error
}

// Option customises New.
type Option func(*options)

type options struct {
	assets     []fs.FS
	migrations fs.FS
	logOutput  io.Writer
	nav        templ.Component
	head       templ.Component
	noDatabase bool
	noAuth     bool
}

// WithAssets adds an app asset layer; its files override the framework's
// files of the same name and are served under /static/.
func WithAssets(fsys fs.FS) Option {
	return func(o *options) { o.assets = append(o.assets, fsys) }
}

// WithMigrations adds the app's migrations: fsys holds sqlite/ and
// postgres/ directories of goose SQL files. They run after the framework's.
func WithMigrations(fsys fs.FS) Option {
	return func(o *options) { o.migrations = fsys }
}

// WithLogOutput sends logs to w instead of standard error.
func WithLogOutput(w io.Writer) Option {
	return func(o *options) { o.logOutput = w }
}

// WithNav sets the navigation rendered in the default layout's header.
func WithNav(c templ.Component) Option {
	return func(o *options) { o.nav = c }
}

// WithHead adds markup to the default layout's <head>.
func WithHead(c templ.Component) Option {
	return func(o *options) { o.head = c }
}

// WithoutDatabase builds an app with no database, and therefore no
// sessions, CSRF tokens or accounts (App.DB is nil).
func WithoutDatabase() Option {
	return func(o *options) { o.noDatabase = true }
}

// WithoutAuthRoutes keeps sessions, CSRF and App.Auth but does not mount
// the built-in /login, /register, /logout, /account and role API routes.
func WithoutAuthRoutes() Option {
	return func(o *options) { o.noAuth = true }
}

// New wires an App from cfg: logger, assets, renderer, database (opened and
// migrated), health checks, router and the default middleware stack. On
// failure it releases what it opened.
func New(cfg *config.Config, opts ...Option) (*App, error) {
	if cfg == nil {
		return nil, fmt.Errorf("trellis: New needs a config (use config.Load or config.Default)")
	}
	o := &options{logOutput: os.Stderr}
	for _, opt := range opts {
		opt(o)
	}
	a := &App{Config: cfg, Logger: NewLogger(cfg.Logging, o.logOutput)}

	var err error
	layers := append(append([]fs.FS{}, o.assets...), static.FrameworkFS())
	if a.Assets, err = static.New(layers...); err != nil {
		return nil, fmt.Errorf("trellis: loading assets: %w", err)
	}
	if a.Site, err = ui.NewSite(cfg.App.Name, a.Assets, cfg.HTMX); err != nil {
		return nil, err
	}
	a.Site.Nav, a.Site.Head = o.nav, o.head
	a.Render = render.New(render.Options{
		Layout: func(title string, content templ.Component) templ.Component {
			return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
				return ui.Page(a.Site, title).Render(templ.WithChildren(ctx, content), w)
			})
		},
		ErrorPage:     ui.ErrorPage,
		ErrorFragment: ui.ErrorFragment,
		Logger:        a.Logger,
		Classify: func(err error) int {
			if db.Unavailable(err) {
				return http.StatusServiceUnavailable
			}
			return 0
		},
	})
	a.Forms = form.New(a.Render)
	a.Assets = a.Assets.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, status int) {
		a.Render.Status(w, r, status, nil)
	})
	a.Health = health.New(cfg.App.Version, cfg.Health.CheckTimeout, a.Logger)

	if !o.noDatabase {
		if err := a.openDatabase(o.migrations); err != nil {
			return nil, err
		}
		if err := a.setupAccounts(); err != nil {
			_ = a.Close(context.Background())
			return nil, err
		}
		if err := a.setupJobs(); err != nil {
			_ = a.Close(context.Background())
			return nil, err
		}
	}
	a.routes()
	if a.Auth != nil && !o.noAuth {
		a.Auth.Routes(a.Router)
	}
	if a.Jobs != nil {
		admin, err := jobsadmin.New(jobsadmin.Options{Engine: a.Jobs, Render: a.Render, Sessions: a.Sessions, Logger: a.Logger})
		if err != nil {
			_ = a.Close(context.Background())
			return nil, fmt.Errorf("trellis: %w", err)
		}
		a.Router.Group(func(r chi.Router) {
			r.Use(a.Auth.RequireRole(auth.RoleAdmin))
			admin.Routes(r)
		})
	}
	return a, nil
}

func (a *App) openDatabase(appMigrations fs.FS) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := db.Open(ctx, a.Config.Database, a.Config.App.DataDir)
	if err != nil {
		return fmt.Errorf("trellis: %w", err)
	}
	a.DB = d
	sources := []db.Source{db.Framework()}
	if appMigrations != nil {
		sources = append(sources, db.Source{Name: "app", Table: "app_schema_migrations", FS: appMigrations})
	}
	if a.Config.Database.Migrate {
		n, err := d.Migrate(ctx, nil, sources...)
		if err != nil {
			_ = d.Close()
			return fmt.Errorf("trellis: applying migrations: %w", err)
		}
		if n > 0 {
			a.Logger.Info("migrations applied", slog.Int("count", n))
		}
	}
	a.Health.Add(health.Check{Name: "database", Required: true, Func: d.Ping})
	return nil
}

// routes builds the root router (static files, health, app routes) and wraps
// it in the default middleware stack.
func (a *App) routes() {
	root := chi.NewRouter()
	root.Use(chimw.GetHead)
	// Error pages load the session and user too, so the layout shows
	// who is signed in.
	root.NotFound(a.errorChain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.Render.Status(w, r, http.StatusNotFound, nil)
	})).ServeHTTP)
	root.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", strings.Join(allowedMethods(root, r), ", "))
		a.errorChain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.Render.Status(w, r, http.StatusMethodNotAllowed, nil)
		})).ServeHTTP(w, r)
	})
	root.Handle(a.Assets.Prefix()+"*", a.Assets)
	root.Get("/favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, a.Assets.Path("favicon.svg"), http.StatusMovedPermanently)
	})
	root.Get("/health/live", a.Health.Live)
	root.Get("/health/ready", a.Health.Ready)
	root.Get("/health", a.Health.Ready)
	if a.Config.Metrics.Enabled {
		root.Method(http.MethodGet, a.Config.Metrics.Path, a.metricsHandler())
	}
	a.root = root
	a.Router = root.With(a.requestChain)

	cfg := a.Config
	trusted, _ := middleware.ParseTrustedProxies(cfg.Server.TrustedProxies) // validated by config
	stack := []func(http.Handler) http.Handler{
		middleware.RequestID,
		middleware.ClientIP(trusted),
	}
	if cfg.Logging.AccessLog {
		stack = append(stack, middleware.AccessLog(a.Logger))
	}
	stack = append(stack, middleware.SecureHeaders(middleware.SecurityOptions{
		CSP:                     cfg.Security.ContentSecurityPolicy,
		AllowEval:               cfg.HTMX.AllowEval,
		FrameAncestors:          cfg.Security.FrameAncestors,
		ReferrerPolicy:          cfg.Security.ReferrerPolicy,
		PermissionsPolicy:       cfg.Security.PermissionsPolicy,
		CrossOriginOpenerPolicy: cfg.Security.CrossOriginOpenerPolicy,
		HSTSMaxAge:              cfg.Security.HSTSMaxAge,
		HSTSIncludeSubdomains:   cfg.Security.HSTSIncludeSubdomains,
		HSTSPreload:             cfg.Security.HSTSPreload,
		BehindTLSProxy:          cfg.Server.BehindTLSProxy,
	}))
	if cfg.Server.Compress {
		stack = append(stack, middleware.Gzip(5))
	}
	stack = append(stack,
		middleware.Recover(a.Logger, a.Render.Status),
		middleware.MaxBody(cfg.Server.MaxBodyBytes, a.Render.Status),
		middleware.Forms(middleware.FormOptions{}, a.formError),
	)
	if cfg.Server.RequestTimeout > 0 {
		stack = append(stack, middleware.Timeout(cfg.Server.RequestTimeout))
	}
	var h http.Handler = root
	for i := len(stack) - 1; i >= 0; i-- {
		h = stack[i](h)
	}
	a.handler = h
}

// formError answers a form body that could not be read.
func (a *App) formError(w http.ResponseWriter, r *http.Request, status int, err error) {
	msg := "The form data could not be read. Reload the page and try again."
	switch {
	case errors.Is(err, middleware.ErrTooManyFields):
		msg = "The form has too many fields."
	case status == http.StatusRequestEntityTooLarge:
		msg = "What you sent is larger than this site accepts."
	}
	a.Render.Error(w, r, &render.Error{Status: status, Message: msg, Err: err})
}

// allowedMethods lists the methods the router accepts for r's path.
func allowedMethods(mux *chi.Mux, r *http.Request) []string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		if mux.Match(chi.NewRouteContext(), m, r.URL.Path) {
			allowed = append(allowed, m)
		} else if m == http.MethodHead && mux.Match(chi.NewRouteContext(), http.MethodGet, r.URL.Path) {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

// ServeHTTP serves a request through the full middleware stack.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// OnShutdown registers fn to run during graceful shutdown, after the HTTP
// server has drained and before the database closes. Hooks run in reverse
// order of registration and share the remaining grace period.
func (a *App) OnShutdown(fn func(ctx context.Context) error) {
	a.shutdown = append(a.shutdown, fn)
}

// Close runs the shutdown hooks and closes the database. Run calls it; call
// it yourself only when you never call Run (for example in tests).
func (a *App) Close(ctx context.Context) error {
	var errs []error
	for i := len(a.shutdown) - 1; i >= 0; i-- {
		if err := a.shutdown[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	a.shutdown = nil
	if a.DB != nil {
		if err := a.DB.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing database: %w", err))
		}
		a.DB = nil
	}
	if len(errs) > 0 {
		return fmt.Errorf("trellis: shutdown: %w", errors.Join(errs...))
	}
	return nil
}

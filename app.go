package trellis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"
	"github.com/redis/go-redis/v9"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/authz"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/csrf"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/form"
	"github.com/trellis-go/trellis/health"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/mail"
	"github.com/trellis-go/trellis/middleware"
	"github.com/trellis-go/trellis/oauth"
	"github.com/trellis-go/trellis/observe"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/session"
	"github.com/trellis-go/trellis/static"
	"github.com/trellis-go/trellis/ui"
	"github.com/trellis-go/trellis/uploads"
	"go.opentelemetry.io/otel/trace"
)

// App is a configured Trellis application. Register routes on it (it embeds
// a chi.Router whose routes run behind the full middleware stack), add
// middleware with Use — in any order, until the app starts serving — then
// call Run. Build one with New.
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
	// Mail renders mail and delivers it through Jobs: over SMTP when
	// mail.smtp_url is set, else into its outbox (nil without a database).
	Mail *mail.Mailer
	// Forms decodes, validates and re-renders forms.
	Forms *form.Forms
	// Authz decides requests against the app's Cedar policies (nil
	// without WithPolicies or WithPolicyDir).
	Authz *authz.Authorizer
	// OAuth signs visitors in with the providers of [oauth.providers]
	// (nil without a database or providers).
	OAuth *oauth.Service
	// Files receives, stores and serves uploaded files (nil without a
	// database). Register upload routes with Upload.
	Files *uploads.Manager
	// TracerProvider makes the app's tracers when telemetry.otlp_endpoint
	// is set; nil when tracing is off. Spans started with telemetry.Start
	// from a request's or a job's context need no reference to it.
	TracerProvider trace.TracerProvider

	opts    *options
	root    *chi.Mux
	handler http.Handler
	metrics http.Handler
	// requests are the request metrics; nil when metrics are not served.
	requests *observe.RequestMetrics
	// sessionTiming times the session store; nil when metrics are not
	// served.
	sessionTiming *observe.SessionTiming
	shutdown      []func(context.Context) error

	mu           sync.Mutex
	middlewares  []func(http.Handler) http.Handler
	uploadRoutes *chi.Mux
	frozen       atomic.Bool
	freezeOnce   sync.Once

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
	layout     Layout
	noDatabase bool
	mounts     map[RouteSet]string
	mailTLS    *tls.Config

	policies     fs.FS
	policySource string
	policyDir    string
	principal    authz.PrincipalFunc
	tracer       trace.TracerProvider

	oauthClient *http.Client
	github      oauth.GitHubEndpoints
}

// Layout renders a full page around its children: the page content, which
// it places with { children... }. It must render ui.Head(site) inside
// <head> (htmx, its configuration, the CSRF meta tag, the stylesheet and
// scripts with the CSP nonce) and ui.Regions() inside <body> (flash
// messages and the error region htmx error fragments are swapped into);
// New checks that it does. ui.Page is the default.
type Layout func(site *ui.Site, title string) templ.Component

// WithLayout renders every full page — error pages and the built-in
// account and admin pages included — in the app's own layout. New renders
// it once, without a request, to check it; a nil layout keeps ui.Page.
func WithLayout(l Layout) Option {
	return func(o *options) { o.layout = l }
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

// WithMailTLS sets the TLS configuration used to talk to the SMTP server
// (mail.smtp_url), replacing the default one (system roots plus
// mail.ca_file) — for example to trust a test server's self-signed
// certificate. The server name defaults to the URL's host.
func WithMailTLS(c *tls.Config) Option {
	return func(o *options) { o.mailTLS = c }
}

// WithTracerProvider traces the app with tp instead of the provider New
// builds from the [telemetry] section: for an app that sets up
// OpenTelemetry itself, or a test that records spans in memory. The app
// does not shut tp down; its owner does.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracer = tp }
}

// WithoutDatabase builds an app with no database, and therefore no
// sessions, CSRF tokens, accounts or jobs (App.DB is nil).
func WithoutDatabase() Option {
	return func(o *options) { o.noDatabase = true }
}

// New wires an App from cfg: it validates cfg (the same checks and
// messages as config.Load), then builds the logger, assets, renderer,
// database (opened and migrated), jobs, mail, sessions, accounts, health checks
// and the built-in route sets. Every I/O step takes ctx, so a caller can
// bound or cancel start-up. On failure New releases what it opened.
func New(ctx context.Context, cfg *config.Config, opts ...Option) (*App, error) {
	if cfg == nil {
		return nil, errors.New("trellis: New needs a config (use config.Load or config.Default)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &options{logOutput: os.Stderr}
	for _, opt := range opts {
		opt(o)
	}
	if err := o.checkMounts(); err != nil {
		return nil, err
	}
	// Mailed links carry secret tokens in their paths: keep them out of
	// every log line.
	a := &App{Config: cfg, Logger: withRedactedPaths(NewLogger(cfg.Logging, o.logOutput), auth.RedactedPaths(authPrefix(o))), opts: o}

	var err error
	layers := append(append([]fs.FS{}, o.assets...), static.FrameworkFS())
	if a.Assets, err = static.New(layers...); err != nil {
		return nil, fmt.Errorf("trellis: loading assets: %w", err)
	}
	if a.Site, err = ui.NewSite(cfg.App.Name, a.Assets, cfg.HTMX); err != nil {
		return nil, err
	}
	if o.layout == nil {
		o.layout = ui.Page
	} else if err := checkLayout(o.layout, a.Site); err != nil {
		return nil, err
	}
	a.Site.Nav, a.Site.Head = o.nav, o.head
	a.Render = render.New(render.Options{
		Layout: func(title string, content templ.Component) templ.Component {
			return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
				return o.layout(a.Site, title).Render(templ.WithChildren(ctx, content), w)
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
	if err := a.setupTelemetry(ctx); err != nil {
		return nil, err
	}

	if !o.noDatabase {
		if err := a.openDatabase(ctx); err != nil {
			_ = a.Close(context.WithoutCancel(ctx)) // the tracer may be running
			return nil, err
		}
		if err := a.setupJobs(ctx); err != nil {
			_ = a.Close(context.WithoutCancel(ctx))
			return nil, err
		}
		if err := a.setupMail(); err != nil {
			_ = a.Close(context.WithoutCancel(ctx))
			return nil, err
		}
		if err := a.setupAccounts(); err != nil {
			_ = a.Close(context.WithoutCancel(ctx))
			return nil, err
		}
		if err := a.setupOAuth(); err != nil {
			_ = a.Close(context.WithoutCancel(ctx))
			return nil, err
		}
		if err := a.setupFiles(); err != nil {
			_ = a.Close(context.WithoutCancel(ctx))
			return nil, err
		}
		if o.migrations != nil {
			if err := a.migrate(ctx, db.App(o.migrations)); err != nil {
				_ = a.Close(context.WithoutCancel(ctx))
				return nil, err
			}
		}
	}
	if err := a.setupPolicies(); err != nil {
		_ = a.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	a.routes()
	if err := a.mountBuiltins(); err != nil {
		_ = a.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return a, nil
}

// checkLayout renders an app's layout once, before the app's navigation
// and head markup are set and with no request, and fails when it leaves
// out the pieces every page needs.
func checkLayout(l Layout, site *ui.Site) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("trellis: WithLayout: rendering the layout without a request panicked: %v", p)
		}
	}()
	var b strings.Builder
	ctx := templ.WithChildren(context.Background(), templ.NopComponent)
	if err := l(site, "").Render(ctx, &b); err != nil {
		return fmt.Errorf("trellis: WithLayout: rendering the layout: %w", err)
	}
	for _, need := range []struct{ mark, what string }{
		{`name="htmx-config"`, "@ui.Head(site) inside <head>"},
		{`id="trellis-error"`, "@ui.Regions() inside <body>"},
	} {
		if !strings.Contains(b.String(), need.mark) {
			return fmt.Errorf("trellis: WithLayout: the layout does not render %s; add it so pages get htmx, its configuration, CSRF token, flashes and the error region", need.what)
		}
	}
	return nil
}

func (a *App) openDatabase(ctx context.Context) error {
	// With tracing off (a nil provider) the driver is not wrapped at all.
	d, err := db.Open(ctx, a.Config.Database, a.Config.App.DataDir, db.WithTracerProvider(a.TracerProvider))
	if err != nil {
		return fmt.Errorf("trellis: %w", err)
	}
	a.DB = d
	if err := a.migrate(ctx, db.Framework()); err != nil {
		_ = d.Close()
		return err
	}
	a.Health.Add(health.Check{Name: "database", Required: true, Func: d.Ping})
	return nil
}

// migrate applies the pending migrations of sources when database.migrate
// is on. New applies the framework's, then River's, then the app's: the
// order the db commands use.
func (a *App) migrate(ctx context.Context, sources ...db.Source) error {
	if !a.Config.Database.Migrate {
		return nil
	}
	n, err := a.DB.Migrate(ctx, nil, sources...)
	if err != nil {
		return fmt.Errorf("trellis: applying migrations: %w", err)
	}
	if n > 0 {
		a.Logger.Info("migrations applied", slog.Int("count", n))
	}
	return nil
}

// routes builds the root router (static files, health, metrics) and the
// router app routes are registered on, and wraps the root in the default
// middleware stack.
func (a *App) routes() {
	root := chi.NewRouter()
	root.Use(chimw.GetHead)
	// Error pages load the session and user too, so the layout shows
	// who is signed in.
	notFound := a.errorChain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.Render.Status(w, r, http.StatusNotFound, nil)
	}))
	root.NotFound(notFound.ServeHTTP)
	notAllowed := a.errorChain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.Render.Status(w, r, http.StatusMethodNotAllowed, nil)
	}))
	root.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", strings.Join(allowedMethods(root, r), ", "))
		notAllowed.ServeHTTP(w, r)
	})
	infra := root.With(a.appMiddleware)
	infra.Handle(a.Assets.Prefix()+"*", a.Assets)
	infra.Get("/favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, a.Assets.Path("favicon.svg"), http.StatusMovedPermanently)
	})
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
		middleware.Streamed(a.streamedUpload),
		middleware.MaxBody(cfg.Server.MaxBodyBytes, a.Render.Status),
		middleware.Forms(middleware.FormOptions{}, a.formError),
	)
	if cfg.Server.RequestTimeout > 0 {
		stack = append(stack, middleware.Timeout(cfg.Server.RequestTimeout))
	}
	if a.requests != nil || a.TracerProvider != nil {
		// First, so the span and the duration cover the whole stack.
		stack = append([]func(http.Handler) http.Handler{observe.Middleware(root, a.requests, a.TracerProvider)}, stack...)
	}
	var h http.Handler = root
	for i := len(stack) - 1; i >= 0; i-- {
		h = stack[i](h)
	}
	a.handler = h
}

// Use appends middleware that wraps every route the app serves — its own
// routes, the built-in route sets, static files, health checks and error
// pages. On routes with sessions it runs after the session, the current
// user and the CSRF check are in place, so it can read auth.CurrentUser.
// Use may be called before or after routes are added, but not once the app
// has started serving (ServeHTTP, Start, Serve or Run); then it panics,
// like adding a route twice to an http.ServeMux.
func (a *App) Use(middlewares ...func(http.Handler) http.Handler) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.frozen.Load() {
		panic("trellis: App.Use called after the app started serving; add middleware before ServeHTTP, Start, Serve or Run")
	}
	a.middlewares = append(a.middlewares, middlewares...)
}

// freeze fixes the middleware added with Use; it runs when the app starts
// serving.
func (a *App) freeze() {
	a.freezeOnce.Do(func() {
		a.mu.Lock()
		a.frozen.Store(true)
		a.mu.Unlock()
	})
}

// appMiddleware applies the middleware added with Use to next. The chain
// is composed on the first request, once the list is frozen, so routes and
// middleware can be added in any order.
func (a *App) appMiddleware(next http.Handler) http.Handler {
	var (
		once sync.Once
		h    http.Handler
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() {
			a.freeze()
			h = next
			for i := len(a.middlewares) - 1; i >= 0; i-- {
				h = a.middlewares[i](h)
			}
		})
		h.ServeHTTP(w, r)
	})
}

// formError answers a request whose URL or form body could not be read.
func (a *App) formError(w http.ResponseWriter, r *http.Request, status int, err error) {
	msg := "The form data could not be read. Reload the page and try again."
	switch {
	case errors.Is(err, middleware.ErrBadText):
		msg = "The address or form contains characters this site does not accept (a NUL byte or text that is not UTF-8)."
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

// ServeHTTP serves a request through the full middleware stack. The first
// call fixes the middleware added with Use.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.frozen.Load() {
		a.freeze()
	}
	a.handler.ServeHTTP(w, r)
}

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

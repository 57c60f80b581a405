package trellis

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/a-h/templ"
	"github.com/redis/go-redis/v9"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/csrf"
	"github.com/trellis-go/trellis/health"
	"github.com/trellis-go/trellis/middleware"
	"github.com/trellis-go/trellis/observe"
	"github.com/trellis-go/trellis/ratelimit"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/session"
	"github.com/trellis-go/trellis/ui"
)

// setupAccounts wires sessions, CSRF protection, rate limits and accounts
// from the configuration. It needs the database.
func (a *App) setupAccounts() error {
	cfg := a.Config
	if cfg.Redis.URL != "" {
		opts, err := redis.ParseURL(cfg.Redis.URL)
		if err != nil {
			return fmt.Errorf("trellis: redis.url: %w", err)
		}
		a.Redis = redis.NewClient(opts)
		a.OnShutdown(func(context.Context) error { return a.Redis.Close() })
		a.Health.Add(health.Check{Name: "redis", Required: cfg.Session.Store == "redis" || cfg.RateLimit.Store == "redis",
			Func: func(ctx context.Context) error { return a.Redis.Ping(ctx).Err() }})
	}

	var backend session.Backend
	switch cfg.Session.Store {
	case "memory":
		backend = session.NewMemory()
	case "redis":
		backend = session.NewRedis(a.Redis, cfg.Redis.KeyPrefix)
	default:
		backend = session.NewSQL(a.DB)
	}
	if a.requests != nil {
		a.sessionTiming = observe.NewSessionTiming(backend)
		backend = a.sessionTiming
	}
	// A session store that fails is unavailable (503), or timed out (504).
	a.Sessions = session.New(cfg.Session, backend, a.Logger, func(w http.ResponseWriter, r *http.Request, err error) {
		status := http.StatusServiceUnavailable
		if render.StatusOf(err) == http.StatusGatewayTimeout {
			status = http.StatusGatewayTimeout
		}
		a.Render.Error(w, r, &render.Error{Status: status, Err: err})
	})
	janitorCtx, stopJanitor := context.WithCancel(context.Background())
	go a.Sessions.Janitor(janitorCtx, 10*time.Minute)
	a.OnShutdown(func(context.Context) error { stopJanitor(); return nil })

	var limiter ratelimit.Limiter
	if cfg.RateLimit.Enabled {
		if cfg.RateLimit.Store == "redis" {
			limiter = ratelimit.NewRedis(a.Redis, cfg.Redis.KeyPrefix+"ratelimit:")
		} else {
			limiter = ratelimit.NewMemory()
		}
	}
	rates := map[string]ratelimit.Rate{}
	for name, s := range map[string]string{"login": cfg.RateLimit.Login, "register": cfg.RateLimit.Register, "password": cfg.RateLimit.Password,
		"reset": cfg.RateLimit.Reset, "verify": cfg.RateLimit.Verify} {
		r, err := ratelimit.ParseRate(s)
		if err != nil {
			return fmt.Errorf("trellis: ratelimit.%s: %w", name, err)
		}
		rates[name] = r
	}

	hasher, err := auth.NewHasher(auth.HashParams{
		MemoryKiB:   uint32(cfg.Auth.HashMemoryKiB),
		Iterations:  uint32(cfg.Auth.HashIterations),
		Parallelism: uint8(cfg.Auth.HashParallelism),
	}, cfg.Auth.HashConcurrency)
	if err != nil {
		return err
	}
	a.Auth = auth.New(auth.Options{
		DB: a.DB, Sessions: a.Sessions, Render: a.Render, Forms: a.Forms, Hasher: hasher, Logger: a.Logger,
		Limiter: limiter, LoginRate: rates["login"], RegisterRate: rates["register"], PasswordRate: rates["password"],
		ResetRate: rates["reset"], VerifyRate: rates["verify"],
		ResetTokenTTL: cfg.Auth.ResetTokenTTL, VerifyTokenTTL: cfg.Auth.VerifyTokenTTL, SiteName: cfg.App.Name,
		Registration: cfg.Auth.Registration,
		Prefix:       authPrefix(a.opts),
		Mail:         a.Mail,
		Jobs:         a.Jobs,
	})

	a.CSRF, err = csrf.New(csrf.Options{
		Sessions:       a.Sessions,
		SecureCookie:   cfg.Session.CookieSecure,
		TrustedOrigins: cfg.CSRF.TrustedOrigins,
		ExemptPaths:    cfg.CSRF.ExemptPaths,
		Authenticated:  auth.Authenticated,
		OnError: func(w http.ResponseWriter, r *http.Request, status int, err error) {
			a.Render.Error(w, r, &render.Error{Status: status, Message: csrf.FailureMessage, Err: err})
		},
	})
	if err != nil {
		return err
	}
	a.Render.AddExtras(func(*http.Request) templ.Component {
		return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
			return ui.FlashesOOB(session.TakeFlashes(ctx)).Render(ctx, w)
		})
	})
	return nil
}

// authPrefix is where the account pages are: their MountAt prefix, or the
// root when the app mounts its own.
func authPrefix(o *options) string {
	if prefix, ok := o.mountedAt(AuthPages); ok {
		return prefix
	}
	return ""
}

// requestChain is the per-request middleware every app route runs: give
// the request a batch for deferred writes (see middleware.Deferred), load
// the session, then the user, then check CSRF, then the app's own
// middleware.
func (a *App) requestChain(next http.Handler) http.Handler {
	next = a.appMiddleware(next)
	if a.Authz != nil {
		next = a.Authz.Middleware(next)
	}
	if a.Sessions != nil {
		next = a.Sessions.Middleware(a.Auth.LoadUser(a.CSRF.Middleware(next)))
	}
	if a.DB == nil {
		return next
	}
	// Outside the session, so its save (which runs the deferred writes in
	// its transaction) comes first and the batch's own flush after.
	return middleware.Deferred(a.DB, a.Logger, a.Render.Status)(next)
}

// errorChain is requestChain for the 404 and 405 pages: they show who is
// signed in and carry a CSRF token, but check nothing.
func (a *App) errorChain(next http.Handler) http.Handler {
	next = a.appMiddleware(next)
	if a.Authz != nil {
		next = a.Authz.Middleware(next)
	}
	if a.Sessions == nil {
		return next
	}
	return a.Sessions.Middleware(a.Auth.LoadUser(a.CSRF.Provide(next)))
}

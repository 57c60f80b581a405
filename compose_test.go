package trellis_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/trellistest"
	"github.com/trellis-go/trellis/ui"
)

// TestUseInAnyOrderWrapsEveryRoute adds middleware between routes, as a
// user's main.go might, and checks it runs on app routes, built-in pages,
// static files, health checks and error pages, after the user is loaded.
func TestUseInAnyOrderWrapsEveryRoute(t *testing.T) {
	ta := trellistest.NewApp(t, nil)
	app := ta.App
	app.Get("/before", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "before") })
	app.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			who := "anonymous"
			if u := auth.CurrentUser(r.Context()); u != nil {
				who = u.Email
			}
			w.Header().Set("X-App-Middleware", who)
			next.ServeHTTP(w, r)
		})
	})
	app.Get("/after", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "after") })
	app.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("X-Order", "second")
			next.ServeHTTP(w, r)
		})
	})

	for _, path := range []string{"/before", "/after", "/login", "/health/live", "/health", app.Assets.Path("trellis.css"), "/no-such-page"} {
		res := ta.Get(path)
		if got := res.Header.Get("X-App-Middleware"); got != "anonymous" {
			t.Errorf("GET %s (%d): app middleware header %q, want it to run", path, res.StatusCode, got)
		}
		if got := res.Header.Get("X-Order"); got != "second" {
			t.Errorf("GET %s: second middleware header %q", path, got)
		}
	}
	ta.CreateUser("ann@example.com", "correct horse battery")
	ta.SignIn("ann@example.com", "correct horse battery")
	if got := ta.Get("/after").AssertStatus(http.StatusOK).Header.Get("X-App-Middleware"); got != "ann@example.com" {
		t.Errorf("app middleware saw user %q, want the signed-in user", got)
	}
	if got := ta.Get("/account").AssertStatus(http.StatusOK).Header.Get("X-App-Middleware"); got != "ann@example.com" {
		t.Errorf("app middleware on the built-in account page saw %q", got)
	}

	defer func() {
		if recover() == nil {
			t.Error("Use after the app started serving did not panic")
		}
	}()
	app.Use(func(h http.Handler) http.Handler { return h })
}

// TestRouteSetsMoveAndLeave mounts the built-in sets elsewhere or not at
// all.
func TestRouteSetsMoveAndLeave(t *testing.T) {
	ta := trellistest.NewApp(t, nil, trellistest.Options(
		trellis.MountAt(trellis.AuthPages, "/auth"),
		trellis.MountAt(trellis.HealthChecks, "/_health"),
		trellis.Without(trellis.RoleAPI),
		trellis.MountAt(trellis.JobsAdmin, "/ops/jobs"),
	))
	ta.App.With(ta.App.Auth.RequireUser).Get("/private", func(w http.ResponseWriter, r *http.Request) {})
	ta.Get("/login").AssertStatus(http.StatusNotFound)
	ta.Get("/health/live").AssertStatus(http.StatusNotFound)
	ta.Get("/_health/live").AssertStatus(http.StatusOK)
	ta.Get("/_health/ready").AssertStatus(http.StatusOK)
	ta.Get("/auth/login").AssertStatus(http.StatusOK).AssertContains(`action="/auth/login"`).AssertContains(`href="/auth/register"`)
	ta.Get("/private").AssertRedirect("/auth/login?next=%2Fprivate")

	ta.CreateUser("root@example.com", "correct horse battery", "admin")
	res := ta.PostForm("/auth/login", formValues("email", "root@example.com", "password", "correct horse battery"))
	res.AssertRedirect("/")
	ta.Get("/auth/account").AssertStatus(http.StatusOK).AssertContains(`action="/auth/account/password"`)
	ta.Get("/admin/users/1/roles", trellistest.Header("Accept", "application/json")).AssertStatus(http.StatusNotFound)
	ta.Get("/admin/jobs").AssertStatus(http.StatusNotFound)
	ta.Get("/ops/jobs").AssertStatus(http.StatusOK).AssertContains(`hx-get="/ops/jobs/stats"`)
	ta.Get("/ops/jobs/stats", trellistest.Header("Accept", "application/json")).AssertStatus(http.StatusOK)
	ta.AsNewVisitor().Get("/ops/jobs", trellistest.Header("Accept", "application/json")).AssertStatus(http.StatusUnauthorized)
}

func TestRouteSetPrefixesAreChecked(t *testing.T) {
	for name, opt := range map[string]trellis.Option{
		"trailing slash": trellis.MountAt(trellis.JobsAdmin, "/ops/"),
		"relative":       trellis.MountAt(trellis.RoleAPI, "admin"),
		"pattern":        trellis.MountAt(trellis.HealthChecks, "/{x}"),
		"metrics":        trellis.MountAt(trellis.Metrics, "/m"),
		"unknown set":    trellis.Without("uploads"),
	} {
		_, err := trellis.New(context.Background(), trellistest.Config(t), trellis.WithLogOutput(io.Discard), opt)
		if err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

// TestNewValidatesTheConfig builds configs in code that config.Load would
// refuse; New refuses them with the same messages.
func TestNewValidatesTheConfig(t *testing.T) {
	for key, mutate := range map[string]func(*config.Config){
		"logging.level":          func(c *config.Config) { c.Logging.Level = "verbose" },
		"server.trusted_proxies": func(c *config.Config) { c.Server.TrustedProxies = []string{"10.0.0.0/33"} },
		"session.store":          func(c *config.Config) { c.Session.Store = "redsi" },
	} {
		cfg := trellistest.Config(t)
		mutate(cfg)
		_, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
		var errs config.Errors
		if !errors.As(err, &errs) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: New returned %v, want config errors naming the key", key, err)
		}
		if err.Error() != cfg.Validate().Error() {
			t.Errorf("%s: New says %q, Validate says %q", key, err, cfg.Validate())
		}
	}
}

func TestNewHonoursItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := trellis.New(ctx, trellistest.Config(t), trellis.WithLogOutput(io.Discard))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("New with a cancelled context: %v, want context.Canceled", err)
	}
}

// appLayout is a user's own layout, written as a plain Go component.
func appLayout(site *ui.Site, title string) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		if _, err := io.WriteString(w, "<!DOCTYPE html><html><head><title>"+templ.EscapeString(title)+" | my app</title>"); err != nil {
			return err
		}
		if err := ui.Head(site).Render(ctx, w); err != nil {
			return err
		}
		if _, err := io.WriteString(w, `</head><body class="my-layout">`); err != nil {
			return err
		}
		if err := ui.Regions().Render(ctx, w); err != nil {
			return err
		}
		if err := templ.GetChildren(ctx).Render(ctx, w); err != nil {
			return err
		}
		_, err := io.WriteString(w, "</body></html>")
		return err
	})
}

func TestWithLayoutRendersEveryPage(t *testing.T) {
	ta := trellistest.NewApp(t, nil, trellistest.Options(trellis.WithLayout(appLayout)))
	ta.App.Get("/", func(w http.ResponseWriter, r *http.Request) {
		ta.App.Render.Page(w, r, "Home", templ.Raw(`<p id="home">hi</p>`))
	})
	ta.Get("/").AssertStatus(http.StatusOK).AssertFullPage().AssertContains(`class="my-layout"`).AssertContains("Home | my app").
		AssertContains(`<meta name="csrf-token"`).AssertContains(`nonce="`).AssertContains(`id="flashes"`)
	ta.Get("/nope").AssertStatus(http.StatusNotFound).AssertContains(`class="my-layout"`)
	ta.Get("/login").AssertStatus(http.StatusOK).AssertContains(`class="my-layout"`)
	ta.Get("/", trellistest.HTMX("main")).AssertFragment().AssertContains(`<p id="home">hi</p>`)

	bare := func(*ui.Site, string) templ.Component { return templ.Raw("<html><body>{ children }</body></html>") }
	_, err := trellis.New(context.Background(), trellistest.Config(t), trellis.WithLogOutput(io.Discard), trellis.WithLayout(bare))
	if err == nil || !strings.Contains(err.Error(), "ui.Head") {
		t.Errorf("a layout without ui.Head: %v, want an error naming ui.Head", err)
	}
}

func formValues(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestMetricsTokenAndPrivateListener(t *testing.T) {
	token := strings.Repeat("s3cret-", 4)
	ta := trellistest.NewApp(t, nil, trellistest.Configure(func(c *config.Config) { c.Metrics.Token = token }))
	ta.Get("/metrics").AssertStatus(http.StatusUnauthorized)
	ta.Get("/metrics", trellistest.Header("Authorization", "Bearer wrong-token-wrong-token")).AssertStatus(http.StatusUnauthorized)
	ta.Get("/metrics", trellistest.Header("Authorization", "Bearer "+token)).AssertStatus(http.StatusOK).AssertContains("go_goroutines")

	off := trellistest.NewApp(t, nil, trellistest.Options(trellis.Without(trellis.Metrics)))
	off.Get("/metrics").AssertStatus(http.StatusNotFound)

	cfg := trellistest.Config(t)
	cfg.Metrics.Addr = trellistest.FreeAddr(t)
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	base, cancel, done := serve(t, app)
	if res, err := http.Get(base + "/metrics"); err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("metrics on the app's listener with metrics.addr set: %v %v, want 404", res.StatusCode, err)
	}
	res, err := http.Get("http://" + cfg.Metrics.Addr + "/metrics")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("metrics on metrics.addr: %v %v", res, err)
	}
	res.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + cfg.Metrics.Addr + "/metrics"); err == nil {
		t.Error("the metrics listener still answers after shutdown")
	}
}

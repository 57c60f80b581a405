package demo_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/examples/demo"
	"github.com/trellis-go/trellis/trellistest"
)

// newDemo starts the demo on SQLite or PostgreSQL with fast job timings;
// configure functions adjust the config further (the htmx version, say).
func newDemo(t *testing.T, postgres bool, configure ...func(*config.Config)) *trellistest.Server {
	t.Helper()
	cfg := trellistest.Config(t)
	if postgres {
		cfg.Database.URL = trellistest.PostgresURL(t)
	}
	cfg.Jobs.RetryBase, cfg.Jobs.PollInterval, cfg.Jobs.FetchCooldown = 50*time.Millisecond, 100*time.Millisecond, 10*time.Millisecond
	for _, f := range configure {
		f(cfg)
	}
	app, err := demo.New(context.Background(), cfg, adminPassword, trellis.WithLogOutput(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close(context.Background()) })
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return trellistest.NewServer(t, app)
}

const adminPassword = "demo-admin-password"

func forEachDatabase(t *testing.T, fn func(t *testing.T, s *trellistest.Server)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newDemo(t, false)) })
	t.Run("postgres", func(t *testing.T) { fn(t, newDemo(t, true)) })
}

func TestCounterSwapsOOBAndTriggers(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, s *trellistest.Server) {
		home := s.Get("/")
		if home.StatusCode != 200 || !strings.Contains(home.Body, `<strong id="count">0</strong>`) || !strings.Contains(home.Body, "0 clicks") {
			t.Fatalf("home: %d %s", home.StatusCode, home.Body)
		}
		var res *trellistest.Response
		for range 3 {
			res = s.Do("POST", "/counter", nil, trellistest.HTMX("counter"))
		}
		if res.StatusCode != 200 {
			t.Fatalf("POST /counter: %d %s", res.StatusCode, res.Body)
		}
		if !strings.HasPrefix(res.Body, `<div id="counter">`) || !strings.Contains(res.Body, `<strong id="count">3</strong>`) {
			t.Errorf("counter fragment: %s", res.Body)
		}
		if !strings.HasSuffix(res.Body, `<span id="click-total" hx-swap-oob="innerHTML">3 clicks</span>`) {
			t.Errorf("no OOB badge update: %s", res.Body)
		}
		var trig map[string]map[string]int
		if err := json.Unmarshal([]byte(res.Header.Get("HX-Trigger")), &trig); err != nil || trig["counter-changed"]["value"] != 3 {
			t.Errorf("HX-Trigger = %q (%v)", res.Header.Get("HX-Trigger"), err)
		}
		act := s.Get("/activity", trellistest.HTMX("activity"))
		if !strings.Contains(act.Body, "Counter reached 3") || !strings.HasPrefix(act.Body, `<ul id="activity"`) {
			t.Errorf("activity: %s", act.Body)
		}
		// Without JavaScript the form post redirects back home.
		plain := s.Do("POST", "/counter", nil)
		if plain.StatusCode != http.StatusSeeOther || plain.Header.Get("Location") != "/" {
			t.Errorf("plain POST: %d %v", plain.StatusCode, plain.Header)
		}
		if home := s.Get("/"); !strings.Contains(home.Body, "4 clicks") {
			t.Errorf("badge after reload: %s", home.Body)
		}
	})
}

func TestCountdownStopsPollingWith286(t *testing.T) {
	s := newDemo(t, false)
	res := s.Get("/countdown?n=5", trellistest.HTMX("countdown"))
	if res.StatusCode != 200 || !strings.Contains(res.Body, `hx-get="/countdown?n=4"`) {
		t.Fatalf("countdown step: %d %s", res.StatusCode, res.Body)
	}
	res = s.Get("/countdown?n=1", trellistest.HTMX("countdown"))
	if res.StatusCode != 286 || !strings.Contains(res.Body, "Lift-off!") || strings.Contains(res.Body, "hx-trigger") {
		t.Fatalf("final step: %d %s", res.StatusCode, res.Body)
	}
	for _, bad := range []string{"-1", "x", "1000", ""} {
		if res := s.Get("/countdown?n="+bad, trellistest.HTMX("countdown")); res.StatusCode != 400 || res.Header.Get("HX-Retarget") != "#trellis-error" {
			t.Errorf("n=%q: %d", bad, res.StatusCode)
		}
	}
}

func TestAboutRendersFullOrPartial(t *testing.T) {
	s := newDemo(t, false)
	if full := s.Get("/about"); !strings.Contains(full.Body, "<html") || !strings.Contains(full.Body, "a full page") {
		t.Errorf("full: %s", full.Body)
	}
	if part := s.Get("/about", trellistest.HTMX("main")); strings.Contains(part.Body, "<html") || !strings.Contains(part.Body, "a partial") {
		t.Errorf("partial: %s", part.Body)
	}
	if boosted := s.Get("/about", trellistest.Boosted()); !strings.Contains(boosted.Body, "<html") {
		t.Errorf("boosted: %s", boosted.Body)
	}
	if clock := s.Get("/clock", trellistest.HTMX("clock")); !strings.HasPrefix(clock.Body, "<time datetime=") {
		t.Errorf("clock: %s", clock.Body)
	}
}

func TestDemoErrorsLandInTheErrorRegion(t *testing.T) {
	s := newDemo(t, false)
	for path, status := range map[string]int{"/demo/missing": 404, "/demo/panic": 500} {
		res := s.Get(path, trellistest.HTMX("main"))
		if res.StatusCode != status || res.Header.Get("HX-Retarget") != "#trellis-error" || !strings.Contains(res.Body, "error-alert") {
			t.Errorf("%s: %d %v %s", path, res.StatusCode, res.Header, res.Body)
		}
	}
}

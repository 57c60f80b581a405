package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/jobs/admin"
	"github.com/trellis-go/trellis/trellistest"
)

func dialects(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

type adminEnv struct {
	*trellistest.Server
	app   *trellis.App
	token string // an admin API token
}

type okArgs struct {
	Note string `json:"note"`
}

func (okArgs) Kind() string { return "ok_job" }

type deadArgs struct{}

func (deadArgs) Kind() string { return "dead_job" }

// blockArgs jobs run until cancelled.
type blockArgs struct{}

func (blockArgs) Kind() string { return "block_job" }

// newAdminApp builds a full app with two job kinds, an admin signed in on
// the returned server and an admin API token.
func newAdminApp(t *testing.T, dialect string) *adminEnv {
	t.Helper()
	return newAdminAppAt(t, dialect, "")
}

// newAdminAppAt is newAdminApp with a second admin handler set mounted at
// prefix (behind the admin role) when prefix is not empty; adjust changes
// that set's options.
func newAdminAppAt(t *testing.T, dialect, prefix string, adjust ...func(*admin.Options)) *adminEnv {
	t.Helper()
	cfg := trellistest.Config(t)
	if dialect == "postgres" {
		cfg.Database.URL = trellistest.PostgresURL(t)
	}
	cfg.Jobs.PollInterval, cfg.Jobs.FetchCooldown, cfg.Jobs.RetryBase = 50*time.Millisecond, 10*time.Millisecond, 20*time.Millisecond
	cfg.RateLimit.Enabled = false
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close(context.Background()) })
	jobs.RegisterFunc(app.Jobs, func(ctx context.Context, j *jobs.Job[okArgs]) error { return nil })
	jobs.RegisterFunc(app.Jobs, func(ctx context.Context, j *jobs.Job[deadArgs]) error { return errors.New("boom <b>") })
	jobs.RegisterFunc(app.Jobs, func(ctx context.Context, j *jobs.Job[blockArgs]) error { <-ctx.Done(); return ctx.Err() })
	if prefix != "" {
		o := admin.Options{Engine: app.Jobs, Render: app.Render, Sessions: app.Sessions, Prefix: prefix}
		for _, f := range adjust {
			f(&o)
		}
		h, err := admin.New(o)
		if err != nil {
			t.Fatal(err)
		}
		app.Group(func(r chi.Router) {
			r.Use(app.Auth.RequireRole(auth.RoleAdmin))
			h.Routes(r)
		})
	}
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	adminUser, err := app.Auth.CreateUser(ctx, "admin@example.com", "Admin", "admin password", "admin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Auth.CreateUser(ctx, "user@example.com", "", "user password"); err != nil {
		t.Fatal(err)
	}
	token, _, err := app.Auth.Tokens.Create(ctx, adminUser.ID, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	s := trellistest.NewServer(t, app)
	s.PostForm("/login", url.Values{"email": {"admin@example.com"}, "password": {"admin password"}})
	return &adminEnv{Server: s, app: app, token: token}
}

func jsonBody(t *testing.T, res *trellistest.Response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(res.Body), &m); err != nil {
		t.Fatalf("%d: not JSON: %.300s", res.StatusCode, res.Body)
	}
	return m
}

var api = trellistest.Header("Accept", "application/json")

func TestAdminAPI(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		e := newAdminApp(t, dialect)
		ctx := context.Background()
		for i := range 3 {
			if _, err := e.app.Jobs.Enqueue(ctx, okArgs{Note: "n" + string(rune('a'+i))}, nil); err != nil {
				t.Fatal(err)
			}
		}
		dead, _ := e.app.Jobs.Enqueue(ctx, deadArgs{}, &jobs.Opts{MaxRetries: jobs.Retries(1)})
		later, _ := e.app.Jobs.Enqueue(ctx, okArgs{Note: "later"}, &jobs.Opts{RunAt: time.Now().Add(time.Hour), Priority: 3})
		waitFor(t, "the dead job", func() bool {
			d, err := e.app.Jobs.Get(ctx, dead.ID)
			return err == nil && d.Status == jobs.StatusDead
		})

		// List: the reference fields, filters, paging and totals.
		res := e.Get("/admin/jobs/list", api)
		body := jsonBody(t, res)
		if res.StatusCode != 200 || body["total"] != float64(5) || body["message"] == "" {
			t.Fatalf("list: %d %v", res.StatusCode, body)
		}
		first := body["jobs"].([]any)[0].(map[string]any)
		for _, k := range []string{"id", "job_type", "status", "created_at", "priority"} {
			if _, ok := first[k]; !ok {
				t.Errorf("list item lacks %q: %v", k, first)
			}
		}
		if _, isString := first["id"].(string); !isString {
			t.Errorf("id is not a string: %T", first["id"])
		}
		for query, want := range map[string]float64{
			"state=dead": 1, "state=scheduled": 1, "state=completed": 3, "kind=ok_job": 4, "q=later": 1,
			"q=" + url.QueryEscape("n%"): 0, "queue=default&kind=dead_job": 1,
		} {
			if b := jsonBody(t, e.Get("/admin/jobs/list?"+query, api)); b["total"] != want {
				t.Errorf("list?%s total = %v, want %v", query, b["total"], want)
			}
		}
		page1 := jsonBody(t, e.Get("/admin/jobs/list?limit=2", api))
		cursor, _ := page1["next_cursor"].(string)
		page2 := jsonBody(t, e.Get("/admin/jobs/list?limit=2&cursor="+cursor, api))
		if len(page1["jobs"].([]any)) != 2 || cursor == "" || len(page2["jobs"].([]any)) != 2 ||
			page2["jobs"].([]any)[0].(map[string]any)["id"] == page1["jobs"].([]any)[1].(map[string]any)["id"] {
			t.Errorf("paging: %v / %v", page1, page2)
		}
		for _, bad := range []string{"state=bogus", "limit=0", "limit=9999", "cursor=abc"} {
			if res := e.Get("/admin/jobs/list?"+bad, api); res.StatusCode != 400 || jsonBody(t, res)["message"] == "" {
				t.Errorf("list?%s: %d", bad, res.StatusCode)
			}
		}

		// One job with its errors.
		res = e.Get("/admin/jobs/"+itoa(dead.ID), api)
		job := jsonBody(t, res)["job"].(map[string]any)
		if res.StatusCode != 200 || job["job_type"] != "dead_job" || job["status"] != "dead" || len(job["errors"].([]any)) != 2 {
			t.Fatalf("job: %d %v", res.StatusCode, job)
		}
		if errEntry := job["errors"].([]any)[0].(map[string]any); errEntry["error"] != "boom <b>" || errEntry["at"] == "" {
			t.Errorf("error entry %v", errEntry)
		}
		if res := e.Get("/admin/jobs/999999", api); res.StatusCode != 404 || jsonBody(t, res)["message"] == "" {
			t.Errorf("missing job: %d", res.StatusCode)
		}
		if res := e.Get("/admin/jobs/abc", api); res.StatusCode != 400 {
			t.Errorf("malformed id: %d", res.StatusCode)
		}

		// Stats: the reference fields.
		time.Sleep(1100 * time.Millisecond)
		stats := jsonBody(t, e.Get("/admin/jobs/stats", api))
		for _, k := range []string{"total_enqueued", "running", "pending", "completed", "failed", "dead_letter", "avg_execution_ms", "p95_execution_ms", "p99_execution_ms", "success_rate", "message",
			"p50_execution_ms", "scheduled", "retried", "cancelled", "queue_wait", "kinds", "window"} {
			if _, ok := stats[k]; !ok {
				t.Errorf("stats lack %q", k)
			}
		}
		if stats["total_enqueued"] != float64(5) || stats["completed"] != float64(3) || stats["failed"] != float64(1) ||
			stats["dead_letter"] != float64(1) || stats["success_rate"] != float64(75) {
			t.Errorf("stats %v", stats)
		}

		// Actions.
		res = e.Do("POST", "/admin/jobs/"+itoa(later.ID)+"/cancel", nil, api)
		if b := jsonBody(t, res); res.StatusCode != 200 || b["success"] != true || b["message"] == "" {
			t.Errorf("cancel: %d %v", res.StatusCode, b)
		}
		if res := e.Do("POST", "/admin/jobs/999999/cancel", nil, api); res.StatusCode != 404 {
			t.Errorf("cancel missing: %d", res.StatusCode)
		}
		res = e.Do("POST", "/admin/jobs/"+itoa(dead.ID)+"/retry", nil, api)
		if b := jsonBody(t, res); res.StatusCode != 200 || b["success"] != true {
			t.Errorf("retry: %d %v", res.StatusCode, b)
		}
		waitFor(t, "the retried job to die again", func() bool {
			d, err := e.app.Jobs.Get(ctx, dead.ID)
			return err == nil && d.Status == jobs.StatusDead
		})
		_, _ = e.app.Jobs.Enqueue(ctx, deadArgs{}, &jobs.Opts{MaxRetries: jobs.Retries(0)})
		waitFor(t, "two dead jobs", func() bool {
			l, err := e.app.Jobs.List(ctx, jobs.ListParams{Status: jobs.StatusDead})
			return err == nil && l.Total == 2
		})
		before := map[int64]int{}
		l, _ := e.app.Jobs.List(ctx, jobs.ListParams{Status: jobs.StatusDead})
		for _, j := range l.Jobs {
			before[j.ID] = j.Attempt
		}
		res = e.Do("POST", "/admin/jobs/retry-all", nil, api)
		if b := jsonBody(t, res); res.StatusCode != 200 || b["retried"] != float64(2) || b["message"] == "" {
			t.Errorf("retry-all: %d %v", res.StatusCode, b)
		}
		// Both ran once more (one more attempt and error) and died again.
		waitFor(t, "both retried jobs to run and die again", func() bool {
			for id, attempt := range before {
				d, err := e.app.Jobs.Get(ctx, id)
				if err != nil || d.Status != jobs.StatusDead || d.Attempt != attempt+1 || len(d.Errors) != attempt+1 {
					return false
				}
			}
			return len(before) == 2
		})
		res = e.Do("POST", "/admin/jobs/dead-letter/clear", nil, api)
		if b := jsonBody(t, res); res.StatusCode != 200 || b["cleared"] != float64(2) {
			t.Errorf("clear: %d %v", res.StatusCode, b)
		}
		if l, _ := e.app.Jobs.List(ctx, jobs.ListParams{Status: jobs.StatusDead}); l.Total != 0 {
			t.Errorf("%d dead jobs after clearing", l.Total)
		}
	})
}

func TestAdminAPIAuthorization(t *testing.T) {
	e := newAdminApp(t, "sqlite")
	anon := e.AsNewVisitor()
	user := e.AsNewVisitor()
	user.PostForm("/login", url.Values{"email": {"user@example.com"}, "password": {"user password"}})
	paths := []struct{ method, path string }{
		{"GET", "/admin/jobs/list"}, {"GET", "/admin/jobs/stats"}, {"GET", "/admin/jobs/1"},
		{"POST", "/admin/jobs/1/retry"}, {"POST", "/admin/jobs/1/cancel"}, {"POST", "/admin/jobs/retry-all"},
		{"POST", "/admin/jobs/dead-letter/clear"}, {"GET", "/admin/jobs"},
	}
	for _, p := range paths {
		if res := anon.Do(p.method, p.path, nil, api); res.StatusCode != 401 || !strings.HasPrefix(res.Body, "{") {
			t.Errorf("anonymous %s %s: %d", p.method, p.path, res.StatusCode)
		}
		if res := user.Do(p.method, p.path, nil, api); res.StatusCode != 403 {
			t.Errorf("non-admin %s %s: %d", p.method, p.path, res.StatusCode)
		}
	}
	// Browsers are sent to the login page.
	if res := anon.Get("/admin/jobs"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?next=") {
		t.Errorf("anonymous browser: %d %v", res.StatusCode, res.Header)
	}
	// Unsafe methods need CSRF from a session, or a bearer token.
	if res := e.Do("POST", "/admin/jobs/retry-all", nil, api, trellistest.NoCSRF()); res.StatusCode != 403 {
		t.Errorf("admin POST without CSRF: %d", res.StatusCode)
	}
	bot := e.AsNewVisitor()
	res := bot.Do("POST", "/admin/jobs/retry-all", nil, api, trellistest.NoCSRF(), trellistest.Header("Authorization", "Bearer "+e.token))
	if res.StatusCode != 200 || jsonBody(t, res)["retried"] != float64(0) {
		t.Errorf("bearer POST: %d %s", res.StatusCode, res.Body)
	}
}

// TestAdminStoreOutage points the app at PostgreSQL through a TCP proxy,
// then breaks the proxy: answers must be 503 (outage) or 504 (timeout),
// never 408 or 500.
func TestAdminStoreOutage(t *testing.T) {
	pgURL := trellistest.PostgresURL(t)
	u, _ := url.Parse(pgURL)
	proxy := trellistest.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	cfg := trellistest.Config(t)
	cfg.Database.URL = u.String() + "&connect_timeout=2"
	cfg.Server.RequestTimeout = 2 * time.Second
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Heal(); _ = app.Close(context.Background()) })
	admin, err := app.Auth.CreateUser(context.Background(), "root@example.com", "", "root password", "admin")
	if err != nil {
		t.Fatal(err)
	}
	token, _, _ := app.Auth.Tokens.Create(context.Background(), admin.ID, "t", 0)
	s := trellistest.NewServer(t, app)
	auth := trellistest.Header("Authorization", "Bearer "+token)
	if res := s.Get("/admin/jobs/stats", api, auth); res.StatusCode != 200 {
		t.Fatalf("before the outage: %d %s", res.StatusCode, res.Body)
	}
	// A database that stops answering: 504 once the 5-second limit passes.
	// (The token check is cached nowhere, so log in by session first.)
	s.PostForm("/login", url.Values{"email": {"root@example.com"}, "password": {"root password"}})
	proxy.Hang()
	start := time.Now()
	res := s.Get("/admin/jobs/list", api)
	if res.StatusCode != 504 && res.StatusCode != 503 {
		t.Errorf("hung database: %d after %v: %.200s", res.StatusCode, time.Since(start), res.Body)
	}
	proxy.Break()
	for _, p := range []string{"/admin/jobs/list", "/admin/jobs/stats", "/admin/jobs/1"} {
		res := s.Get(p, api, auth)
		if res.StatusCode != 503 && res.StatusCode != 504 {
			t.Errorf("%s during an outage: %d %.200s", p, res.StatusCode, res.Body)
		}
	}
	if _, err := app.Jobs.List(context.Background(), jobs.ListParams{}); err == nil {
		t.Error("List succeeded during the outage")
	}
}

func TestDashboardWithoutJavaScript(t *testing.T) {
	e := newAdminApp(t, "sqlite")
	ctx := context.Background()
	dead, _ := e.app.Jobs.Enqueue(ctx, deadArgs{}, &jobs.Opts{MaxRetries: jobs.Retries(0)})
	_, _ = e.app.Jobs.Enqueue(ctx, okArgs{Note: `<script>alert(1)</script>`}, &jobs.Opts{RunAt: time.Now().Add(time.Hour)})
	waitFor(t, "dead job", func() bool {
		d, err := e.app.Jobs.Get(ctx, dead.ID)
		return err == nil && d.Status == jobs.StatusDead
	})
	page := e.Get("/admin/jobs?state=dead")
	if page.StatusCode != 200 || !strings.Contains(page.Body, `id="job-`+itoa(dead.ID)+`"`) || strings.Contains(page.Body, `id="job-2"`) {
		t.Fatalf("dead tab: %d", page.StatusCode)
	}
	all := e.Get("/admin/jobs")
	if strings.Contains(all.Body, "<script>alert(1)") || !strings.Contains(all.Body, "alert(1)") {
		t.Error("job arguments not escaped (or not shown)")
	}
	// A plain form post retries and redirects back with a flash.
	tok := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page.Body)[1]
	res := e.PostForm("/admin/jobs/"+itoa(dead.ID)+"/retry", url.Values{"csrf_token": {tok}, "return": {"/admin/jobs?state=dead"}},
		trellistest.NoCSRF(), trellistest.Header("Accept", "text/html"))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/jobs?state=dead" {
		t.Fatalf("form retry: %d %v", res.StatusCode, res.Header)
	}
	if !strings.Contains(e.Get("/admin/jobs").Body, "will run again") {
		t.Error("no flash after the retry")
	}
	// Open redirects through "return" are refused.
	res = e.PostForm("/admin/jobs/retry-all", url.Values{"return": {"//evil.example"}}, trellistest.Header("Accept", "text/html"))
	if res.Header.Get("Location") != "/admin/jobs" {
		t.Errorf("return to %q", res.Header.Get("Location"))
	}
	// The detail page for browsers, the fragment for htmx.
	detail := e.Get("/admin/jobs/"+itoa(dead.ID), trellistest.Header("Accept", "text/html"))
	if detail.StatusCode != 200 || !strings.Contains(detail.Body, "boom &lt;b&gt;") || !strings.Contains(detail.Body, "<html") {
		t.Errorf("detail page: %d", detail.StatusCode)
	}
	frag := e.Get("/admin/jobs?state=scheduled", trellistest.HTMX("job-list"))
	if !strings.HasPrefix(frag.Body, `<div id="job-list"`) {
		t.Errorf("htmx list fragment: %.100s", frag.Body)
	}
	stats := e.Get("/admin/jobs/stats", trellistest.HTMX("job-stats"))
	if !strings.HasPrefix(stats.Body, `<section id="job-stats"`) {
		t.Errorf("htmx stats fragment: %.100s", stats.Body)
	}
	if res := e.Get("/admin/jobs?state=nope"); res.StatusCode != 400 {
		t.Errorf("bad state: %d", res.StatusCode)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	e := newAdminApp(t, "sqlite")
	ctx := context.Background()
	r, _ := e.app.Jobs.Enqueue(ctx, okArgs{}, nil)
	waitFor(t, "the job", func() bool {
		d, err := e.app.Jobs.Get(ctx, r.ID)
		return err == nil && d.Status == jobs.StatusCompleted
	})
	time.Sleep(1100 * time.Millisecond)
	body := e.Get("/metrics").Body
	for _, want := range []string{
		`trellis_jobs_total{kind="ok_job",outcome="completed"} 1`,
		`trellis_jobs_total{kind="ok_job",outcome="enqueued"} 1`,
		`trellis_jobs{kind="ok_job",state="pending"} 0`,
		`trellis_job_execution_milliseconds{kind="ok_job",quantile="0.99"}`,
		`trellis_job_run_seconds_count{kind="ok_job",outcome="completed"} 1`,
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func timeIn(seconds int) time.Time { return time.Now().Add(time.Duration(seconds) * time.Second) }

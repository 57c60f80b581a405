package admin_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/jobs/admin"
	"github.com/trellis-go/trellis/trellistest"
)

func TestNewValidatesOptions(t *testing.T) {
	e := newAdminApp(t, "sqlite")
	good := admin.Options{Engine: e.app.Jobs, Render: e.app.Render, Sessions: e.app.Sessions}
	h, err := admin.New(good)
	if err != nil || h.Prefix() != admin.DefaultPrefix {
		t.Fatalf("defaults: %v %v", h, err)
	}
	for name, o := range map[string]admin.Options{
		"no engine":      {Render: good.Render, Sessions: good.Sessions},
		"no renderer":    {Engine: good.Engine, Sessions: good.Sessions},
		"no sessions":    {Engine: good.Engine, Render: good.Render},
		"relative":       {Engine: good.Engine, Render: good.Render, Sessions: good.Sessions, Prefix: "admin/jobs"},
		"trailing slash": {Engine: good.Engine, Render: good.Render, Sessions: good.Sessions, Prefix: "/ops/"},
		"root":           {Engine: good.Engine, Render: good.Render, Sessions: good.Sessions, Prefix: "/"},
		"scheme-less":    {Engine: good.Engine, Render: good.Render, Sessions: good.Sessions, Prefix: "//evil.example"},
		"query":          {Engine: good.Engine, Render: good.Render, Sessions: good.Sessions, Prefix: "/ops?x=1"},
		"pattern":        {Engine: good.Engine, Render: good.Render, Sessions: good.Sessions, Prefix: "/ops/{id}"},
		"negative":       {Engine: good.Engine, Render: good.Render, Sessions: good.Sessions, Timeout: -1},
	} {
		if _, err := admin.New(o); !errors.Is(err, admin.ErrInvalidOptions) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

var urlAttr = regexp.MustCompile(`\b(href|action|hx-get|hx-post)="([^"]*)"`)

// TestPrefixMovesEverything mounts the admin at /ops/queue: the API,
// every dashboard link, form, htmx attribute and redirect follow it.
func TestPrefixMovesEverything(t *testing.T) {
	const p = "/ops/queue"
	e := newAdminAppAt(t, "sqlite", p)
	ctx := context.Background()
	dead, _ := e.app.Jobs.Enqueue(ctx, deadArgs{}, &jobs.Opts{MaxRetries: jobs.Retries(0)})
	later, _ := e.app.Jobs.Enqueue(ctx, okArgs{Note: "later"}, &jobs.Opts{RunAt: timeIn(3600)})
	waitFor(t, "dead job", func() bool {
		d, err := e.app.Jobs.Get(ctx, dead.ID)
		return err == nil && d.Status == jobs.StatusDead
	})

	if b := jsonBody(t, e.Get(p+"/list", api)); b["total"] != float64(2) {
		t.Fatalf("JSON list under the prefix: %v", b)
	}
	if b := jsonBody(t, e.Get(p+"/"+itoa(later.ID), api)); b["job"] == nil {
		t.Fatalf("JSON job under the prefix: %v", b)
	}

	// Every admin URL in the pages points below the prefix.
	checkPage := func(name, body string, want ...string) {
		t.Helper()
		if strings.Contains(body, "/admin/jobs") {
			t.Errorf("%s mentions /admin/jobs", name)
		}
		seen := map[string]bool{}
		for _, m := range urlAttr.FindAllStringSubmatch(body, -1) {
			seen[m[1]+"="+m[2]] = true
		}
		for _, w := range want {
			if !seen[w] {
				t.Errorf("%s lacks %s", name, w)
			}
		}
	}
	page := e.Get(p + "?state=dead")
	if page.StatusCode != 200 {
		t.Fatalf("dashboard: %d", page.StatusCode)
	}
	checkPage("dashboard", page.Body,
		"hx-get="+p+"/stats", "action="+p+"/retry-all", "hx-post="+p+"/retry-all",
		"action="+p+"/dead-letter/clear", "hx-post="+p+"/dead-letter/clear",
		"href="+p+"?state=dead", "hx-get="+p+"?state=dead", "href="+p, "action="+p, "hx-get="+p,
		"href="+p+"/"+itoa(dead.ID), "action="+p+"/"+itoa(dead.ID)+"/retry", "hx-post="+p+"/"+itoa(dead.ID)+"/retry")
	checkPage("detail page", e.Get(p+"/"+itoa(later.ID), trellistest.Header("Accept", "text/html")).Body,
		"href="+p, "hx-post="+p+"/"+itoa(later.ID)+"/cancel", "hx-post="+p+"/"+itoa(later.ID)+"/retry")
	checkPage("list fragment", e.Get(p+"?state=scheduled", trellistest.HTMX("job-list")).Body, "hx-get="+p+"?state=scheduled")
	checkPage("stats fragment", e.Get(p+"/stats", trellistest.HTMX("job-stats")).Body, "hx-get="+p+"/stats")

	// Redirects go back below the prefix, and only there.
	html := trellistest.Header("Accept", "text/html")
	res := e.PostForm(p+"/"+itoa(dead.ID)+"/retry", url.Values{"return": {p + "?state=dead"}}, html)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != p+"?state=dead" {
		t.Errorf("retry redirect: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	for _, ret := range []string{"/admin/jobs", "/ops/queueX", "//evil.example", ""} {
		res := e.PostForm(p+"/retry-all", url.Values{"return": {ret}}, html)
		if res.Header.Get("Location") != p {
			t.Errorf("return %q redirected to %q", ret, res.Header.Get("Location"))
		}
	}
	// The prefixed routes keep the admin check.
	if res := e.AsNewVisitor().Get(p+"/list", api); res.StatusCode != 401 {
		t.Errorf("anonymous under the prefix: %d", res.StatusCode)
	}
}

package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/jobs/admin"
	"github.com/trellis-go/trellis/trellistest"
)

// TestActionsAnswerEachClientInKind: actions on missing or finished jobs
// and unreadable filters answer JSON clients with JSON, browsers with an
// error page and htmx with a flash and an event, each with the right
// status.
func TestActionsAnswerEachClientInKind(t *testing.T) {
	e := newAdminApp(t, "sqlite")
	ctx := context.Background()
	done, err := e.app.Jobs.Enqueue(ctx, okArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job", func() bool {
		d, err := e.app.Jobs.Get(ctx, done.ID)
		return err == nil && d.Status == jobs.StatusCompleted
	})
	html := trellistest.Header("Accept", "text/html")
	// Paging in the browser: a next link, then a link back to the first
	// page; the kind filter offers registered kinds that never ran.
	if _, err := e.app.Jobs.Enqueue(ctx, okArgs{Note: "second"}, nil); err != nil {
		t.Fatal(err)
	}
	first := e.Get("/admin/jobs?limit=1", html)
	next := regexp.MustCompile(`href="(/admin/jobs\?cursor=[^"]+)"`).FindStringSubmatch(first.Body)
	if first.StatusCode != http.StatusOK || next == nil || !strings.Contains(first.Body, `value="dead_job"`) {
		t.Fatalf("first page: %d, next link %v, kinds offered: %v", first.StatusCode, next, strings.Contains(first.Body, `value="dead_job"`))
	}
	second := e.Get(strings.ReplaceAll(next[1], "&amp;", "&"), html)
	if second.StatusCode != http.StatusOK || !regexp.MustCompile(`href="/admin/jobs(\?limit=1)?"[^>]*>First page</a>`).MatchString(second.Body) {
		t.Errorf("second page: %d, no way back to the first", second.StatusCode)
	}
	if strings.Contains(first.Body, ">First page</a>") {
		t.Error("the first page links to the first page")
	}
	for _, c := range []struct {
		path   string
		opts   []trellistest.RequestOption
		status int
		want   string
	}{
		{"/admin/jobs/987654/retry", []trellistest.RequestOption{api}, http.StatusNotFound, `"job not found"`},
		{"/admin/jobs/987654/cancel", []trellistest.RequestOption{api}, http.StatusNotFound, `"job not found"`},
		{"/admin/jobs/987654/cancel", []trellistest.RequestOption{html}, http.StatusNotFound, "<html"},
		{"/admin/jobs/0/retry", []trellistest.RequestOption{api}, http.StatusBadRequest, "positive integer"},
		{"/admin/jobs/" + itoa(done.ID) + "/cancel", []trellistest.RequestOption{api}, http.StatusConflict, "already finished (completed)"},
		{"/admin/jobs/" + itoa(done.ID) + "/cancel", []trellistest.RequestOption{html}, http.StatusConflict, "already finished (completed)"},
	} {
		res := e.PostForm(c.path, url.Values{}, c.opts...)
		if res.StatusCode != c.status || !strings.Contains(res.Body, c.want) {
			t.Errorf("POST %s: %d %.300s; want %d with %q", c.path, res.StatusCode, res.Body, c.status, c.want)
		}
	}
	// A browser that sends a cursor it made up gets the error page.
	if res := e.Get("/admin/jobs?cursor=made-up", html); res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, "cursor is malformed") {
		t.Errorf("dashboard with a bad cursor: %d %.300s", res.StatusCode, res.Body)
	}
	// htmx: a flash and a jobs-changed event instead of a redirect.
	res := e.PostForm("/admin/jobs/"+itoa(done.ID)+"/retry", url.Values{}, trellistest.HTMX("job-list"))
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("HX-Trigger"), "jobs-changed") {
		t.Fatalf("htmx retry: %d %v", res.StatusCode, res.Header)
	}
	if !strings.Contains(res.Body, "will run again") && !strings.Contains(e.Get("/admin/jobs").Body, "will run again") {
		t.Errorf("no flash after the htmx retry: %.300s", res.Body)
	}
	// JSON clients of the bulk actions get counts.
	if b := jsonBody(t, e.PostForm("/admin/jobs/dead-letter/clear", url.Values{}, api)); b["cleared"] != float64(0) || b["message"] == "" {
		t.Errorf("clear: %v", b)
	}
	if b := jsonBody(t, e.PostForm("/admin/jobs/retry-all", url.Values{}, api)); b["retried"] != float64(0) {
		t.Errorf("retry-all: %v", b)
	}
}

// TestSlowStoreAnswers504: reads that outlast Options.Timeout answer 504
// — JSON for API clients, the error page for browsers — and bad filters
// 400.
func TestSlowStoreAnswers504(t *testing.T) {
	e := newAdminAppAt(t, "sqlite", "/hasty/jobs", func(o *admin.Options) { o.Timeout = time.Nanosecond })
	html := trellistest.Header("Accept", "text/html")
	for _, c := range []struct {
		path string
		opts []trellistest.RequestOption
		want string
	}{
		{"/hasty/jobs/stats", []trellistest.RequestOption{api}, `"status":504`},
		{"/hasty/jobs/list", []trellistest.RequestOption{api}, `"status":504`},
		{"/hasty/jobs/1", []trellistest.RequestOption{api}, `"status":504`},
		{"/hasty/jobs", []trellistest.RequestOption{html}, "<title>Timed out"},
	} {
		if res := e.Get(c.path, c.opts...); res.StatusCode != http.StatusGatewayTimeout || !strings.Contains(res.Body, c.want) {
			t.Errorf("GET %s: %d %.300s", c.path, res.StatusCode, res.Body)
		}
	}
	for _, bad := range []string{"q=" + strings.Repeat("x", 201), "kind=" + strings.Repeat("k", 129)} {
		if res := e.Get("/admin/jobs/list?"+bad, api); res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, "too long") {
			t.Errorf("list?%.20s…: %d", bad, res.StatusCode)
		}
	}
	if res := e.PostForm("/admin/jobs/x/cancel", url.Values{}, api); res.StatusCode != http.StatusBadRequest {
		t.Errorf("cancel of job x: %d", res.StatusCode)
	}
	// The normal handlers are unaffected.
	if res := e.Get("/admin/jobs/stats", api); res.StatusCode != http.StatusOK {
		t.Errorf("stats: %d", res.StatusCode)
	}
}

// TestActionsOnARunningJob: a running job cannot be retried (409) and is
// cancelled by being told to stop, ending cancelled.
func TestActionsOnARunningJob(t *testing.T) {
	e := newAdminApp(t, "sqlite")
	ctx := context.Background()
	r, err := e.app.Jobs.Enqueue(ctx, blockArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job to run", func() bool {
		d, err := e.app.Jobs.Get(ctx, r.ID)
		return err == nil && d.Status == jobs.StatusRunning
	})
	path := "/admin/jobs/" + itoa(r.ID)
	if res := e.PostForm(path+"/retry", url.Values{}, api); res.StatusCode != http.StatusConflict || !strings.Contains(res.Body, "is running") {
		t.Errorf("retry of a running job: %d %.200s", res.StatusCode, res.Body)
	}
	if res := e.PostForm(path+"/cancel", url.Values{}, api); res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "told to stop") {
		t.Errorf("cancel of a running job: %d %.200s", res.StatusCode, res.Body)
	}
	waitFor(t, "the job to end cancelled", func() bool {
		d, err := e.app.Jobs.Get(ctx, r.ID)
		return err == nil && d.Status == jobs.StatusCancelled
	})
}

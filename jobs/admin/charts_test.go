package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/trellistest"
)

var (
	barRe   = regexp.MustCompile(`<rect class="chart-bar chart-ok"[^>]*height="([0-9.]+)"[^>]*><title>([^<]*)</title>`)
	failRe  = regexp.MustCompile(`<rect class="chart-bar chart-bad"[^>]*><title>([^<]*)</title>`)
	dotRe   = regexp.MustCompile(`<circle class="chart-dot"[^>]*><title>([^<]*)</title>`)
	styleRe = regexp.MustCompile(`(?i)\sstyle=|<script|\son[a-z]+=`)
)

// TestJobCharts: the dashboard draws throughput, failures and p95 run time
// of the last hour as SVG from the jobs the app ran; the charts fragment
// polls, switches to the last day, refuses unknown windows, answers JSON
// to API clients, carries no inline style or script (the CSP forbids
// them), and is for admins only.
func TestJobCharts(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		e := newAdminApp(t, dialect)
		ctx := context.Background()
		for range 3 {
			if _, err := e.app.Jobs.Enqueue(ctx, okArgs{Note: "</title><script>alert(1)</script>"}, nil); err != nil {
				t.Fatal(err)
			}
		}
		dead, _ := e.app.Jobs.Enqueue(ctx, deadArgs{}, &jobs.Opts{MaxRetries: jobs.Retries(1)})
		waitFor(t, "the dead job and the completed ones", func() bool {
			d, err := e.app.Jobs.Get(ctx, dead.ID)
			s, _ := e.app.Jobs.Stats(ctx)
			return err == nil && d.Status == jobs.StatusDead && s != nil && s.Total.Completed == 3
		})

		page := e.Get("/admin/jobs").AssertStatus(http.StatusOK)
		for _, id := range []string{`id="job-charts"`, `id="chart-throughput"`, `id="chart-failures"`, `id="chart-p95"`, `hx-trigger="every 10s, jobs-changed from:body"`} {
			if !strings.Contains(page.Body, id) {
				t.Errorf("dashboard lacks %s", id)
			}
		}
		completed, failed := 0, 0
		for _, m := range barRe.FindAllStringSubmatch(page.Body, -1) {
			var n int
			if _, err := fmtSscan(m[2], &n); err == nil {
				completed += n
			}
		}
		for _, m := range failRe.FindAllStringSubmatch(page.Body, -1) {
			var n int
			if _, err := fmtSscan(m[1], &n); err == nil {
				failed += n
			}
		}
		if completed != 3 || failed != 2 {
			t.Errorf("charts show %d completed and %d failed attempts, want 3 and 2", completed, failed)
		}
		if len(dotRe.FindAllString(page.Body, -1)) == 0 {
			t.Error("the p95 chart has no points")
		}
		charts := page.Body[strings.Index(page.Body, `id="job-charts"`):]
		charts = charts[:strings.Index(charts, "</section>")]
		if styleRe.MatchString(charts) {
			t.Errorf("charts carry inline style or script: %s", styleRe.FindString(charts))
		}

		day := e.Get("/admin/jobs/charts?window=day", trellistest.HTMX("job-charts")).AssertStatus(http.StatusOK).AssertFragment()
		if !strings.Contains(day.Body, `hx-get="/admin/jobs/charts?window=day"`) || !strings.Contains(day.Body, "in the last day") {
			t.Errorf("day fragment: %.400s", day.Body)
		}
		e.Get("/admin/jobs/charts?window=week", trellistest.HTMX("job-charts")).AssertStatus(http.StatusBadRequest)
		js := jsonBody(t, e.Get("/admin/jobs/charts?window=hour", api).AssertStatus(http.StatusOK))
		if tl, ok := js["timeline"].(map[string]any); !ok || len(tl["buckets"].([]any)) != 60 {
			t.Errorf("JSON timeline: %v", js)
		}

		user := e.AsNewVisitor()
		user.SignIn("user@example.com", "user password")
		if res := user.Get("/admin/jobs/charts?window=hour", trellistest.HTMX("job-charts")); res.StatusCode != http.StatusForbidden {
			t.Errorf("non-admin got %d, want 403", res.StatusCode)
		}
	})
}

// fmtSscan reads the leading count of a bar's tooltip ("07:01–07:02 UTC:
// 3 completed").
func fmtSscan(tip string, n *int) (int, error) {
	_, rest, _ := strings.Cut(tip, "UTC: ")
	return fmt.Sscan(rest, n)
}

package admin

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	templruntime "github.com/a-h/templ/runtime"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/jobs"
)

// sampleView is a dashboard with a job in every status, paging links and
// statistics, so every branch of the templates has something to show.
func sampleView() (*dashboardView, *jobs.Detail) {
	l := links{prefix: "/admin/jobs"}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var list jobs.ListResult
	for i, st := range jobs.Statuses {
		list.Jobs = append(list.Jobs, jobs.Info{
			ID: int64(i + 1), Kind: "mail", Status: st, Queue: "default", Priority: 1, Attempt: 1, MaxAttempts: 4,
			CreatedAt: at, ScheduledAt: at, AttemptedAt: &at, Args: json.RawMessage(`{"to":"<a@example.com>","body":"` + strings.Repeat("x", 100) + `"}`),
			Tags: []string{"user-1"},
		})
	}
	list.Total, list.NextCursor = 99, "c2"
	stats := &jobs.Stats{Total: jobs.KindStats{Enqueued: 7, Pending: 1, Running: 1, SuccessRate: 87.5,
		Execution: jobs.Distribution{Avg: 12.25, P95: 1500, P99: 2500}}, Kinds: []jobs.KindStats{{Kind: "mail"}}, At: at}
	p := jobs.ListParams{Status: jobs.StatusDead, Kind: "mail", Cursor: "c1"}
	v := &dashboardView{Links: l, Stats: stats, Params: p, List: &list, Kinds: []string{"mail", "report"}, Queues: []string{"default", "mail"},
		SelfURL: l.dashboardURL(p, "c1"), NextURL: l.dashboardURL(p, "c2"), FirstURL: l.dashboardURL(p, ""),
		Tabs: []tab{{Label: "All", URL: l.Home(), Count: -1}, {Label: "Dead", URL: l.Home() + "?state=dead", Count: 3, Active: true}}}
	d := &jobs.Detail{Info: list.Jobs[0], Errors: []jobs.AttemptError{
		{Attempt: 1, At: at, Error: "boom <b>", Trace: "main.go:1"},
		{Attempt: 2, At: at, Error: "again"},
	}, Metadata: json.RawMessage(`{}`)}
	d.Args = json.RawMessage(`{"to":"a@example.com"}`)
	return v, d
}

// failAfter is a writer that accepts n writes, then fails every write.
type failAfter struct {
	n      int
	writes int
	out    bytes.Buffer
}

var errWrite = errors.New("client went away")

func (f *failAfter) Write(p []byte) (int, error) {
	if f.writes >= f.n {
		return 0, errWrite
	}
	f.writes++
	return f.out.Write(p)
}

// TestTemplatesStopAtTheFirstWriteError renders each dashboard template
// to a writer that fails after n writes, for every n: the render must
// report the writer's error and write nothing more, and the output so far
// must be the start of the full page.
func TestTemplatesStopAtTheFirstWriteError(t *testing.T) {
	// An unbuffered templ writer passes every write straight through, so
	// the failure surfaces at each write the template makes.
	saved := templruntime.DefaultBufferSize
	templruntime.DefaultBufferSize = 1
	defer func() { templruntime.DefaultBufferSize = saved }()
	v, d := sampleView()
	l := v.Links
	for name, c := range map[string]templ.Component{
		"dashboard": dashboardPage(v),
		"list":      jobList(v),
		"stats":     statsPanel(l, v.Stats),
		"no jobs":   jobList(&dashboardView{Links: l, List: &jobs.ListResult{}, SelfURL: l.Home()}),
		"job":       jobPage(l, d, l.Home()+"?state=dead"),
		"empty job": jobPage(l, &jobs.Detail{Info: jobs.Info{ID: 9, Status: jobs.StatusRunning, Args: json.RawMessage(`not json`)}}, l.Home()),
	} {
		var full bytes.Buffer
		if err := c.Render(context.Background(), &full); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for n := 0; ; n++ {
			w := &failAfter{n: n}
			buf := &templruntime.Buffer{}
			buf.Reset(w)
			err := c.Render(context.Background(), buf)
			if err == nil {
				err = buf.Flush()
			}
			if err == nil {
				if w.out.String() != full.String() {
					t.Errorf("%s: a render of %d writes differs from the full one", name, n)
				}
				break
			}
			if !errors.Is(err, errWrite) {
				t.Fatalf("%s, failing after %d writes: %v, want the writer's error", name, n, err)
			}
			if w.writes != n || !strings.HasPrefix(full.String(), w.out.String()) {
				t.Fatalf("%s, failing after %d writes: wrote on after the failure", name, n)
			}
			if n > 10000 {
				t.Fatalf("%s: never finished", name)
			}
		}
	}
}

// TestTemplatesShowEverything checks what the pages show.
func TestTemplatesShowEverything(t *testing.T) {
	v, d := sampleView()
	render := func(c templ.Component) string {
		var b strings.Builder
		if err := c.Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	page := render(dashboardPage(v))
	for _, want := range []string{
		`id="stat-success">87.5%`, "12.2 ms", "1.50 s", "2.50 s", // timings under and over a second
		"&lt;a@example.com&gt;", "…", // escaped, shortened arguments
		`href="/admin/jobs?cursor=c2&amp;kind=mail&amp;state=dead"`, // next page
		`href="/admin/jobs?kind=mail&amp;state=dead"`,               // first page
		`/admin/jobs/5/retry`, `/admin/jobs/1/cancel`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if strings.Contains(page, "/admin/jobs/1/retry") || strings.Contains(page, "/admin/jobs/4/cancel") {
		t.Error("actions offered that the status does not allow")
	}
	if strings.Contains(page, "<a@example.com>") {
		t.Error("arguments not escaped")
	}
	job := render(jobPage(v.Links, d, "/admin/jobs?state=dead"))
	for _, want := range []string{"boom &lt;b&gt;", "Stack trace", "main.go:1", "Attempt 2", "2026-01-02 03:04:05", "\n  &#34;to&#34;", `href="/admin/jobs?state=dead"`} {
		if !strings.Contains(job, want) {
			t.Errorf("job page lacks %q", want)
		}
	}
	bare := render(jobPage(v.Links, &jobs.Detail{Info: jobs.Info{ID: 9, Status: jobs.StatusRunning, Args: json.RawMessage(`not json`)}}, "/admin/jobs"))
	for _, want := range []string{"No errors.", "not json", "—", "/admin/jobs/9/cancel"} {
		if !strings.Contains(bare, want) {
			t.Errorf("bare job page lacks %q", want)
		}
	}
	if strings.Contains(bare, "/admin/jobs/9/retry") {
		t.Error("a running job offers a retry")
	}
	var b strings.Builder
	if err := emptyComponent().Render(context.Background(), &b); err != nil || b.Len() != 0 {
		t.Errorf("empty component: %q %v", b.String(), err)
	}
}

// TestStoreErrorStatuses checks how engine errors reach API clients, and
// that only server-side failures are logged.
func TestStoreErrorStatuses(t *testing.T) {
	var logged bytes.Buffer
	h := &Handler{logger: slog.New(slog.NewTextHandler(&logged, nil))}
	for _, c := range []struct {
		err    error
		status int
		logs   bool
	}{
		{fmt.Errorf("get: %w", jobs.ErrNotFound), http.StatusNotFound, false},
		{fmt.Errorf("list: %w", jobs.ErrBadCursor), http.StatusBadRequest, false},
		{fmt.Errorf("stats: %w", context.DeadlineExceeded), http.StatusGatewayTimeout, true},
		{fmt.Errorf("stats: %w", driver.ErrBadConn), http.StatusServiceUnavailable, true},
		{errors.New("disk on fire"), http.StatusInternalServerError, true},
	} {
		logged.Reset()
		w := httptest.NewRecorder()
		h.storeError(w, httptest.NewRequest("GET", "/admin/jobs/list", nil), c.err)
		var body struct {
			Success bool   `json:"success"`
			Error   string `json:"error"`
			Status  int    `json:"status"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != c.status || body.Status != c.status || body.Success || body.Error == "" {
			t.Errorf("%v: %d %s", c.err, w.Code, w.Body)
		}
		if strings.Contains(w.Body.String(), "fire") {
			t.Errorf("%v: the internal error reached the client", c.err)
		}
		if got := logged.Len() > 0; got != c.logs {
			t.Errorf("%v: logged %v, want %v", c.err, got, c.logs)
		}
	}
}

// TestTemplatesHonourCancellation: a render whose request has gone writes
// nothing and reports the cancellation.
func TestTemplatesHonourCancellation(t *testing.T) {
	v, d := sampleView()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, c := range map[string]templ.Component{
		"dashboard": dashboardPage(v), "list": jobList(v), "stats": statsPanel(v.Links, v.Stats),
		"job": jobPage(v.Links, d, "/admin/jobs"), "actions": actions(v.Links, 1, jobs.StatusDead, "/admin/jobs"),
		"form": actionForm("/admin/jobs/1/retry", "Sure?", "/admin/jobs"),
	} {
		var b bytes.Buffer
		if err := c.Render(ctx, &b); !errors.Is(err, context.Canceled) || b.Len() != 0 {
			t.Errorf("%s: %v, wrote %d bytes", name, err, b.Len())
		}
	}
}

// TestLostStoreFailsEveryHandler: with the job store gone, every handler
// answers an API client with a JSON error of 500 or 503, never success.
func TestLostStoreFailsEveryHandler(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default(config.Test)
	d, err := db.Open(ctx, cfg.Database, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Migrate(ctx, nil, db.Framework()); err != nil {
		t.Fatal(err)
	}
	e, err := jobs.New(cfg.Jobs, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	_ = e.Stop(ctx)
	_ = d.Close()
	h := &Handler{e: e, logger: slog.New(slog.DiscardHandler), timeout: time.Second, links: links{prefix: DefaultPrefix}}
	for name, fn := range map[string]http.HandlerFunc{
		"dashboard": h.dashboard, "list": h.listJSON, "stats": h.stats, "job": h.job,
		"retry": h.retry, "cancel": h.cancel, "retry-all": h.retryAll, "clear": h.clearDead,
	} {
		r := httptest.NewRequest("POST", "/admin/jobs/1", nil)
		r.SetPathValue("id", "1")
		w := httptest.NewRecorder()
		fn(w, r)
		var body struct {
			Success bool `json:"success"`
			Status  int  `json:"status"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code < 500 || body.Status != w.Code || body.Success {
			t.Errorf("%s: %d %s", name, w.Code, w.Body)
		}
	}
}

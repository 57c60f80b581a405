package admin

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/render"
)

// dashboardView is what the dashboard templates show.
type dashboardView struct {
	Links   links
	Stats   *jobs.Stats
	Params  jobs.ListParams
	Tabs    []tab
	Kinds   []string
	Queues  []string
	List    *jobs.ListResult
	SelfURL string
	NextURL string
	// FirstURL returns to the first page when paging.
	FirstURL string
	// Charts are the last hour's charts.
	Charts *chartsView
}

type tab struct {
	Label  string
	URL    string
	Count  int64
	Active bool
}

// dashboardURL builds the dashboard URL with the filters of p (and a
// cursor).
func (l links) dashboardURL(p jobs.ListParams, cursor string) string {
	q := url.Values{}
	for k, v := range map[string]string{"state": string(p.Status), "kind": p.Kind, "queue": p.Queue, "q": p.Q, "cursor": cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return l.Home()
	}
	return l.Home() + "?" + q.Encode()
}

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) {
	p, problem := listParams(r.URL.Query())
	if problem != "" {
		h.render.Error(w, r, render.NewError(http.StatusBadRequest, problem))
		return
	}
	ctx, cancel := h.ctx(r)
	defer cancel()
	s, err := h.e.Stats(ctx)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	list, err := h.e.List(ctx, p)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	t, err := h.e.Timeline(ctx, chartWindows[0].Window, chartWindows[0].Buckets)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	l := h.links
	v := &dashboardView{Links: l, Stats: s, Params: p, List: list, SelfURL: l.dashboardURL(p, p.Cursor), Charts: chartsFor(l, 0, t)}
	if list.NextCursor != "" {
		v.NextURL = l.dashboardURL(p, list.NextCursor)
	}
	if p.Cursor != "" {
		v.FirstURL = l.dashboardURL(p, "")
	}
	counts := map[jobs.Status]int64{jobs.StatusPending: s.Total.Pending, jobs.StatusScheduled: s.Total.Scheduled,
		jobs.StatusRunning: s.Total.Running, jobs.StatusDead: s.Total.DeadLetter}
	all := p
	all.Status = ""
	v.Tabs = append(v.Tabs, tab{Label: "All", URL: l.dashboardURL(all, ""), Count: -1, Active: p.Status == ""})
	for _, st := range jobs.Statuses {
		tp := p
		tp.Status = st
		n, ok := counts[st]
		if !ok {
			n = -1
		}
		v.Tabs = append(v.Tabs, tab{Label: strings.ToUpper(string(st[:1])) + string(st[1:]), URL: l.dashboardURL(tp, ""), Count: n, Active: p.Status == st})
	}
	for _, k := range s.Kinds {
		v.Kinds = append(v.Kinds, k.Kind)
	}
	for _, k := range h.e.Kinds() {
		if !slices.Contains(v.Kinds, k) {
			v.Kinds = append(v.Kinds, k)
		}
	}
	slices.Sort(v.Kinds)
	v.Queues = h.e.Queues()
	h.render.View(w, r, render.View{Title: "Background jobs", Content: dashboardPage(v), Partial: jobList(v)})
}

// Helpers used by the templates.

func emptyComponent() templ.Component {
	return templ.ComponentFunc(func(context.Context, io.Writer) error { return nil })
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func ms(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', 2, 64) + " s"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
}

func pct(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "%" }

func when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func stamp(t time.Time) string { return when(&t) }

// argsPreview shortens a job's arguments for the list.
func argsPreview(raw json.RawMessage) string {
	s := string(raw)
	if len(s) > 80 {
		return s[:77] + "…"
	}
	return s
}

func prettyJSON(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return string(raw)
	}
	return string(b)
}

func canRetry(s jobs.Status) bool {
	return s == jobs.StatusDead || s == jobs.StatusCancelled || s == jobs.StatusCompleted || s == jobs.StatusScheduled
}

func canCancel(s jobs.Status) bool {
	return s == jobs.StatusPending || s == jobs.StatusScheduled || s == jobs.StatusRunning
}

func statusClass(s jobs.Status) string { return "badge status-" + string(s) }

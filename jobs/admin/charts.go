package admin

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trellis-go/trellis/htmx"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/render"
)

// chartWindows are the windows the charts offer: name, length, buckets.
var chartWindows = []struct {
	Name    string
	Label   string
	Window  time.Duration
	Buckets int
}{
	{"hour", "Last hour", time.Hour, 60},
	{"day", "Last day", 24 * time.Hour, 48},
}

// chartsRefresh is how often the dashboard's charts poll.
const chartsRefresh = "every 10s"

// Chart geometry, in SVG user units (the SVG scales to its box).
const (
	chartW      = 600.0 // the box is 600 × 120 (see dashboard.templ)
	chartTop    = 14.0  // room for the maximum's label
	chartBottom = 104.0
)

// chartsView is the three charts of one window.
type chartsView struct {
	Links  links
	Window string
	URL    string // this window's charts fragment
	Tabs   []chartTab
	Charts []chart
}

type chartTab struct {
	Label, URL string
	Active     bool
}

// chart is one SVG chart: bars or a line, with its scale's maximum.
type chart struct {
	ID, Title, Unit string
	Class           string // chart-ok, chart-bad or chart-line
	Bars            []bar
	Line            string // polyline points when a line chart
	Dots            []bar  // points of the line, for their tooltips
	Max             string // label of the scale's top
	First, Last     string // time labels under the axis
	Summary         string // text alternative
}

// bar is one bucket's mark, geometry formatted for SVG attributes.
type bar struct {
	X, Y, W, H string
	Tip        string
}

// chartWindow looks a window up by name; "" means the first.
func chartWindow(name string) (int, bool) {
	if name == "" {
		return 0, true
	}
	for i, w := range chartWindows {
		if w.Name == name {
			return i, true
		}
	}
	return 0, false
}

func (l links) Charts(window string) string { return l.prefix + "/charts?window=" + window }

// chartsFor builds the charts of window i from a timeline.
func chartsFor(l links, i int, t *jobs.Timeline) *chartsView {
	w := chartWindows[i]
	v := &chartsView{Links: l, Window: w.Name, URL: l.Charts(w.Name)}
	for j, o := range chartWindows {
		v.Tabs = append(v.Tabs, chartTab{Label: o.Label, URL: l.Charts(o.Name), Active: j == i})
	}
	var completed, failed []float64
	var p95 []float64
	var sumC, sumF int64
	for _, b := range t.Buckets {
		completed = append(completed, float64(b.Completed))
		failed = append(failed, float64(b.Failed))
		p95 = append(p95, b.P95)
		sumC += b.Completed
		sumF += b.Failed
	}
	layout := "15:04"
	if w.Window > 12*time.Hour {
		layout = "Jan 2 15:04"
	}
	first := t.Since.UTC().Format(layout) + " UTC"
	last := "now"
	tip := func(j int, what string) string {
		b := t.Buckets[j]
		return b.Start.UTC().Format(layout) + "–" + b.Start.Add(t.Width).UTC().Format("15:04") + " UTC: " + what
	}
	through := barChart("chart-throughput", "Throughput", "jobs completed", "chart-ok", completed, func(j int, v float64) string {
		return tip(j, itoa(int64(v))+" completed")
	})
	through.Summary = itoa(sumC) + " jobs completed in the " + strings.ToLower(w.Label)
	fails := barChart("chart-failures", "Failures", "failed attempts", "chart-bad", failed, func(j int, v float64) string {
		return tip(j, itoa(int64(v))+" failed attempts")
	})
	fails.Summary = itoa(sumF) + " failed attempts in the " + strings.ToLower(w.Label)
	line := lineChart("chart-p95", "p95 run time", "ms", p95, func(j int, v float64) string {
		if v == 0 {
			return tip(j, "no completed jobs")
		}
		return tip(j, "p95 "+ms(v))
	})
	line.Summary = "95th percentile run time per interval in the " + strings.ToLower(w.Label) + "; highest " + line.Max
	for _, c := range []*chart{&through, &fails, &line} {
		c.First, c.Last = first, last
		v.Charts = append(v.Charts, *c)
	}
	return v
}

// scaleMax is the top of a chart's scale: the largest value, at least 1.
func scaleMax(values []float64) float64 {
	m := 0.0
	for _, v := range values {
		m = max(m, v)
	}
	if m <= 0 {
		return 1
	}
	return m
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func barChart(id, title, unit, class string, values []float64, tip func(int, float64) string) chart {
	c := chart{ID: id, Title: title, Unit: unit, Class: class}
	top := scaleMax(values)
	c.Max = itoa(int64(top)) + " " + unit
	slot := chartW / float64(len(values))
	for j, v := range values {
		if v <= 0 {
			continue
		}
		h := v / top * (chartBottom - chartTop)
		c.Bars = append(c.Bars, bar{
			X: num(float64(j)*slot + slot*0.1), Y: num(chartBottom - h), W: num(slot * 0.8), H: num(h), Tip: tip(j, v),
		})
	}
	return c
}

func lineChart(id, title, unit string, values []float64, tip func(int, float64) string) chart {
	c := chart{ID: id, Title: title, Unit: unit, Class: "chart-line"}
	top := scaleMax(values)
	c.Max = ms(top)
	slot := chartW / float64(len(values))
	pts := make([]byte, 0, len(values)*12)
	for j, v := range values {
		x := float64(j)*slot + slot/2
		y := chartBottom - v/top*(chartBottom-chartTop)
		pts = append(pts, num(x)+","+num(y)+" "...)
		if v > 0 {
			c.Dots = append(c.Dots, bar{X: num(x), Y: num(y), Tip: tip(j, v)})
		}
	}
	c.Line = string(pts)
	return c
}

// charts serves GET P/charts?window=hour|day: the charts fragment for
// htmx (the dashboard polls it), a page for browsers, JSON (the timeline)
// for API clients.
func (h *Handler) charts(w http.ResponseWriter, r *http.Request) {
	// The answer's form follows these headers.
	htmx.AddVary(w.Header(), "HX-Request", "Accept")
	i, ok := chartWindow(r.URL.Query().Get("window"))
	if !ok {
		msg := `window must be "hour" or "day"`
		if wantsHTML(r) {
			h.render.Error(w, r, render.NewError(http.StatusBadRequest, msg))
		} else {
			jsonError(w, http.StatusBadRequest, msg)
		}
		return
	}
	ctx, cancel := h.ctx(r)
	defer cancel()
	t, err := h.e.Timeline(ctx, chartWindows[i].Window, chartWindows[i].Buckets)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	switch {
	case htmx.IsRequest(r):
		h.render.Fragment(w, r, http.StatusOK, chartsPanel(chartsFor(h.links, i, t)))
	case wantsHTML(r):
		h.render.View(w, r, render.View{Title: "Job charts", Content: chartsPage(chartsFor(h.links, i, t))})
	default:
		render.JSON(w, http.StatusOK, map[string]any{"window": chartWindows[i].Name, "timeline": t,
			"message": "job activity in " + itoa(int64(len(t.Buckets))) + " buckets of " + t.Width.String()})
	}
}

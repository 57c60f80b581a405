package trellis_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/trellistest"
)

type tickArgs struct{}

func (tickArgs) Kind() string { return "tick" }

// scrape reads /metrics into its sample lines and the names of its
// metric families.
func scrape(t *testing.T, a *trellistest.App) (samples []string, families map[string]string) {
	t.Helper()
	res := a.Get("/metrics").AssertStatus(http.StatusOK)
	families = map[string]string{}
	for _, line := range strings.Split(res.Body, "\n") {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			families[name] = typ
		} else if line != "" && !strings.HasPrefix(line, "#") {
			samples = append(samples, line)
		}
	}
	return samples, families
}

// sample returns the value of the sample line that starts with name and
// holds every label pair in labels, or "" when there is none.
func sample(samples []string, name string, labels ...string) string {
next:
	for _, s := range samples {
		series, value, _ := strings.Cut(s, " ")
		if !strings.HasPrefix(series, name+"{") && series != name {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(series, l) {
				continue next
			}
		}
		return value
	}
	return ""
}

// metricsApp is an app that has served a few routes, unknown paths, an
// odd method, a signed-in session and a job.
func metricsApp(t *testing.T, b trellistest.Backend) *trellistest.App {
	a := trellistest.NewApp(t, nil, trellistest.OnBackend(b))
	done := make(chan struct{}, 1)
	jobs.RegisterFunc(a.App.Jobs, func(context.Context, *jobs.Job[tickArgs]) error {
		done <- struct{}{}
		return nil
	})
	a.App.Get("/things/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("thing")) })
	a.App.Post("/tick", func(w http.ResponseWriter, r *http.Request) {
		if _, err := a.App.Jobs.Enqueue(r.Context(), tickArgs{}, nil); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	a.Get("/things/1").AssertStatus(http.StatusOK)
	a.Get("/things/2").AssertStatus(http.StatusOK)
	a.Get("/nope-1").AssertStatus(http.StatusNotFound)
	a.Get("/nope-2").AssertStatus(http.StatusNotFound)
	a.Do("BREW", "/things/1", nil)
	a.CreateUser("ops@example.com", "correct horse battery")
	a.SignIn("ops@example.com", "correct horse battery")
	a.PostForm("/tick", nil).AssertStatus(http.StatusAccepted)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("the job did not run")
	}
	return a
}

// TestRequestMetrics: the request histogram is labelled by route
// pattern, method and status class, unknown paths and methods collapse
// to one label value each, and the pool, session store, job and runtime
// metrics are served next to it.
func TestRequestMetrics(t *testing.T) {
	trellistest.ForEachBackend(t, func(t *testing.T, b trellistest.Backend) {
		a := metricsApp(t, b)
		var samples []string
		// River reports job events asynchronously; wait for the histogram.
		deadline := time.Now().Add(10 * time.Second)
		for {
			samples, _ = scrape(t, a)
			if sample(samples, "trellis_job_run_seconds_count", `kind="tick"`) != "" || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		h := "trellis_http_request_duration_seconds_count"
		for _, c := range []struct {
			labels []string
			want   string
		}{
			{[]string{`route="/things/{id}"`, `method="GET"`, `code="2xx"`}, "2"},
			{[]string{`route="unmatched"`, `method="GET"`, `code="4xx"`}, ""},
			{[]string{`route="unmatched"`, `method="_OTHER"`}, "1"},
			{[]string{`route="/tick"`, `method="POST"`, `code="2xx"`}, "1"},
		} {
			got := sample(samples, h, c.labels...)
			if got == "" || (c.want != "" && got != c.want) {
				t.Errorf("%s%v = %q, want %q", h, c.labels, got, c.want)
			}
		}
		for _, s := range samples {
			if strings.Contains(s, "nope") || strings.Contains(s, "BREW") || strings.Contains(s, "/things/1") {
				t.Errorf("raw path or method in a label: %s", s)
			}
		}
		// The scrape itself is the one request in flight.
		if got := sample(samples, "trellis_http_requests_in_flight"); got != "1" {
			t.Errorf("trellis_http_requests_in_flight = %q, want 1", got)
		}
		for _, want := range [][]string{
			{"trellis_db_connections", `pool="sql"`, `state="idle"`},
			{"trellis_db_max_connections", `pool="sql"`},
			{"trellis_session_store_duration_seconds_count", `op="load"`, `result="ok"`},
			{"trellis_job_run_seconds_count", `kind="tick"`, `outcome="completed"`},
			{"trellis_jobs_total", `kind="tick"`, `outcome="completed"`},
			{"go_goroutines"},
		} {
			if sample(samples, want[0], want[1:]...) == "" {
				t.Errorf("no %v sample", want)
			}
		}
		if b == trellistest.Postgres && sample(samples, "trellis_db_connections", `pool="pgx"`) == "" {
			t.Error("no pgx pool statistics on PostgreSQL")
		}
	})
}

// metricName finds the metric names in a PromQL expression.
var metricName = regexp.MustCompile(`\b(?:trellis|go|process)_[a-z0-9_]+`)

// TestGrafanaDashboardMetricsExist: every query of the Grafana dashboard
// in deploy/grafana uses a metric a running app serves.
func TestGrafanaDashboardMetricsExist(t *testing.T) {
	raw, err := os.ReadFile("deploy/grafana/trellis.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("deploy/grafana/trellis.json: %v", err)
	}
	exprs := map[string]string{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs[tg.Expr] = p.Title
		}
	}
	for _, v := range dash.Templating.List {
		if v.Definition != "" {
			exprs[v.Definition] = "variable"
		}
	}
	if len(exprs) < 20 {
		t.Fatalf("the dashboard has %d queries; expected the full dashboard", len(exprs))
	}
	a := metricsApp(t, trellistest.SQLite)
	var families map[string]string
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, families = scrape(t, a)
		if families["trellis_job_run_seconds"] != "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	checked := 0
	for expr, panel := range exprs {
		names := metricName.FindAllString(expr, -1)
		if len(names) == 0 {
			t.Errorf("panel %q: query %q uses no metric", panel, expr)
		}
		for _, name := range names {
			base := name
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				if b, ok := strings.CutSuffix(name, suffix); ok && (families[b] == "histogram" || families[b] == "summary") {
					base = b
				}
			}
			if families[base] == "" {
				t.Errorf("panel %q uses %s, which the app does not serve", panel, name)
			}
			checked++
		}
	}
	t.Logf("%d metric uses in %d queries checked", checked, len(exprs))
}

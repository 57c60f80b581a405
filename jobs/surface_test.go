package jobs_test

import (
	"context"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/jobs"
)

// TestEngineSurface covers the small accessors, the Prometheus collector
// and the schema helpers.
func TestEngineSurface(t *testing.T) {
	e, d := newEngine(t, "sqlite", func(c *config.Jobs) { c.Queues = []string{"mail:2", "default:3"} })
	jobs.RegisterFunc(e, func(context.Context, *jobs.Job[noteArgs]) error { return nil })
	if k := e.Kinds(); !slices.Equal(k, []string{"note"}) {
		t.Errorf("kinds %v", k)
	}
	if q := e.Queues(); !slices.Equal(q, []string{"default", "mail"}) {
		t.Errorf("queues %v", q)
	}
	for _, s := range append([]jobs.Status{""}, jobs.Statuses...) {
		if got, ok := jobs.ParseStatus(string(s)); !ok || got != s {
			t.Errorf("ParseStatus(%q) = %q %v", s, got, ok)
		}
	}
	if _, ok := jobs.ParseStatus("bogus"); ok {
		t.Error("bogus status accepted")
	}
	ctx := context.Background()
	if _, err := e.Enqueue(ctx, noteArgs{N: 1}, nil); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(e); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, f := range families {
		found[f.GetName()] = true
	}
	for _, name := range []string{"trellis_jobs_total", "trellis_jobs", "trellis_job_execution_milliseconds"} {
		if !found[name] {
			t.Errorf("collector lacks %s (has %v)", name, found)
		}
	}
	applied, latest, err := jobs.SchemaVersion(ctx, d)
	if err != nil || applied == 0 || applied != latest {
		t.Errorf("schema version %d of %d: %v", applied, latest, err)
	}
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := jobs.RemoveSchema(ctx, d, nil); err != nil {
		t.Fatal(err)
	}
	if applied, _, _ := jobs.SchemaVersion(ctx, d); applied != 0 {
		t.Errorf("after RemoveSchema River's schema is at version %d", applied)
	}
}

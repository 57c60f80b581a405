package jobs_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/jobs"
)

// TestEveryCallReportsALostDatabase: once the database is gone, every
// engine call returns an error — none panics, none reports success — and
// the metrics collector logs the failure instead of exporting zeros.
func TestEveryCallReportsALostDatabase(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		e, d := newEngine(t, dialect)
		jobs.RegisterFunc(e, func(context.Context, *jobs.Job[noteArgs]) error { return nil })
		ctx := context.Background()
		if err := e.Stop(ctx); err != nil { // closes River's own pool; the app's remains
			t.Fatal(err)
		}
		tx, err := d.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = tx.Rollback()
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		calls := map[string]func() error{
			"Enqueue":      func() error { _, err := e.Enqueue(ctx, noteArgs{}, nil); return err },
			"EnqueueTx":    func() error { _, err := e.EnqueueTx(ctx, tx, noteArgs{}, nil); return err },
			"EnqueueMany":  func() error { _, err := e.EnqueueMany(ctx, []jobs.Request{{Args: noteArgs{}}}); return err },
			"List":         func() error { _, err := e.List(ctx, jobs.ListParams{}); return err },
			"Get":          func() error { _, err := e.Get(ctx, 1); return err },
			"Cancel":       func() error { _, err := e.Cancel(ctx, 1); return err },
			"Retry":        func() error { _, err := e.Retry(ctx, 1); return err },
			"RetryAllDead": func() error { _, err := e.RetryAllDead(ctx); return err },
			"ClearDead":    func() error { _, err := e.ClearDead(ctx); return err },
			"Stats":        func() error { _, err := e.Stats(ctx); return err },
			"Migrate":      func() error { return e.Migrate(ctx) },
			"SchemaVersion": func() error {
				_, _, err := jobs.SchemaVersion(ctx, d)
				return err
			},
			"RemoveSchema": func() error { return jobs.RemoveSchema(ctx, d, nil) },
		}
		for name, call := range calls {
			err := call()
			if err == nil {
				t.Errorf("%s succeeded on a closed database", name)
			} else if errors.Is(err, jobs.ErrNotFound) {
				t.Errorf("%s: a lost database reported as a missing job: %v", name, err)
			}
		}
		// Enqueue inside a transaction that has ended fails too.
		if _, err := e.EnqueueTx(ctx, tx, noteArgs{}, nil); !errors.Is(err, sql.ErrTxDone) && err == nil {
			t.Errorf("EnqueueTx on a finished transaction: %v", err)
		}
	})
}

// TestCollectorLogsInsteadOfExportingZeros: a scrape while the database is
// unreachable logs a warning and exports no job figures.
func TestCollectorLogsInsteadOfExportingZeros(t *testing.T) {
	var logged bytes.Buffer
	ctx := context.Background()
	cfg := config.Default(config.Test)
	d, err := db.Open(ctx, cfg.Database, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Migrate(ctx, nil, db.Framework()); err != nil {
		t.Fatal(err)
	}
	e, err := jobs.New(cfg.Jobs, d, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	_ = e.Stop(ctx)
	_ = d.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(e)
	families, _ := reg.Gather()
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "trellis_jobs") && f.GetName() != "trellis_job_run_seconds" {
			t.Errorf("exported %s without a database", f.GetName())
		}
	}
	if !strings.Contains(logged.String(), "collecting metrics") {
		t.Errorf("the failed scrape was not logged: %q", logged.String())
	}
}

// TestScheduleRefusesBadInput: names, specs, options and duplicates are
// checked when the schedule is registered, not at its first fire.
func TestScheduleRefusesBadInput(t *testing.T) {
	e, _ := newEngine(t, "sqlite")
	newArgs := func() jobs.Args { return noteArgs{} }
	if err := e.Schedule("nightly", "0 3 * * *", newArgs, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, spec string
		opts       *jobs.Opts
		want       string
	}{
		{"bad name!", "@hourly", nil, "schedule name"},
		{"ok", "not a spec", nil, ""},
		{"ok", "@hourly", &jobs.Opts{Priority: 9}, "priority"},
		{"nightly", "@hourly", nil, "registered twice"},
	} {
		err := e.Schedule(c.name, c.spec, newArgs, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Schedule(%q, %q, %+v) = %v", c.name, c.spec, c.opts, err)
		}
	}
	if jobs.Permanent(nil) != nil {
		t.Error("Permanent(nil) is an error")
	}
}

func TestIsPermanent(t *testing.T) {
	base := errors.New("refused")
	if jobs.IsPermanent(base) || jobs.IsPermanent(nil) {
		t.Error("an unmarked error is permanent")
	}
	if !jobs.IsPermanent(fmt.Errorf("sending: %w", jobs.Permanent(base))) {
		t.Error("a wrapped permanent error is not")
	}
}

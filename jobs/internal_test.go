package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/internal/testservices"
)

// openTestDB opens a fresh, migrated database of the dialect.
func openTestDB(t *testing.T, dialect string) *db.DB {
	t.Helper()
	cfg := config.Default(config.Test)
	if dialect == "postgres" {
		cfg.Database.URL = testservices.PostgresURL(t)
	}
	ctx := context.Background()
	d, err := db.Open(ctx, cfg.Database, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if _, err := d.Migrate(ctx, nil, db.Framework()); err != nil {
		t.Fatal(err)
	}
	if _, err := MigrateSchema(ctx, d, nil); err != nil {
		t.Fatal(err)
	}
	return d
}

func eachDialect(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}

func TestDistributionNearestRank(t *testing.T) {
	values := make([]float64, 0, 100)
	for i := 100; i >= 1; i-- { // unsorted on purpose
		values = append(values, float64(i))
	}
	got := distribution(values)
	want := Distribution{Count: 100, Avg: 50.5, P50: 50, P95: 95, P99: 99, Max: 100}
	if got != want {
		t.Errorf("distribution(1..100) = %+v, want %+v", got, want)
	}
	if got := distribution([]float64{7}); got != (Distribution{Count: 1, Avg: 7, P50: 7, P95: 7, P99: 7, Max: 7}) {
		t.Errorf("one value: %+v", got)
	}
	if got := distribution(nil); got != (Distribution{}) {
		t.Errorf("no values: %+v", got)
	}
	if got := distribution([]float64{1.004, 2.006}); got.Avg != 1.51 || got.P50 != 1 || got.Max != 2.01 {
		t.Errorf("rounding: %+v", got)
	}
}

type tickArgs struct{}

func (tickArgs) Kind() string { return "tick" }

// TestScheduleClaimIsExclusive makes two schedulers see the same due fire
// and claim it in turn: the second claim must find the fire taken and
// enqueue nothing.
func TestScheduleClaimIsExclusive(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		d := openTestDB(t, dialect)
		cfg := config.Default(config.Test).Jobs
		var engines []*Engine
		for range 2 {
			e, err := New(cfg, d, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.Stop(context.Background()) })
			if err := e.Schedule("tick", "* * * * * *", func() Args { return tickArgs{} }, nil); err != nil {
				t.Fatal(err)
			}
			engines = append(engines, e)
		}
		ctx := context.Background()
		t0 := time.Now().Truncate(time.Second)
		first, second := engines[0].sched, engines[1].sched
		first.runDue(ctx, t0) // first sight: records t0, fires nothing
		second.runDue(ctx, t0)
		if n := countKind(t, engines[0], "tick"); n != 0 {
			t.Fatalf("%d jobs before any fire was due", n)
		}
		// Both read last_fire = t0; the second claims (and enqueues) while
		// the first is between its read and its claim.
		t1 := t0.Add(time.Second)
		first.beforeClaim = func() {
			first.beforeClaim = nil
			second.runDue(ctx, t1)
			if n := countKind(t, engines[0], "tick"); n != 1 {
				t.Errorf("the second scheduler enqueued %d jobs, want 1", n)
			}
		}
		first.runDue(ctx, t1)
		if n := countKind(t, engines[0], "tick"); n != 1 {
			t.Fatalf("%d jobs enqueued for one fire claimed by two schedulers, want 1", n)
		}
		// The next fire goes to whichever asks first, once.
		t2 := t1.Add(time.Second)
		first.runDue(ctx, t2)
		second.runDue(ctx, t2)
		if n := countKind(t, engines[0], "tick"); n != 2 {
			t.Fatalf("%d jobs after the next fire, want 2", n)
		}
	})
}

func countKind(t *testing.T, e *Engine, kind string) int {
	t.Helper()
	n, err := e.countJobs(context.Background(), ListParams{Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRiverSchemaHasTheColumnsOurSQLUses fails, naming the table and
// column, when the pinned River version's migrations no longer create a
// column that riversql.go reads, on either database.
func TestRiverSchemaHasTheColumnsOurSQLUses(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		d := openTestDB(t, dialect)
		for table, cols := range riverColumns {
			q := `SELECT name FROM pragma_table_info(?)`
			if dialect == "postgres" {
				q = `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`
			}
			rows, err := d.SQL.Query(q, table)
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for rows.Next() {
				var c string
				if err := rows.Scan(&c); err != nil {
					t.Fatal(err)
				}
				have[c] = true
			}
			rows.Close()
			if len(have) == 0 {
				t.Fatalf("River's table %s does not exist on %s: riversql.go needs rewriting for this River version", table, dialect)
			}
			for _, c := range cols {
				if !have[c] {
					t.Errorf("River's table %s has no column %q on %s: riversql.go uses it; rewrite that SQL for this River version", table, c, dialect)
				}
			}
		}
	})
}

// TestDeadLetterRetention: dead jobs are kept until cleared by hand unless
// jobs.dead_letter_retention is set (River's own default would delete
// them after a week).
func TestDeadLetterRetention(t *testing.T) {
	d := openTestDB(t, "sqlite")
	for retention, want := range map[time.Duration]time.Duration{0: -1, 72 * time.Hour: 72 * time.Hour} {
		cfg := config.Default(config.Test).Jobs
		cfg.DeadLetterRetention = retention
		e, err := New(cfg, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := e.riverConfig(false)
		if err != nil {
			t.Fatal(err)
		}
		if rc.DiscardedJobRetentionPeriod != want {
			t.Errorf("dead_letter_retention %v: River keeps discarded jobs for %v, want %v", retention, rc.DiscardedJobRetentionPeriod, want)
		}
	}
}

// TestCounterSchemaConcurrentStarts recreates the counter triggers from
// several processes' worth of connections at once, as instances starting
// together do: every one succeeds.
func TestCounterSchemaConcurrentStarts(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		d := openTestDB(t, dialect)
		errs := make(chan error, 8)
		for range cap(errs) {
			go func() { errs <- ensureCounterSchema(context.Background(), d) }()
		}
		for range cap(errs) {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	})
}

// TestRiverMigrationsConcurrentStarts migrates a new PostgreSQL database
// from several processes' worth of connections at once, as instances
// starting together do: every one succeeds.
func TestRiverMigrationsConcurrentStarts(t *testing.T) {
	cfg := config.Default(config.Test)
	cfg.Database.URL = testservices.PostgresURL(t)
	ctx := context.Background()
	errs := make(chan error, 3)
	for range cap(errs) {
		d, err := db.Open(ctx, cfg.Database, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		go func() {
			_, err := MigrateSchema(ctx, d, nil)
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

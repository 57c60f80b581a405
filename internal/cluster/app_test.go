package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"testing/fstest"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/jobs"
)

// childEnv marks a process of the test binary started as an app instance.
const childEnv = "TRELLIS_CLUSTER_INSTANCE"

// TestMain runs the app instead of the tests when the test binary is
// started as an instance.
func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		if err := runInstance(name); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// workArgs is the job the test enqueues through the instances: it records
// which instance ran it.
type workArgs struct {
	Key string `json:"key"`
}

func (workArgs) Kind() string { return "cluster_work" }

// tickArgs is the scheduled job: every run is one fire of the schedule.
type tickArgs struct{}

func (tickArgs) Kind() string { return "cluster_tick" }

// migrations are the app's tables: one row per job run and per tick.
var migrations = fstest.MapFS{
	"postgres/00001_cluster.sql": {Data: []byte(`-- +goose Up
CREATE TABLE cluster_runs (key TEXT NOT NULL, instance TEXT NOT NULL, job_id BIGINT NOT NULL);
CREATE TABLE cluster_ticks (instance TEXT NOT NULL, job_id BIGINT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now());
-- +goose Down
DROP TABLE cluster_ticks;
DROP TABLE cluster_runs;
`)},
	"sqlite/00001_cluster.sql": {Data: []byte(`-- +goose Up
CREATE TABLE cluster_runs (key TEXT NOT NULL, instance TEXT NOT NULL, job_id BIGINT NOT NULL);
CREATE TABLE cluster_ticks (instance TEXT NOT NULL, job_id BIGINT NOT NULL, at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
-- +goose Down
DROP TABLE cluster_ticks;
DROP TABLE cluster_runs;
`)},
}

// runInstance is one app process: configuration from TRELLIS_* variables
// (database, Redis, address), a worker for each job, a schedule firing
// every second, and two routes — who is signed in here, and enqueue a
// job — until SIGTERM.
func runInstance(name string) error {
	ctx := context.Background()
	cfg, err := config.Load(config.Options{Profile: config.Test})
	if err != nil {
		return err
	}
	app, err := trellis.New(ctx, cfg, trellis.WithMigrations(migrations))
	if err != nil {
		return err
	}
	jobs.RegisterFunc(app.Jobs, func(ctx context.Context, job *jobs.Job[workArgs]) error {
		_, err := app.DB.SQL.ExecContext(ctx, app.DB.Rebind(`INSERT INTO cluster_runs (key, instance, job_id) VALUES (?, ?, ?)`),
			job.Args.Key, name, job.ID)
		return err
	})
	jobs.RegisterFunc(app.Jobs, func(ctx context.Context, job *jobs.Job[tickArgs]) error {
		_, err := app.DB.SQL.ExecContext(ctx, app.DB.Rebind(`INSERT INTO cluster_ticks (instance, job_id) VALUES (?, ?)`), name, job.ID)
		return err
	})
	if err := app.Jobs.Schedule("cluster-tick", "@every 1s", func() jobs.Args { return tickArgs{} }, nil); err != nil {
		return err
	}
	app.Get("/whoami", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Instance", name)
		if u := auth.CurrentUser(r.Context()); u != nil {
			fmt.Fprint(w, u.Email)
			return
		}
		fmt.Fprint(w, "anonymous")
	})
	app.With(app.Auth.RequireUser).Post("/work", func(w http.ResponseWriter, r *http.Request) {
		key := r.FormValue("key")
		if key == "" {
			http.Error(w, "key is required", http.StatusBadRequest)
			return
		}
		if _, err := app.Jobs.Enqueue(r.Context(), workArgs{Key: key}, nil); err != nil {
			app.Render.Error(w, r, err)
			return
		}
		w.Header().Set("X-Instance", name)
		w.WriteHeader(http.StatusAccepted)
	})
	return app.Run(ctx)
}

// itoa is strconv.Itoa, short for building keys.
func itoa(n int) string { return strconv.Itoa(n) }

package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/jobs"
)

func newDBCmd() *cobra.Command {
	var (
		cf         configFlags
		migrations string
		framework  bool
		yes        bool
	)
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Manage the database schema: migrate, rollback, status, reset, create",
		Long: `Manage the app's database schema with goose migrations.

The database comes from the configuration (database.url, or <data_dir>/app.db).
Framework tables (sessions, users, roles, API tokens, job metrics) are
migrated first, then River's job tables; the app's own migrations are read
from --migrations, a directory holding sqlite/ and postgres/ subdirectories
of goose SQL files.`,
	}
	cmd.PersistentFlags().StringVar(&cf.path, "config", "", "config file (default config/trellis.toml, or $TRELLIS_CONFIG)")
	cmd.PersistentFlags().StringVar(&cf.profile, "env", "", "profile: development, test or production")
	cmd.PersistentFlags().StringVar(&migrations, "migrations", "migrations", "directory of the app's migrations")

	open := func(ctx context.Context) (*config.Config, *db.DB, []db.Source, error) {
		cfg, err := cf.load()
		if err != nil {
			return nil, nil, nil, err
		}
		d, err := db.Open(ctx, cfg.Database, cfg.App.DataDir)
		if err != nil {
			return nil, nil, nil, err
		}
		sources := []db.Source{db.Framework()}
		if st, err := os.Stat(migrations); err == nil && st.IsDir() {
			sources = append(sources, db.Source{Name: "app", Table: "app_schema_migrations", FS: os.DirFS(migrations)})
		}
		return cfg, d, sources, nil
	}

	cmd.AddCommand(&cobra.Command{
		Use:   "migrate",
		Short: "Apply every pending migration",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, d, sources, err := open(c.Context())
			if err != nil {
				return err
			}
			defer d.Close()
			n, err := d.Migrate(c.Context(), nil, sources...)
			if err != nil {
				return err
			}
			rn, err := jobs.MigrateSchema(c.Context(), d, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "applied %d migration(s) and %d River migration(s)\n", n, rn)
			return nil
		},
	})

	rollback := &cobra.Command{
		Use:   "rollback",
		Short: "Undo the most recent app migration (--framework: a framework one)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, d, sources, err := open(c.Context())
			if err != nil {
				return err
			}
			defer d.Close()
			src := sources[len(sources)-1]
			if framework {
				src = sources[0]
			} else if src.Name != "app" {
				return usageError{fmt.Errorf("no app migrations in %s; use --framework to roll back framework tables", migrations)}
			}
			v, err := d.Rollback(c.Context(), src)
			if err != nil {
				return err
			}
			if v == 0 {
				fmt.Fprintf(c.OutOrStdout(), "nothing to roll back in %s migrations\n", src.Name)
				return nil
			}
			fmt.Fprintf(c.OutOrStdout(), "rolled back %s migration %d\n", src.Name, v)
			return nil
		},
	}
	rollback.Flags().BoolVar(&framework, "framework", false, "roll back the framework's migrations instead of the app's")
	cmd.AddCommand(rollback)

	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "List migrations and whether each is applied",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, d, sources, err := open(c.Context())
			if err != nil {
				return err
			}
			defer d.Close()
			st, err := d.Status(c.Context(), sources...)
			if err != nil {
				return err
			}
			for _, s := range st {
				state := "pending"
				if s.Applied {
					state = "applied"
				}
				fmt.Fprintf(c.OutOrStdout(), "%-8s %-8s %d  %s\n", s.Source, state, s.Version, s.Name)
			}
			applied, latest, err := jobs.SchemaVersion(c.Context(), d)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "river    version %d of %d\n", applied, latest)
			return nil
		},
	})

	reset := &cobra.Command{
		Use:   "reset",
		Short: "Roll back every migration and apply them again (destroys all data)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, d, sources, err := open(c.Context())
			if err != nil {
				return err
			}
			defer d.Close()
			if cfg.Profile == config.Production && !yes {
				return usageError{errors.New("reset destroys all data; in production pass --yes to confirm")}
			}
			if err := jobs.RemoveSchema(c.Context(), d, nil); err != nil {
				return err
			}
			if err := d.Reset(c.Context(), nil, sources...); err != nil {
				return err
			}
			if _, err := jobs.MigrateSchema(c.Context(), d, nil); err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), "database reset")
			return nil
		},
	}
	reset.Flags().BoolVar(&yes, "yes", false, "confirm a reset in production")
	cmd.AddCommand(reset)

	cmd.AddCommand(&cobra.Command{
		Use:   "create NAME",
		Short: "Create an empty migration for SQLite and PostgreSQL",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			paths, err := db.CreateMigration(migrations, args[0])
			if errors.Is(err, db.ErrMigrationName) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			for _, p := range paths {
				fmt.Fprintln(c.OutOrStdout(), "created", p)
			}
			return nil
		},
	})
	return cmd
}

// Package dbcmd is the `db` command that the trellis tool and an app's own
// binary share: migrate, rollback, status, reset and create, on the
// database the configuration names. Migrations run in one order
// everywhere: the framework's tables, then River's job tables, then the
// app's own migrations; reset and rollback undo them in reverse.
package dbcmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/spf13/cobra"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/jobs"
)

// Options tell the command where its inputs come from. They are funcs
// because the caller's flags are parsed after the command is built.
type Options struct {
	// Config loads the configuration; the caller owns the --config and
	// --env flags.
	Config func() (*config.Config, error)
	// Migrations returns the app's migrations, an fs.FS holding sqlite/
	// and postgres/ directories of goose SQL files, or nil when the app
	// has none.
	Migrations func() fs.FS
	// Dir returns the directory on disk `db create` writes into.
	Dir func() string
	// Usage marks err as a mistake in the command line, which the caller
	// reports with exit code 2.
	Usage func(err error) error
}

// New returns the `db` command with its subcommands.
func New(o Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Manage the database schema: migrate, rollback, status, reset, create",
		Long: `Manage the app's database schema with goose migrations.

The database comes from the configuration (database.url, or <data_dir>/app.db).
The framework's tables (sessions, users, roles, API tokens, job metrics) are
migrated first, then River's job tables, then the app's own migrations.`,
	}
	cmd.AddCommand(o.migrateCmd(), o.rollbackCmd(), o.statusCmd(), o.resetCmd(), o.createCmd())
	return cmd
}

// target is an open database and the migrations that apply to it.
type target struct {
	db  *db.DB
	app *db.Source // nil when the app has no migrations
}

func (o Options) open(ctx context.Context) (*target, error) {
	cfg, err := o.Config()
	if err != nil {
		return nil, err
	}
	d, err := db.Open(ctx, cfg.Database, cfg.App.DataDir)
	if err != nil {
		return nil, err
	}
	s := &target{db: d}
	if fsys := o.Migrations(); fsys != nil {
		src := db.App(fsys)
		s.app = &src
	}
	return s, nil
}

// migrate applies the pending migrations in order and returns how many
// goose and River migrations ran.
func (s *target) migrate(ctx context.Context) (n, river int, err error) {
	if n, err = s.db.Migrate(ctx, nil, db.Framework()); err != nil {
		return n, 0, err
	}
	if river, err = jobs.MigrateSchema(ctx, s.db, nil); err != nil {
		return n, river, err
	}
	if s.app != nil {
		m, err := s.db.Migrate(ctx, nil, *s.app)
		return n + m, river, err
	}
	return n, river, nil
}

// unwind rolls back every migration of src, newest first.
func (s *target) unwind(ctx context.Context, src db.Source) error {
	for {
		v, err := s.db.Rollback(ctx, src)
		if err != nil || v == 0 {
			return err
		}
	}
}

// where names the database for a confirmation prompt.
func (s *target) where() string {
	if s.db.Pool != nil {
		c := s.db.Pool.Config().ConnConfig
		return fmt.Sprintf("PostgreSQL database %q on %s:%d", c.Database, c.Host, c.Port)
	}
	return "SQLite database " + s.db.Path
}

func (o Options) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply every pending migration",
		Args:  o.args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := o.open(c.Context())
			if err != nil {
				return err
			}
			defer s.db.Close()
			n, rn, err := s.migrate(c.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "applied %d migration(s) and %d River migration(s)\n", n, rn)
			return nil
		},
	}
}

func (o Options) rollbackCmd() *cobra.Command {
	var framework bool
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Undo the most recent app migration (--framework: a framework one)",
		Args:  o.args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := o.open(c.Context())
			if err != nil {
				return err
			}
			defer s.db.Close()
			src := db.Framework()
			if !framework {
				if s.app == nil {
					return o.Usage(errors.New("the app has no migrations; use --framework to roll back the framework's tables"))
				}
				src = *s.app
			}
			v, err := s.db.Rollback(c.Context(), src)
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
	cmd.Flags().BoolVar(&framework, "framework", false, "roll back the framework's migrations instead of the app's")
	return cmd
}

func (o Options) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "List migrations and whether each is applied",
		Args:  o.args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := o.open(c.Context())
			if err != nil {
				return err
			}
			defer s.db.Close()
			w := c.OutOrStdout()
			list := func(src db.Source) error {
				st, err := s.db.Status(c.Context(), src)
				if err != nil {
					return err
				}
				for _, m := range st {
					state := "pending"
					if m.Applied {
						state = "applied"
					}
					fmt.Fprintf(w, "%-8s %-8s %d  %s\n", m.Source, state, m.Version, m.Name)
				}
				return nil
			}
			if err := list(db.Framework()); err != nil {
				return err
			}
			applied, latest, err := jobs.SchemaVersion(c.Context(), s.db)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "river    version %d of %d\n", applied, latest)
			if s.app != nil {
				return list(*s.app)
			}
			return nil
		},
	}
}

func (o Options) resetCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Roll back every migration and apply them again (destroys all data)",
		Long: `Roll back every migration — the app's, River's, the framework's — and apply
them all again: every table is emptied. It asks for confirmation (type yes)
unless --yes is given.`,
		Args: o.args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := o.open(c.Context())
			if err != nil {
				return err
			}
			defer s.db.Close()
			if !yes {
				if err := o.confirm(c.InOrStdin(), c.ErrOrStderr(), s.where()); err != nil {
					return err
				}
			}
			if s.app != nil {
				if err := s.unwind(c.Context(), *s.app); err != nil {
					return err
				}
			}
			if err := jobs.RemoveSchema(c.Context(), s.db, nil); err != nil {
				return err
			}
			if err := s.unwind(c.Context(), db.Framework()); err != nil {
				return err
			}
			if _, _, err := s.migrate(c.Context()); err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), "database reset")
			return nil
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "reset without asking for confirmation")
	return cmd
}

// confirm asks on out for "yes" and reads the answer from in. No answer
// at all (no terminal, empty input) is a usage error naming --yes.
func (o Options) confirm(in io.Reader, out io.Writer, where string) error {
	fmt.Fprintf(out, "Reset drops every table of the %s and migrates it again: all data is lost.\nType yes to continue: ", where)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(out)
		return o.Usage(errors.New("reset destroys all data: answer yes when asked, or pass --yes"))
	}
	if strings.TrimSpace(line) != "yes" {
		return errors.New("reset cancelled")
	}
	return nil
}

func (o Options) createCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "create NAME",
		Short: "Create an empty migration for SQLite and PostgreSQL",
		Args:  o.args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, args []string) error {
			paths, err := db.CreateMigration(o.Dir(), args[0])
			if errors.Is(err, db.ErrMigrationName) {
				return o.Usage(err)
			}
			if err != nil {
				return err
			}
			for _, p := range paths {
				fmt.Fprintln(c.OutOrStdout(), "created", p)
			}
			return nil
		},
	}
}

// args makes an argument check's failure a usage error.
func (o Options) args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := check(c, args); err != nil {
			return o.Usage(err)
		}
		return nil
	}
}

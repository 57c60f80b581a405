// Package cli gives a Trellis app its own command line: the app's binary
// serves, migrates its database, lists its routes, operates its jobs and
// creates users, with the app's own migrations and workers. A generated
// main.go calls Main in one line:
//
//	func main() { cli.Main(newApp, cli.Options{Migrations: migrations}) }
//
// The commands:
//
//	app [serve]                        serve on server.addr until SIGINT or SIGTERM
//	app db migrate|rollback|status     the schema: framework tables, River's job
//	app db reset [--yes]               tables, then the app's Options.Migrations
//	app db create NAME                 new numbered files in Options.MigrationsDir
//	app routes [--json]                method, path, handler and what each requires
//	app jobs list [--status S] [--kind K] [--queue Q] [--limit N] [--cursor C]
//	app jobs stats|retry ID|cancel ID|retry-all|clear-dead   [--json]
//	app users create EMAIL [--admin] [--name NAME]   password on standard input
//	app policies check                 validate the Cedar policies (exit 2 on a problem)
//
// Every command takes --config FILE and --env PROFILE. The db commands
// open the database only: they never call the build function, which
// would apply pending migrations. routes, jobs, users and policies build the app
// as serve does — with its migrations applied when database.migrate is
// on — but never start it: no job is worked and no port is opened. jobs
// --json prints the jobs admin API's JSON.
//
// Exit codes: 0 on success, 2 for configuration and usage errors (a bad
// flag, argument or job id, an invalid email or password), 1 for anything
// else (a job or account that does not exist or conflicts, an unreachable
// database).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/internal/dbcmd"
)

// Build builds the app from a loaded configuration; the app's main and its
// tests share it (it has the signature trellistest.NewApp takes).
type Build func(ctx context.Context, cfg *config.Config, opts ...trellis.Option) (*trellis.App, error)

// Options describe the app to the commands.
type Options struct {
	// Migrations holds the app's sqlite/ and postgres/ migration
	// directories: the filesystem the app gives trellis.WithMigrations.
	Migrations fs.FS
	// MigrationsDir is the source directory `db create` writes new
	// migrations into, relative to the working directory. Default
	// "migrations".
	MigrationsDir string
	// Stdin, Stdout and Stderr default to the process's.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

func (o *Options) defaults() {
	if o.MigrationsDir == "" {
		o.MigrationsDir = "migrations"
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
}

// Main runs the command line in os.Args and exits with its code.
func Main(build Build, o Options) {
	os.Exit(Run(context.Background(), os.Args[1:], build, o))
}

// Run runs the command line args (without the program name) and returns
// the exit code: 0 on success, 2 for configuration and usage errors, 1 for
// anything else. With no command it serves.
func Run(ctx context.Context, args []string, build Build, o Options) int {
	o.defaults()
	root := newRoot(build, &o)
	root.SetArgs(args)
	root.SetIn(o.Stdin)
	root.SetOut(o.Stdout)
	root.SetErr(o.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(o.Stderr, root.Name()+":", err)
	var usage usageError
	if config.IsConfigError(err) || errors.As(err, &usage) {
		return config.ExitCode
	}
	return 1
}

// usageError marks mistakes in the command line itself.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// configFlags are the flags of every command that loads configuration.
type configFlags struct {
	path    string
	profile string
}

func (f *configFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.path, "config", "", "config file (default config/trellis.toml, or $TRELLIS_CONFIG)")
	cmd.PersistentFlags().StringVar(&f.profile, "env", "", "profile: development, test or production (default $TRELLIS_ENV or development)")
}

func (f *configFlags) load() (*config.Config, error) {
	return config.Load(config.Options{Path: f.path, Profile: config.Profile(f.profile)})
}

// commands holds what every command needs: the app's build function, the
// options and the configuration flags.
type commands struct {
	build Build
	o     *Options
	cf    configFlags
}

func newRoot(build Build, o *Options) *cobra.Command {
	cmds := &commands{build: build, o: o}
	root := &cobra.Command{
		Use:           appName(),
		Short:         "A Trellis app",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          usageArgs(cobra.NoArgs),
		RunE:          cmds.serve,
	}
	cmds.cf.register(root)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		&cobra.Command{
			Use:   "serve",
			Short: "Serve the app on server.addr (the default command)",
			Args:  usageArgs(cobra.NoArgs),
			RunE:  cmds.serve,
		},
		cmds.dbCmd(),
		cmds.routesCmd(),
		cmds.jobsCmd(),
		cmds.usersCmd(),
		cmds.healthCmd(),
		cmds.policiesCmd(),
	)
	return root
}

func (cmds *commands) serve(c *cobra.Command, _ []string) error {
	cfg, err := cmds.cf.load()
	if err != nil {
		return err
	}
	app, err := cmds.build(c.Context(), cfg, trellis.WithLogOutput(cmds.o.Stderr))
	if err != nil {
		return err
	}
	return app.Run(c.Context())
}

// dbCmd manages the schema without building the app: building it would
// apply the pending migrations first.
func (cmds *commands) dbCmd() *cobra.Command {
	return dbcmd.New(dbcmd.Options{
		Config:     cmds.cf.load,
		Migrations: func() fs.FS { return cmds.o.Migrations },
		Dir:        func() string { return cmds.o.MigrationsDir },
		Usage:      func(err error) error { return usageError{err} },
	})
}

// withApp builds the app from the configuration as serve does (its
// pending migrations applied when database.migrate is on), runs fn on it
// and closes it. The app is never started: no job is worked and no port
// is opened.
func (cmds *commands) withApp(ctx context.Context, fn func(*trellis.App) error) (err error) {
	cfg, err := cmds.cf.load()
	if err != nil {
		return err
	}
	app, err := cmds.build(ctx, cfg, trellis.WithLogOutput(cmds.o.Stderr))
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Server.ShutdownTimeout)
		defer cancel()
		if cerr := app.Close(closeCtx); cerr != nil && err == nil {
			err = cerr
		}
	}()
	return fn(app)
}

// usageArgs makes an argument check's failure a usage error.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := check(c, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// appName is the binary's name for usage messages.
func appName() string {
	if len(os.Args) > 0 && os.Args[0] != "" {
		return filepath.Base(os.Args[0])
	}
	return "app"
}

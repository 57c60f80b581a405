// Package cli gives a Trellis app its own command line: the app's binary
// serves, migrates its database, lists its routes, operates its jobs and
// creates users, with the app's own migrations and workers. A generated
// main.go calls Main in one line:
//
//	func main() { cli.Main(newApp, cli.Options{Migrations: migrations}) }
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

func newRoot(build Build, o *Options) *cobra.Command {
	var cf configFlags
	serve := func(c *cobra.Command, _ []string) error {
		cfg, err := cf.load()
		if err != nil {
			return err
		}
		app, err := build(c.Context(), cfg)
		if err != nil {
			return err
		}
		return app.Run(c.Context())
	}
	root := &cobra.Command{
		Use:           appName(),
		Short:         "A Trellis app",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE:          serve,
	}
	cf.register(root)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(&cobra.Command{
		Use:   "serve",
		Short: "Serve the app on server.addr (the default command)",
		Args:  cobra.NoArgs,
		RunE:  serve,
	})
	return root
}

// appName is the binary's name for usage messages.
func appName() string {
	if len(os.Args) > 0 && os.Args[0] != "" {
		return filepath.Base(os.Args[0])
	}
	return "app"
}

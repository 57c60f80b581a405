package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/trellis-go/trellis/internal/newapp"
)

func newNewCmd() *cobra.Command {
	var o newapp.Options
	cmd := &cobra.Command{
		Use:   "new PATH",
		Short: "Create a new Trellis app in PATH",
		Long: `Create a new Trellis app in PATH, which must not exist or be empty: go.mod,
main.go, a templ layout and home page, migrations for SQLite and PostgreSQL,
static files, configuration (with a production profile), an app test, a
README and .gitignore. It then generates the templ code and runs
go mod tidy, so the app builds and its tests pass right away.

The app's go.mod requires this command's Trellis release. A trellis built
from a source checkout makes go.mod use that checkout instead (a replace
directive); it finds the checkout from its own source files, or from
--trellis-dir or TRELLIS_SOURCE_DIR when built with -trimpath.`,
		Example: `  trellis new myapp
  trellis new ./shop --module example.com/shop --db postgres`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("new takes one argument, the app's directory (got %d)", len(args))}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			o.Dir = args[0]
			if o.TrellisDir == "" {
				o.TrellisDir = os.Getenv("TRELLIS_SOURCE_DIR")
			}
			o.Out = c.OutOrStdout()
			err := newapp.Create(c.Context(), o)
			if errors.Is(err, newapp.ErrUsage) {
				return usageError{err}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&o.Module, "module", "", "the app's module path (default the directory's name)")
	cmd.Flags().StringVar(&o.DB, "db", "sqlite", "the database the configuration uses: sqlite or postgres")
	cmd.Flags().StringVar(&o.TrellisDir, "trellis-dir", "", "a Trellis checkout for go.mod to use (default $TRELLIS_SOURCE_DIR, or this command's own checkout)")
	return cmd
}

package main

import (
	"io/fs"
	"os"

	"github.com/spf13/cobra"
	"github.com/trellis-go/trellis/internal/dbcmd"
)

// newDBCmd is `trellis db`: the db command an app's own binary has (see
// package cli), with the app's migrations read from a directory instead of
// the app's embedded files.
func newDBCmd() *cobra.Command {
	var (
		cf         configFlags
		migrations string
	)
	cmd := dbcmd.New(dbcmd.Options{
		Config: cf.load,
		Migrations: func() fs.FS {
			if st, err := os.Stat(migrations); err == nil && st.IsDir() {
				return os.DirFS(migrations)
			}
			return nil
		},
		Dir:   func() string { return migrations },
		Usage: func(err error) error { return usageError{err} },
	})
	cmd.Long += `

The app's migrations are read from --migrations, a directory holding sqlite/
and postgres/ subdirectories.`
	cmd.PersistentFlags().StringVar(&cf.path, "config", "", "config file (default config/trellis.toml, or $TRELLIS_CONFIG)")
	cmd.PersistentFlags().StringVar(&cf.profile, "env", "", "profile: development, test or production")
	cmd.PersistentFlags().StringVar(&migrations, "migrations", "migrations", "directory of the app's migrations")
	return cmd
}

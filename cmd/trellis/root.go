package main

import (
	"github.com/spf13/cobra"
	"github.com/trellis-go/trellis/config"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "trellis",
		Short:         "Trellis: server-rendered htmx apps in Go",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newDemoCmd(), newDBCmd(), newNewCmd(), newGenerateCmd(), newDevCmd(), newHealthCmd())
	return root
}

// configFlags are the flags every command that loads configuration takes.
type configFlags struct {
	path    string
	profile string
}

func (f *configFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.path, "config", "", "config file (default config/trellis.toml, or $TRELLIS_CONFIG)")
	cmd.Flags().StringVar(&f.profile, "env", "", "profile: development, test or production (default $TRELLIS_ENV or development)")
}

func (f *configFlags) load() (*config.Config, error) {
	return config.Load(config.Options{Path: f.path, Profile: config.Profile(f.profile)})
}

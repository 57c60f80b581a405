package main

import (
	"os"

	"github.com/spf13/cobra"
	"github.com/trellis-go/trellis/examples/demo"
)

func newDemoCmd() *cobra.Command {
	var (
		cf   configFlags
		addr string
		data string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the Trellis showcase app on an embedded SQLite database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := cf.load()
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("addr") || cfg.Source("server.addr") == "default" {
				cfg.Server.Addr = addr
				cfg.SetSource("server.addr", "flag --addr")
			}
			if cmd.Flags().Changed("data") || cfg.Source("app.data_dir") == "default" {
				cfg.App.DataDir = data
				cfg.SetSource("app.data_dir", "flag --data")
			}
			if cfg.Source("app.name") == "default" {
				cfg.App.Name = "Trellis demo"
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			app, err := demo.New(cmd.Context(), cfg, os.Getenv("TRELLIS_DEMO_ADMIN_PASSWORD"))
			if err != nil {
				return err
			}
			return app.Run(cmd.Context())
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:3000", "listen address")
	cmd.Flags().StringVar(&data, "data", "./data", "directory for the demo's files (SQLite database)")
	return cmd
}

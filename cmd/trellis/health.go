package main

import (
	"os"

	"github.com/spf13/cobra"
	appcli "github.com/trellis-go/trellis/cli"
)

// newHealthCmd checks the demo (or any Trellis app) running on
// server.addr, for the container image's health check.
func newHealthCmd() *cobra.Command {
	var cf configFlags
	cmd := appcli.HealthCommand(cf.load, os.Stdout)
	cmd.Args = usageArgs(cobra.NoArgs)
	cf.register(cmd)
	return cmd
}

package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/health"
)

// healthCmd checks the running app on server.addr, for container health
// checks (the image has no curl) and deployment scripts.
func (cmds *commands) healthCmd() *cobra.Command {
	return HealthCommand(cmds.cf.load, cmds.o.Stdout)
}

// HealthCommand is the health command of an app's binary: it loads the
// configuration with load and checks that the app running on server.addr
// is ready (exit 0) or not (exit 1), printing "ok URL" to stdout. It
// reads the configuration only: it neither builds the app nor opens its
// database. A binary that does not use Main adds it to its own commands.
func HealthCommand(load func() (*config.Config, error), stdout io.Writer) *cobra.Command {
	var path string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Check that the app running on server.addr is ready (exit 0) or not (exit 1)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			base, err := cfg.Server.LocalURL()
			if err != nil {
				return err
			}
			url := base + path
			if err := health.Probe(c.Context(), url, timeout); err != nil {
				return err
			}
			fmt.Fprintln(stdout, "ok", url)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "path", "/health/ready", "the endpoint to check (/health/live for liveness)")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	return cmd
}

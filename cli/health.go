package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/trellis-go/trellis/health"
)

// healthCmd checks the running app on server.addr, for container health
// checks (the image has no curl) and deployment scripts. It reads the
// configuration only: it neither builds the app nor opens its database.
func (cmds *commands) healthCmd() *cobra.Command {
	var path string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Check that the app running on server.addr is ready (exit 0) or not (exit 1)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := cmds.cf.load()
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
			fmt.Fprintln(cmds.o.Stdout, "ok", url)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "path", "/health/ready", "the endpoint to check (/health/live for liveness)")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	return cmd
}

package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/trellis-go/trellis"
)

// errNoPolicies is returned by `policies check` for an app without
// policies.
var errNoPolicies = errors.New("the app has no policies (give trellis.New WithPolicies or WithPolicyDir)")

func (cmds *commands) policiesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policies",
		Short: "Check the app's Cedar policies",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the policies against their schema, as start-up does",
		Long: `Build the app as serve does, which parses every policy file and validates
it against the schema, and report the result: exit 0 with the number of
policies, or exit 2 with one line per problem (file, line and fix). A
running app reloads a policy directory with POST /admin/policies/reload.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return cmds.withApp(c.Context(), func(app *trellis.App) error {
				if app.Authz == nil {
					return errNoPolicies
				}
				fmt.Fprintf(c.OutOrStdout(), "%d policies valid against the schema\n", app.Authz.Len())
				return nil
			})
		},
	})
	return cmd
}

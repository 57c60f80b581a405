// Command trellis is the Trellis command-line tool: it runs the demo app
// and, as the framework grows, creates, develops and operates Trellis apps.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/trellis-go/trellis/config"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:]))
}

// run executes the CLI and returns the process exit code: 0 on success, 2
// for configuration and usage errors, 1 for anything else.
func run(ctx context.Context, args []string) int {
	cmd := newRootCmd()
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "trellis:", err)
	var usage usageError
	if config.IsConfigError(err) || errors.As(err, &usage) {
		return config.ExitCode
	}
	return 1
}

// usageError marks mistakes in the command line itself.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// Command trellis is the Trellis command-line tool: it creates apps (new),
// writes code into them (generate), runs them while they are developed with
// live reload (dev), manages a database's schema (db), runs the demo and
// checks a running app (health).
// Inside an app, `go tool trellis` runs the version the app is built with.
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

package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/trellis-go/trellis/internal/generate"
)

func newGenerateCmd() *cobra.Command {
	var (
		dir    string
		force  bool
		public bool
	)
	cmd := &cobra.Command{
		Use:     "generate",
		Aliases: []string{"g"},
		Short:   "Generate a resource scaffold, a background job or a migration in the app",
		Long: `Generate code into the Trellis app in the current directory (or --dir).

Nothing is written unless everything can be: names and fields are checked,
files that exist are refused without --force, and the marker lines new code
is registered above must be present (routes.go "// trellis:routes",
views/nav.go "// trellis:nav", app.go "// trellis:jobs").`,
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", ".", "the app's root directory (holding go.mod)")
	cmd.PersistentFlags().BoolVar(&force, "force", false, "overwrite files that exist (a registration line already present is not added again)")
	opts := func() generate.Options { return generate.Options{Dir: dir, Force: force} }

	scaffold := &cobra.Command{
		Use:   "scaffold NAME FIELD:TYPE...",
		Short: "Generate a resource: migrations, data access, handlers, views, routes and tests",
		Long: `Generate a resource owned by the signed-in user, with pages to list (with
search and pagination), create, show, edit and delete it, and whole-stack
tests on every backend. NAME is singular: Product, LineItem or line_item.

Field types:
  string    required text of at most 255 characters ('string?' is optional;
            quote it, as shells such as zsh expand ?)
  text      optional long text, at most 10000 characters
  int       whole number, 0 when left empty
  float     number, 0 when left empty
  bool      checkbox
  date      required date
  datetime  required date and time (UTC, to the minute)

LineItem is served at /line-items (words joined by hyphens) from the table
line_items, by line_items.go, views/line_items.templ and views/line_items.go,
tested by line_items_test.go, with a create_line_items migration for each
database. Each record belongs to its creator; another user's record is not
found (404). With --public anyone may list and read them; creating still
needs a signed-in user, and only the owner may change or delete one.

Example:
  go tool trellis generate scaffold Product name:string price:int notes:text in_stock:bool`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(c *cobra.Command, args []string) error {
			res, err := generate.Scaffold(generate.ScaffoldOptions{Options: opts(), Public: public}, args[0], args[1:])
			return report(c.OutOrStdout(), res, err)
		},
	}
	scaffold.Flags().BoolVar(&public, "public", false, "anyone may list and read the records, without signing in")

	job := &cobra.Command{
		Use:   "job NAME",
		Short: "Generate a background job: typed arguments, a worker registered in app.go, and a test",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, args []string) error {
			res, err := generate.Job(opts(), args[0])
			return report(c.OutOrStdout(), res, err)
		},
	}

	migration := &cobra.Command{
		Use:   "migration NAME",
		Short: "Generate an empty migration for SQLite and PostgreSQL",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, args []string) error {
			res, err := generate.Migration(opts(), args[0])
			return report(c.OutOrStdout(), res, err)
		},
	}
	cmd.AddCommand(scaffold, job, migration)
	return cmd
}

// report prints what was written, or turns err into the CLI's error: a
// usage error when the command line was at fault.
func report(w io.Writer, res *generate.Result, err error) error {
	if errors.Is(err, generate.ErrSpec) || errors.Is(err, generate.ErrExists) || errors.Is(err, generate.ErrMarker) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	for _, p := range res.Created {
		fmt.Fprintln(w, "created", p)
	}
	for _, p := range res.Updated {
		fmt.Fprintln(w, "updated", p)
	}
	return nil
}

// usageArgs marks argument count errors as usage errors (exit code 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := check(c, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/jobs/admin"
)

// jobsCmd operates the app's background jobs as the admin API does, on
// the app's database, without working any job.
func (cmds *commands) jobsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "Inspect and act on background jobs: list, stats, retry, cancel, retry-all, clear-dead",
		Long: `Inspect and act on the app's background jobs, as the jobs admin API does.
Output is a table, or with --json the admin API's JSON.`,
	}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print the admin API's JSON instead of a table")

	// run builds the app and runs fn with its job engine.
	run := func(c *cobra.Command, fn func(ctx context.Context, e *jobs.Engine, out *output) error) error {
		return cmds.withApp(c.Context(), func(app *trellis.App) error {
			if app.Jobs == nil {
				return errors.New("the app has no database, so no jobs")
			}
			return fn(c.Context(), app.Jobs, &output{w: c.OutOrStdout(), json: asJSON})
		})
	}

	var lp listFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List jobs, newest first",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			p, err := lp.params()
			if err != nil {
				return err
			}
			return run(c, func(ctx context.Context, e *jobs.Engine, out *output) error {
				res, err := e.List(ctx, p)
				if errors.Is(err, jobs.ErrBadCursor) {
					return usageError{errors.New("--cursor is malformed; use the cursor the previous page printed")}
				}
				if err != nil {
					return err
				}
				return out.list(res)
			})
		},
	}
	lp.register(list)

	stats := &cobra.Command{
		Use:   "stats",
		Short: "Show job counters, states and timings, in total and per kind",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return run(c, func(ctx context.Context, e *jobs.Engine, out *output) error {
				s, err := e.Stats(ctx)
				if err != nil {
					return err
				}
				return out.stats(s)
			})
		},
	}

	retry := &cobra.Command{
		Use:   "retry ID",
		Short: "Run a finished or waiting job again now",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := jobID(args[0])
			if err != nil {
				return err
			}
			return run(c, func(ctx context.Context, e *jobs.Engine, out *output) error {
				d, err := e.Retry(ctx, id)
				switch {
				case errors.Is(err, jobs.ErrRunning):
					return fmt.Errorf("job %d is running; it cannot be retried until it finishes", id)
				case err != nil:
					return jobError(id, err)
				}
				return out.action(fmt.Sprintf("Job %d (%s) will run again.", id, d.Kind), map[string]any{"success": true})
			})
		},
	}

	cancel := &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a waiting or running job",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := jobID(args[0])
			if err != nil {
				return err
			}
			return run(c, func(ctx context.Context, e *jobs.Engine, out *output) error {
				d, err := e.Cancel(ctx, id)
				if err != nil {
					return jobError(id, err)
				}
				switch d.Status {
				case jobs.StatusCompleted, jobs.StatusDead:
					return fmt.Errorf("job %d already finished (%s); there is nothing to cancel", id, d.Status)
				}
				msg := fmt.Sprintf("Job %d (%s) was cancelled.", id, d.Kind)
				if d.Status == jobs.StatusRunning {
					msg = fmt.Sprintf("Job %d (%s) is running; it has been told to stop and will end cancelled.", id, d.Kind)
				}
				return out.action(msg, map[string]any{"success": true})
			})
		},
	}

	retryAll := &cobra.Command{
		Use:   "retry-all",
		Short: "Run every dead job again",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return run(c, func(ctx context.Context, e *jobs.Engine, out *output) error {
				n, err := e.RetryAllDead(ctx)
				if err != nil {
					return fmt.Errorf("retried %d dead jobs, then failed: %w", n, err)
				}
				return out.action(fmt.Sprintf("%d dead jobs will run again.", n), map[string]any{"retried": n})
			})
		},
	}

	clearDead := &cobra.Command{
		Use:   "clear-dead",
		Short: "Delete every dead job",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return run(c, func(ctx context.Context, e *jobs.Engine, out *output) error {
				n, err := e.ClearDead(ctx)
				if err != nil {
					return fmt.Errorf("deleted %d dead jobs, then failed: %w", n, err)
				}
				return out.action(fmt.Sprintf("%d dead jobs were deleted.", n), map[string]any{"cleared": n})
			})
		},
	}

	cmd.AddCommand(list, stats, retry, cancel, retryAll, clearDead)
	return cmd
}

// listFlags are the filters of `jobs list`.
type listFlags struct {
	status, kind, queue, cursor string
	limit                       int
}

func (f *listFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.status, "status", "", "only jobs in this status: "+statusNames())
	cmd.Flags().StringVar(&f.kind, "kind", "", "only jobs of this kind")
	cmd.Flags().StringVar(&f.queue, "queue", "", "only jobs in this queue")
	cmd.Flags().IntVar(&f.limit, "limit", 50, "jobs per page, 1 to 500")
	cmd.Flags().StringVar(&f.cursor, "cursor", "", "continue after the previous page (its next cursor)")
}

func (f *listFlags) params() (jobs.ListParams, error) {
	st, ok := jobs.ParseStatus(f.status)
	if !ok {
		return jobs.ListParams{}, usageError{fmt.Errorf("--status %q: use one of %s", f.status, statusNames())}
	}
	if f.limit < 1 || f.limit > 500 {
		return jobs.ListParams{}, usageError{fmt.Errorf("--limit %d: use a whole number from 1 to 500", f.limit)}
	}
	return jobs.ListParams{Status: st, Kind: f.kind, Queue: f.queue, Limit: f.limit, Cursor: f.cursor}, nil
}

func statusNames() string {
	names := make([]string, len(jobs.Statuses))
	for i, s := range jobs.Statuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// jobID parses a job id argument.
func jobID(arg string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError{fmt.Errorf("job id %q: use a positive whole number", arg)}
	}
	return id, nil
}

// jobError explains an engine error about one job.
func jobError(id int64, err error) error {
	if errors.Is(err, jobs.ErrNotFound) {
		return fmt.Errorf("job %d not found", id)
	}
	return err
}

// output prints results as tables or as the admin API's JSON.
type output struct {
	w    io.Writer
	json bool
}

func (o *output) list(res *jobs.ListResult) error {
	if o.json {
		return writeJSON(o.w, admin.ListBody(res))
	}
	tw := tabwriter.NewWriter(o.w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATUS\tQUEUE\tPRIORITY\tATTEMPT\tCREATED\tSCHEDULED")
	for _, j := range res.Jobs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d/%d\t%s\t%s\n", j.ID, j.Kind, j.Status, j.Queue, j.Priority,
			j.Attempt, j.MaxAttempts, j.CreatedAt.Local().Format(time.DateTime), j.ScheduledAt.Local().Format(time.DateTime))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(o.w, "%d of %d jobs\n", len(res.Jobs), res.Total)
	if res.NextCursor != "" {
		fmt.Fprintf(o.w, "next page: --cursor %s\n", res.NextCursor)
	}
	return nil
}

func (o *output) stats(s *jobs.Stats) error {
	t := s.Total
	if o.json {
		return writeJSON(o.w, admin.StatsBody(s))
	}
	tw := tabwriter.NewWriter(o.w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tENQUEUED\tPENDING\tSCHEDULED\tRUNNING\tCOMPLETED\tFAILED\tRETRIED\tCANCELLED\tDEAD\tSUCCESS %\tP50 MS\tP95 MS")
	row := func(name string, k jobs.KindStats) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t%.2f\t%.2f\n", name, k.Enqueued, k.Pending, k.Scheduled,
			k.Running, k.Completed, k.Failed, k.Retried, k.Cancelled, k.DeadLetter, k.SuccessRate, k.Execution.P50, k.Execution.P95)
	}
	for _, k := range s.Kinds {
		row(k.Kind, k)
	}
	row("(all)", t)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(o.w, "timings: %s; computed at %s\n", s.Window, s.At.Local().Format(time.DateTime))
	return nil
}

// action prints the outcome of an action: its message, or for --json the
// admin API's body with the message in it.
func (o *output) action(msg string, body map[string]any) error {
	if o.json {
		body["message"] = msg
		return writeJSON(o.w, body)
	}
	_, err := fmt.Fprintln(o.w, msg)
	return err
}

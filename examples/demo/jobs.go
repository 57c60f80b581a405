package demo

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/auth"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/examples/demo/views"
	"github.com/trellis-go/trellis/form"
	"github.com/trellis-go/trellis/htmx"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/ratelimit"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/session"
)

// SucceedArgs is a job that finishes at once.
type SucceedArgs struct {
	N int `json:"n"`
}

// Kind implements jobs.Args.
func (SucceedArgs) Kind() string { return "demo_succeed" }

// FailArgs is a job that always errors, so it retries and then lands in
// the dead letter queue.
type FailArgs struct {
	N int `json:"n"`
}

// Kind implements jobs.Args.
func (FailArgs) Kind() string { return "demo_fail" }

// SlowArgs is a job that runs for Seconds unless cancelled.
type SlowArgs struct {
	Seconds int `json:"seconds"`
}

// Kind implements jobs.Args.
func (SlowArgs) Kind() string { return "demo_slow" }

// HeartbeatArgs is enqueued every minute by the demo's schedule.
type HeartbeatArgs struct{}

// Kind implements jobs.Args.
func (HeartbeatArgs) Kind() string { return "demo_heartbeat" }

// registerJobs adds the demo's workers, schedule and playground routes.
func (d *demo) registerJobs(app *trellis.App) error {
	jobs.RegisterFunc(app.Jobs, func(ctx context.Context, j *jobs.Job[SucceedArgs]) error { return nil })
	jobs.RegisterFunc(app.Jobs, func(ctx context.Context, j *jobs.Job[FailArgs]) error {
		return fmt.Errorf("demo failure on attempt %d of %d", j.Attempt, j.MaxAttempts)
	})
	jobs.RegisterFunc(app.Jobs, func(ctx context.Context, j *jobs.Job[SlowArgs]) error {
		select {
		case <-time.After(time.Duration(j.Args.Seconds) * time.Second):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	jobs.RegisterFunc(app.Jobs, func(ctx context.Context, j *jobs.Job[HeartbeatArgs]) error {
		_, err := app.DB.SQL.ExecContext(ctx, app.DB.Rebind(`INSERT INTO demo_activity (message) VALUES (?)`), "Scheduled heartbeat job ran")
		return err
	})
	if err := app.Jobs.Schedule("demo-heartbeat", "* * * * *", func() jobs.Args { return HeartbeatArgs{} }, nil); err != nil {
		return err
	}
	app.With(app.Auth.RequireUser).Get("/demo/jobs", d.playground)
	app.With(app.Auth.RequireUser, d.playgroundLimit()).Post("/demo/jobs", d.enqueue)
	return nil
}

// PlaygroundQueue is the queue the playground's jobs run in, apart from
// the app's own jobs: however many a user enqueues, they hold at most its
// workers, and the default queue keeps running.
const PlaygroundQueue = "playground"

// playgroundWorkers is the playground queue's size unless jobs.queues
// lists it.
const playgroundWorkers = 2

// PlaygroundRate is how often one user may enqueue from the playground.
const PlaygroundRate = "10/1m"

// addPlaygroundQueue adds the playground queue to cfg's jobs.queues unless
// it is listed there already.
func addPlaygroundQueue(cfg *config.Config) {
	for _, q := range cfg.Jobs.Queues {
		if name, _, _ := strings.Cut(q, ":"); name == PlaygroundQueue {
			return
		}
	}
	cfg.Jobs.Queues = append(slices.Clip(cfg.Jobs.Queues), PlaygroundQueue+":"+strconv.Itoa(playgroundWorkers))
}

// playgroundLimit limits each user to PlaygroundRate enqueue requests,
// counted in the app's rate limit store (ratelimit.store); with
// ratelimit.enabled = false it lets everything through.
func (d *demo) playgroundLimit() func(http.Handler) http.Handler {
	cfg := d.app.Config
	if !cfg.RateLimit.Enabled {
		return func(next http.Handler) http.Handler { return next }
	}
	var limiter ratelimit.Limiter = ratelimit.NewMemory()
	if cfg.RateLimit.Store == "redis" && d.app.Redis != nil {
		limiter = ratelimit.NewRedis(d.app.Redis, cfg.Redis.KeyPrefix+"ratelimit:")
	}
	rate, err := ratelimit.ParseRate(PlaygroundRate)
	if err != nil {
		panic(err) // a constant
	}
	denied := func(w http.ResponseWriter, r *http.Request, res ratelimit.Result) {
		msg := fmt.Sprintf("The playground takes %s enqueue requests per user; try again in %s.",
			rate, max(res.RetryAfter.Round(time.Second), time.Second))
		d.app.Render.Error(w, r, render.NewError(http.StatusTooManyRequests, msg))
	}
	failed := func(w http.ResponseWriter, r *http.Request, err error) {
		d.app.Logger.Warn("playground rate limit unavailable; refusing", "error", err)
		d.app.Render.Error(w, r, render.NewError(http.StatusServiceUnavailable, "Enqueueing is unavailable right now; try again shortly."))
	}
	return ratelimit.Middleware(limiter, denied, failed, ratelimit.Rule{
		Name: "demo-playground",
		Rate: rate,
		Key:  func(r *http.Request) string { return userTag(auth.CurrentUser(r.Context())) },
	})
}

func userTag(u *auth.User) string { return "user-" + strconv.FormatInt(u.ID, 10) }

func (d *demo) playground(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := auth.CurrentUser(ctx)
	list, err := d.app.Jobs.List(ctx, jobs.ListParams{Tag: userTag(u), Limit: 20})
	if err != nil {
		d.app.Render.Error(w, r, err)
		return
	}
	rows := make([]views.JobRow, len(list.Jobs))
	for i, j := range list.Jobs {
		rows[i] = views.JobRow{ID: j.ID, Kind: j.Kind, Status: string(j.Status), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts}
	}
	page := views.JobsPlayground(rows, u.HasRole(auth.RoleAdmin), newEnqueueForm())
	d.app.Render.View(w, r, render.View{Title: "Jobs playground", Content: page, Partial: views.JobRows(rows)})
}

func (d *demo) enqueue(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := auth.CurrentUser(ctx)
	var in struct {
		Kind  string `form:"kind" validate:"oneof=succeed fail slow"`
		Count int    `form:"count" validate:"min=1,max=100" message:"Enter a number from 1 to 100."`
	}
	if _, ok := d.app.Forms.Bind(w, r, &in, func(f *form.Form) render.View {
		return render.View{Title: "Jobs playground", Content: views.JobsPlayground(nil, u.HasRole(auth.RoleAdmin), f), Partial: views.EnqueueForm(f)}
	}); !ok {
		return
	}
	kind, count := in.Kind, in.Count
	var newArgs func(i int) jobs.Args
	switch kind {
	case "succeed":
		newArgs = func(i int) jobs.Args { return SucceedArgs{N: i} }
	case "fail":
		newArgs = func(i int) jobs.Args { return FailArgs{N: i} }
	default:
		newArgs = func(int) jobs.Args { return SlowArgs{Seconds: 30} }
	}
	reqs := make([]jobs.Request, count)
	for i := range reqs {
		reqs[i] = jobs.Request{Args: newArgs(i + 1), Opts: &jobs.Opts{Queue: PlaygroundQueue, Tags: []string{userTag(u)}}}
	}
	if _, err := d.app.Jobs.EnqueueMany(ctx, reqs); err != nil {
		d.app.Render.Error(w, r, err)
		return
	}
	d.app.Sessions.Flash(ctx, session.Success, fmt.Sprintf("Enqueued %d %s job(s).", count, kind))
	if htmx.IsRequest(r) {
		_ = htmx.Trigger(w, "jobs-enqueued", nil)
		d.app.Render.Fragment(w, r, http.StatusOK, views.EnqueueForm(newEnqueueForm()))
		return
	}
	http.Redirect(w, r, "/demo/jobs", http.StatusSeeOther)
}

func newEnqueueForm() *form.Form {
	return form.NewForm(url.Values{"kind": {"succeed"}, "count": {"1"}})
}

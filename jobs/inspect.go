package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Status is a job's state as the admin API and dashboard show it.
type Status string

// Statuses, mapped from River's states.
const (
	StatusPending   Status = "pending"   // available (or pending) to run now
	StatusScheduled Status = "scheduled" // waiting for its run time or a retry
	StatusRunning   Status = "running"
	StatusCompleted Status = "completed"
	StatusCancelled Status = "cancelled"
	StatusDead      Status = "dead" // failed every attempt: the dead letter queue
)

// Statuses lists every status in dashboard order.
var Statuses = []Status{StatusPending, StatusScheduled, StatusRunning, StatusCompleted, StatusDead, StatusCancelled}

// riverStates maps a status to River's states.
func riverStates(s Status) []rivertype.JobState {
	switch s {
	case StatusPending:
		return []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending}
	case StatusScheduled:
		return []rivertype.JobState{rivertype.JobStateScheduled, rivertype.JobStateRetryable}
	case StatusRunning:
		return []rivertype.JobState{rivertype.JobStateRunning}
	case StatusCompleted:
		return []rivertype.JobState{rivertype.JobStateCompleted}
	case StatusCancelled:
		return []rivertype.JobState{rivertype.JobStateCancelled}
	case StatusDead:
		return []rivertype.JobState{rivertype.JobStateDiscarded}
	}
	return nil
}

func statusOf(state string) Status {
	switch state {
	case "available", "pending":
		return StatusPending
	case "scheduled", "retryable":
		return StatusScheduled
	case "discarded":
		return StatusDead
	}
	return Status(state)
}

// ParseStatus validates a status name ("" means any).
func ParseStatus(s string) (Status, bool) {
	if s == "" {
		return "", true
	}
	st := Status(s)
	return st, riverStates(st) != nil
}

// Info is a job as listed.
type Info struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"job_type"`
	Status      Status          `json:"status"`
	State       string          `json:"river_state"`
	Queue       string          `json:"queue"`
	Priority    int             `json:"priority"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	CreatedAt   time.Time       `json:"created_at"`
	ScheduledAt time.Time       `json:"scheduled_at"`
	AttemptedAt *time.Time      `json:"attempted_at"`
	FinalizedAt *time.Time      `json:"finalized_at"`
	Args        json.RawMessage `json:"args"`
	Tags        []string        `json:"tags"`
}

// AttemptError is one failed attempt.
type AttemptError struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Error   string    `json:"error"`
	Trace   string    `json:"trace,omitempty"`
}

// Detail is one job with its errors.
type Detail struct {
	Info
	Errors   []AttemptError  `json:"errors"`
	Metadata json.RawMessage `json:"metadata"`
}

// ListParams filters and pages the job list.
type ListParams struct {
	Status Status
	Kind   string
	Queue  string
	// Q searches ids, kinds and arguments.
	Q string
	// Tag keeps jobs carrying this tag.
	Tag string
	// Limit is 1 to 500; 0 means 50.
	Limit int
	// Cursor continues after the last job of the previous page.
	Cursor string
}

// ListResult is one page of jobs, newest first.
type ListResult struct {
	Jobs []Info `json:"jobs"`
	// Total counts every job matching the filters.
	Total int `json:"total"`
	// NextCursor fetches the next page; empty on the last page.
	NextCursor string `json:"next_cursor"`
}

// ErrBadCursor is returned for a malformed cursor.
var ErrBadCursor = errors.New("jobs: malformed cursor")

// List returns one page of jobs, newest first, and the total matching.
// The page comes from River's JobList; the total, which River's API does
// not offer, from a count over the same filters (see riversql.go).
func (e *Engine) List(ctx context.Context, p ListParams) (*ListResult, error) {
	c, _, err := e.clients()
	if err != nil {
		return nil, err
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	params := river.NewJobListParams().OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(limit + 1)
	if states := riverStates(p.Status); states != nil {
		params = params.States(states...)
	}
	if p.Kind != "" {
		params = params.Kinds(p.Kind)
	}
	if p.Queue != "" {
		params = params.Queues(p.Queue)
	}
	if p.Tag != "" {
		params = params.TagsAny(p.Tag)
	}
	if q := strings.TrimSpace(p.Q); q != "" {
		params = params.Where(searchPredicate(e.db.Dialect), river.NamedArgs{"trellis_q": q, "trellis_like": likePattern(q)})
	}
	if p.Cursor != "" {
		before, err := strconv.ParseInt(p.Cursor, 10, 64)
		if err != nil || before <= 0 {
			return nil, ErrBadCursor
		}
		params = params.After(river.JobListCursorFromJob(&rivertype.JobRow{ID: before}))
	}
	page, err := c.JobList(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("jobs: listing: %w", err)
	}
	res := &ListResult{Jobs: make([]Info, 0, len(page.Jobs))}
	for _, row := range page.Jobs {
		res.Jobs = append(res.Jobs, detail(row).Info)
	}
	if len(res.Jobs) > limit {
		res.Jobs = res.Jobs[:limit]
		res.NextCursor = strconv.FormatInt(res.Jobs[limit-1].ID, 10)
	}
	if res.Total, err = e.countJobs(ctx, p); err != nil {
		return nil, err
	}
	return res, nil
}

// Get returns one job with its errors, or ErrNotFound.
func (e *Engine) Get(ctx context.Context, id int64) (*Detail, error) {
	c, _, err := e.clients()
	if err != nil {
		return nil, err
	}
	row, err := c.JobGet(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: loading job %d: %w", id, err)
	}
	return detail(row), nil
}

func detail(row *rivertype.JobRow) *Detail {
	d := &Detail{Info: Info{
		ID: row.ID, Kind: row.Kind, State: string(row.State), Status: statusOf(string(row.State)), Queue: row.Queue,
		Priority: row.Priority, Attempt: row.Attempt, MaxAttempts: row.MaxAttempts, CreatedAt: row.CreatedAt,
		ScheduledAt: row.ScheduledAt, AttemptedAt: row.AttemptedAt, FinalizedAt: row.FinalizedAt,
		Args: json.RawMessage(row.EncodedArgs), Tags: row.Tags,
	}, Metadata: json.RawMessage(row.Metadata), Errors: []AttemptError{}}
	if d.Tags == nil {
		d.Tags = []string{}
	}
	if len(d.Metadata) == 0 {
		d.Metadata = json.RawMessage("{}")
	}
	for _, ae := range row.Errors {
		d.Errors = append(d.Errors, AttemptError{Attempt: ae.Attempt, At: ae.At, Error: ae.Error, Trace: ae.Trace})
	}
	return d
}

// Cancel cancels a job: a waiting job at once; a running one has its
// context cancelled and ends cancelled, never retried. Finished jobs are
// left alone. It returns the job as it is now.
func (e *Engine) Cancel(ctx context.Context, id int64) (*Detail, error) {
	c, _, err := e.clients()
	if err != nil {
		return nil, err
	}
	row, err := c.JobCancel(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: cancelling job %d: %w", id, err)
	}
	return detail(row), nil
}

// Retry makes a finished or waiting job run again now (with one more
// attempt when it had used them all). Running jobs are left alone:
// ErrRunning.
func (e *Engine) Retry(ctx context.Context, id int64) (*Detail, error) {
	c, _, err := e.clients()
	if err != nil {
		return nil, err
	}
	row, err := c.JobRetry(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: retrying job %d: %w", id, err)
	}
	if row.State == rivertype.JobStateRunning {
		return detail(row), ErrRunning
	}
	return detail(row), nil
}

// RetryAllDead retries every job in the dead letter queue, in batches of
// 500 walked by id (so a job that fails again meanwhile is not retried
// twice), and returns how many it retried.
func (e *Engine) RetryAllDead(ctx context.Context) (int, error) {
	c, _, err := e.clients()
	if err != nil {
		return 0, err
	}
	n := 0
	params := river.NewJobListParams().States(rivertype.JobStateDiscarded).OrderBy(river.JobListOrderByID, river.SortOrderAsc).First(500)
	for {
		page, err := c.JobList(ctx, params)
		if err != nil {
			return n, fmt.Errorf("jobs: retrying dead jobs: %w", err)
		}
		if len(page.Jobs) == 0 {
			return n, nil
		}
		for _, row := range page.Jobs {
			if _, err := c.JobRetry(ctx, row.ID); err != nil && !errors.Is(err, river.ErrNotFound) {
				return n, fmt.Errorf("jobs: retrying job %d: %w", row.ID, err)
			}
			n++
		}
		params = params.After(river.JobListCursorFromJob(page.Jobs[len(page.Jobs)-1]))
	}
}

// ClearDead deletes every job in the dead letter queue and returns how many.
func (e *Engine) ClearDead(ctx context.Context) (int, error) {
	c, _, err := e.clients()
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		res, err := c.JobDeleteMany(ctx, river.NewJobDeleteManyParams().States(rivertype.JobStateDiscarded).First(1000))
		if err != nil {
			return n, fmt.Errorf("jobs: clearing dead jobs: %w", err)
		}
		n += len(res.Jobs)
		if len(res.Jobs) < 1000 {
			return n, nil
		}
	}
}

package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/trellis-go/trellis/db"
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
func riverStates(s Status) []string {
	switch s {
	case StatusPending:
		return []string{"available", "pending"}
	case StatusScheduled:
		return []string{"scheduled", "retryable"}
	case StatusRunning:
		return []string{"running"}
	case StatusCompleted:
		return []string{"completed"}
	case StatusCancelled:
		return []string{"cancelled"}
	case StatusDead:
		return []string{"discarded"}
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
func (e *Engine) List(ctx context.Context, p ListParams) (*ListResult, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	where, args := e.filters(p)
	cursorWhere, cursorArgs := where, append([]any(nil), args...)
	if p.Cursor != "" {
		before, err := strconv.ParseInt(p.Cursor, 10, 64)
		if err != nil || before <= 0 {
			return nil, ErrBadCursor
		}
		cursorWhere += " AND id < ?"
		cursorArgs = append(cursorArgs, before)
	}
	argsExpr := "json(args)"
	tagsExpr := "json(tags)"
	if e.db.Dialect == db.Postgres {
		argsExpr, tagsExpr = "args::text", "to_json(tags)::text"
	}
	q := e.db.Rebind(`SELECT id, kind, state, queue, priority, attempt, max_attempts, created_at, scheduled_at, attempted_at, finalized_at, ` +
		argsExpr + `, ` + tagsExpr + ` FROM river_job WHERE ` + cursorWhere + ` ORDER BY id DESC LIMIT ?`)
	rows, err := e.db.SQL.QueryContext(ctx, q, append(cursorArgs, limit+1)...)
	if err != nil {
		return nil, fmt.Errorf("jobs: listing: %w", err)
	}
	defer rows.Close()
	res := &ListResult{Jobs: []Info{}}
	for rows.Next() {
		var in Info
		var attempted, finalized sql.NullTime
		var argsText, tagsText sql.NullString
		if err := rows.Scan(&in.ID, &in.Kind, &in.State, &in.Queue, &in.Priority, &in.Attempt, &in.MaxAttempts,
			&in.CreatedAt, &in.ScheduledAt, &attempted, &finalized, &argsText, &tagsText); err != nil {
			return nil, fmt.Errorf("jobs: listing: %w", err)
		}
		in.Status = statusOf(in.State)
		if attempted.Valid {
			in.AttemptedAt = &attempted.Time
		}
		if finalized.Valid {
			in.FinalizedAt = &finalized.Time
		}
		in.Args = json.RawMessage(orJSON(argsText.String, "{}"))
		_ = json.Unmarshal([]byte(orJSON(tagsText.String, "[]")), &in.Tags)
		if in.Tags == nil {
			in.Tags = []string{}
		}
		res.Jobs = append(res.Jobs, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: listing: %w", err)
	}
	if len(res.Jobs) > limit {
		res.Jobs = res.Jobs[:limit]
		res.NextCursor = strconv.FormatInt(res.Jobs[limit-1].ID, 10)
	}
	if err := e.db.SQL.QueryRowContext(ctx, e.db.Rebind(`SELECT COUNT(*) FROM river_job WHERE `+where), args...).Scan(&res.Total); err != nil {
		return nil, fmt.Errorf("jobs: counting: %w", err)
	}
	return res, nil
}

func orJSON(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// filters builds the WHERE clause for p with '?' placeholders.
func (e *Engine) filters(p ListParams) (string, []any) {
	var conds []string
	var args []any
	if states := riverStates(p.Status); states != nil {
		conds = append(conds, "state IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(states)), ", ")+")")
		for _, s := range states {
			args = append(args, s)
		}
	}
	if p.Kind != "" {
		conds = append(conds, "kind = ?")
		args = append(args, p.Kind)
	}
	if p.Queue != "" {
		conds = append(conds, "queue = ?")
		args = append(args, p.Queue)
	}
	if p.Tag != "" {
		if e.db.Dialect == db.Postgres {
			conds = append(conds, "? = ANY(tags)")
		} else {
			conds = append(conds, "EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?)")
		}
		args = append(args, p.Tag)
	}
	if q := strings.TrimSpace(p.Q); q != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(q) + "%"
		if e.db.Dialect == db.Postgres {
			conds = append(conds, `(id::text = ? OR kind ILIKE ? ESCAPE '\' OR args::text ILIKE ? ESCAPE '\')`)
		} else {
			conds = append(conds, `(CAST(id AS TEXT) = ? OR kind LIKE ? ESCAPE '\' OR json(args) LIKE ? ESCAPE '\')`)
		}
		args = append(args, q, like, like)
	}
	if len(conds) == 0 {
		return "1 = 1", nil
	}
	return strings.Join(conds, " AND "), args
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
	var last int64
	for {
		rows, err := e.db.SQL.QueryContext(ctx, e.db.Rebind(`SELECT id FROM river_job WHERE state = 'discarded' AND id > ? ORDER BY id LIMIT 500`), last)
		if err != nil {
			return n, fmt.Errorf("jobs: retrying dead jobs: %w", err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return n, fmt.Errorf("jobs: retrying dead jobs: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if len(ids) == 0 {
			return n, nil
		}
		for _, id := range ids {
			if _, err := c.JobRetry(ctx, id); err != nil && !errors.Is(err, river.ErrNotFound) {
				return n, fmt.Errorf("jobs: retrying job %d: %w", id, err)
			}
			n++
			last = id
		}
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

package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// A schedule enqueues a job at each fire of a cron expression or interval.
// Every process sharing the database runs the scheduler; each fire is
// claimed with a compare-and-swap on the schedule's row in
// trellis_schedules, in the same transaction that enqueues the job, so it
// runs exactly once across processes. The last fire is durable: after a
// restart (or with every process down for a while) the most recent missed
// fire is enqueued once, late, and earlier missed fires are skipped.
type schedule struct {
	name    string
	sched   cron.Schedule
	spec    string
	newArgs func() Args
	opts    *Opts
}

type scheduler struct {
	e         *Engine
	mu        sync.Mutex
	schedules []*schedule
	stopCh    chan struct{}
	done      chan struct{}
	tick      time.Duration
	// beforeClaim, when set (by tests), runs between reading a schedule's
	// last fire and claiming the next, where another process may claim it.
	beforeClaim func()
}

func newScheduler(e *Engine) *scheduler { return &scheduler{e: e, tick: time.Second} }

var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

var scheduleName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,99}$`)

// ParseSchedule accepts a cron expression — 5 fields (minute hour
// day-of-month month day-of-week, Sunday = 0), or 6 with leading seconds,
// optionally prefixed "CRON_TZ=Europe/Berlin " — or a descriptor such as
// "@hourly", "@daily" or "@every 90s".
func ParseSchedule(spec string) (cron.Schedule, error) {
	s, err := cronParser.Parse(strings.TrimSpace(spec))
	if err != nil {
		return nil, fmt.Errorf("jobs: schedule %q: %w", spec, err)
	}
	return s, nil
}

// Schedule enqueues newArgs() with opts at every fire of spec (see
// ParseSchedule). name identifies the schedule across processes and
// restarts. Call it before Start.
func (e *Engine) Schedule(name, spec string, newArgs func() Args, opts *Opts) error {
	if !scheduleName.MatchString(name) {
		return fmt.Errorf("jobs: schedule name %q: use letters, digits, '_', '.', ':' or '-'", name)
	}
	s, err := ParseSchedule(spec)
	if err != nil {
		return err
	}
	if _, err := e.insertOpts(opts, nil); err != nil {
		return err
	}
	e.sched.mu.Lock()
	defer e.sched.mu.Unlock()
	for _, existing := range e.sched.schedules {
		if existing.name == name {
			return fmt.Errorf("jobs: schedule %q registered twice", name)
		}
	}
	e.sched.schedules = append(e.sched.schedules, &schedule{name: name, sched: s, spec: spec, newArgs: newArgs, opts: opts})
	return nil
}

func (s *scheduler) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.schedules) == 0 || s.stopCh != nil {
		return
	}
	s.stopCh, s.done = make(chan struct{}), make(chan struct{})
	go s.loop(s.stopCh, s.done)
}

func (s *scheduler) stop() {
	s.mu.Lock()
	stopCh, done := s.stopCh, s.done
	s.stopCh = nil
	s.mu.Unlock()
	if stopCh != nil {
		close(stopCh)
		<-done
	}
}

func (s *scheduler) loop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(s.tick)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-stop; cancel() }()
	for {
		s.runDue(ctx, time.Now())
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// runDue fires every schedule whose next fire is at or before now.
func (s *scheduler) runDue(ctx context.Context, now time.Time) {
	s.mu.Lock()
	list := append([]*schedule(nil), s.schedules...)
	s.mu.Unlock()
	for _, sc := range list {
		if err := s.fire(ctx, sc, now); err != nil && ctx.Err() == nil {
			s.e.logger.Warn("jobs: schedule", slog.String("schedule", sc.name), slog.Any("error", err))
		}
	}
}

// fire claims and enqueues the latest due fire of sc, if any.
func (s *scheduler) fire(ctx context.Context, sc *schedule, now time.Time) error {
	d := s.e.db
	var last int64
	err := d.SQL.QueryRowContext(ctx, d.Rebind(`SELECT last_fire FROM trellis_schedules WHERE name = ?`), sc.name).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		// First sight of this schedule: start counting from now, so a new
		// schedule does not fire for the past.
		_, err = d.SQL.ExecContext(ctx, d.Rebind(`INSERT INTO trellis_schedules (name, last_fire) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`),
			sc.name, now.UnixMilli())
		return err
	}
	if err != nil {
		return err
	}
	due := latestFire(sc.sched, time.UnixMilli(last), now)
	if due.IsZero() {
		return nil
	}
	if s.beforeClaim != nil {
		s.beforeClaim()
	}
	tx, err := d.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, d.Rebind(`UPDATE trellis_schedules SET last_fire = ? WHERE name = ? AND last_fire = ?`),
		due.UnixMilli(), sc.name, last)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // another process claimed this fire
	}
	if _, err := s.e.EnqueueTx(ctx, tx, sc.newArgs(), sc.opts); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.e.logger.Debug("jobs: schedule fired", slog.String("schedule", sc.name), slog.Time("fire", due))
	return nil
}

// latestFire returns the last fire time of sched after last and not after
// now, or the zero time when none is due.
func latestFire(sched cron.Schedule, last, now time.Time) time.Time {
	var due time.Time
	for next := sched.Next(last); !next.After(now); next = sched.Next(next) {
		due = next
		if next.IsZero() {
			break
		}
	}
	return due
}

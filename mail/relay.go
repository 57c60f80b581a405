package mail

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/jobs"
)

// relayBatch is the most mails the relay enqueues in one transaction.
const relayBatch = 200

// relayGather is how long the relay waits, once woken, before it
// enqueues: mail sent meanwhile joins the same transaction.
const relayGather = 5 * time.Millisecond

// relay enqueues the delivery jobs of mail stored by Send. It moves the
// job queue's insert out of the request that sends the mail (a request
// pays for one insert; the relay enqueues mails in batches, in the
// background) without losing mail: a stored mail waits in the queue table
// with enqueued false until the transaction that marks it enqueued also
// inserts its job.
type relay struct {
	wake  chan struct{} // Send's commits; buffered, never blocks
	every time.Duration // how often it looks for mail without a job anyway

	// seen is, on SQLite, an id up to which every stored mail has its
	// job: there ids are assigned in commit order, so mail stored later
	// has a larger id, and a pass reads only the mail after it.
	seen atomic.Int64

	mu   sync.Mutex
	stop context.CancelFunc // nil while not running
	done chan struct{}
}

// wakeRelay tells the relay a mail was stored; it never blocks.
func (m *Mailer) wakeRelay() {
	select {
	case m.relay.wake <- struct{}{}:
	default:
	}
}

// Start runs the relay, which enqueues the delivery job of every mail Send
// stored: at once when this process stored it, and at start and every
// second for mail stored by other processes, or by this one before a
// crash. The App starts it with the job engine. Starting it twice does
// nothing.
func (m *Mailer) Start(ctx context.Context) error {
	r := &m.relay
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop != nil {
		return nil
	}
	ctx, r.stop = context.WithCancel(context.WithoutCancel(ctx))
	r.done = make(chan struct{})
	go m.runRelay(ctx, r.done)
	return nil
}

// Stop stops the relay, waiting until ctx ends for an enqueue in progress.
// Mail stored afterwards waits for the next start of a relay.
func (m *Mailer) Stop(ctx context.Context) error {
	r := &m.relay
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop == nil {
		return nil
	}
	r.stop()
	r.stop = nil
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mail: stopping the relay: %w", ctx.Err())
	}
}

// runRelay enqueues waiting mail at start, on every wake and every
// r.every, until ctx is cancelled.
func (m *Mailer) runRelay(ctx context.Context, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(m.relay.every)
	defer tick.Stop()
	for {
		for {
			n, err := m.relayOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					m.logger.Error("mail relay: enqueueing stored mail failed; retrying", slog.Any("error", err))
				}
				break
			}
			if n < relayBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-m.relay.wake:
			// Gather the mail of the requests committing meanwhile into
			// one transaction, and stay off the CPU and the database
			// while the request that woke the relay sends its response.
			select {
			case <-ctx.Done():
				return
			case <-time.After(relayGather):
			}
		case <-tick.C:
		}
	}
}

// relayOnce enqueues the delivery jobs of up to relayBatch stored mails
// without one, in one transaction that also marks them enqueued, and
// returns how many. It reads first whether any mail waits: the claim's
// transaction takes SQLite's write lock, which a relay waking every
// second with nothing to do should not. Concurrent relays (several
// processes) never enqueue a mail twice: on SQLite transactions that
// write run one at a time; on PostgreSQL the rows are locked and those
// another relay holds skipped.
func (m *Mailer) relayOnce(ctx context.Context) (int, error) {
	if m.db.Dialect == db.Postgres {
		var pending bool
		if err := m.db.SQL.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM trellis_mail_queue WHERE NOT enqueued)`).Scan(&pending); err != nil || !pending {
			return 0, relayErr(err)
		}
		// The outer NOT enqueued is checked again on a row another relay
		// updated meanwhile; SKIP LOCKED keeps relays from queueing up.
		return m.claim(ctx, `UPDATE trellis_mail_queue SET enqueued = TRUE WHERE NOT enqueued AND id IN (
			SELECT id FROM trellis_mail_queue WHERE NOT enqueued ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING id, trace`, relayBatch)
	}
	// SQLite reads only the mail after relay.seen; when none of it waits,
	// all of it has its job and seen moves past it.
	seen := m.relay.seen.Load()
	var last int64
	var pending bool
	if err := m.db.SQL.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0), COALESCE(MAX(enqueued = 0), 0) FROM trellis_mail_queue WHERE id > ?`, seen).Scan(&last, &pending); err != nil || !pending {
		if err == nil && last > seen {
			m.relay.seen.CompareAndSwap(seen, last)
		}
		return 0, relayErr(err)
	}
	return m.claim(ctx, `UPDATE trellis_mail_queue SET enqueued = 1 WHERE id IN (
		SELECT id FROM trellis_mail_queue WHERE id > ? AND enqueued = 0 ORDER BY id LIMIT ?) RETURNING id, trace`, seen, relayBatch)
}

// relayErr wraps a relay's error; nil stays nil.
func relayErr(err error) error {
	if err != nil {
		return fmt.Errorf("mail: relay: %w", err)
	}
	return nil
}

// claim runs q with args, which marks mail enqueued and returns ids and
// trace contexts, and enqueues their delivery jobs, in one transaction.
func (m *Mailer) claim(ctx context.Context, q string, args ...any) (int, error) {
	tx, err := m.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return 0, relayErr(err)
	}
	defer func() { _ = tx.Rollback() }()
	reqs, err := claimed(ctx, tx, q, m.queue, args)
	if err != nil {
		return 0, fmt.Errorf("mail: relay: claiming stored mail: %w", err)
	}
	if len(reqs) == 0 {
		return 0, nil
	}
	if _, err := m.jobs.EnqueueManyTx(ctx, tx, reqs); err != nil {
		return 0, relayErr(err)
	}
	if err := tx.Commit(); err != nil {
		return 0, relayErr(err)
	}
	return len(reqs), nil
}

// claimed runs q with args in tx, which marks mail enqueued and returns
// ids and trace contexts, and builds their delivery jobs.
func claimed(ctx context.Context, tx *sql.Tx, q, queue string, args []any) ([]jobs.Request, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var reqs []jobs.Request
	for rows.Next() {
		var (
			id    int64
			trace string
		)
		if err := rows.Scan(&id, &trace); err != nil {
			return nil, err
		}
		req := jobs.Request{Args: deliverArgs{MailID: id}, Opts: &jobs.Opts{Queue: queue}}
		if trace != "" {
			// A malformed trace only loses the link to the request's trace.
			_ = json.Unmarshal([]byte(trace), &req.Trace)
		}
		reqs = append(reqs, req)
	}
	return reqs, errors.Join(rows.Err(), rows.Close())
}

package db

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// A Batch holds writes a request defers so that they commit together with
// the request's own write, before its response is sent: one transaction
// instead of one per write. The App puts a Batch in every request's
// context; Mailer.Send adds the mail it stores to it. The first framework
// transaction that commits before the response — the SQL session store's
// save — runs the deferred writes inside itself (see RunBatch), and
// whatever is still pending when the response starts is committed by
// Flush in a transaction of its own. Either way the writes are committed
// before a byte of the response leaves; if they fail, the response is an
// error.
//
// A Batch is safe for concurrent use. Once flushed it is closed: later
// Defer calls return false and their callers write at once.
type Batch struct {
	db *DB

	mu     sync.Mutex
	ops    []deferred
	closed bool
}

// deferred is one write and what to do once it has committed.
type deferred struct {
	op        func(ctx context.Context, tx *sql.Tx) error
	committed func()
}

type batchKey struct{}

// WithBatch returns ctx carrying a new, empty Batch on d, and the Batch.
func (d *DB) WithBatch(ctx context.Context) (context.Context, *Batch) {
	b := &Batch{db: d}
	return context.WithValue(ctx, batchKey{}, b), b
}

// Defer adds op to the Batch ctx carries for d and reports whether it did;
// committed, when not nil, runs once the transaction op ran in has
// committed. It returns false when ctx has no Batch, a Batch of another
// database, or one already flushed; the caller then writes at once in its
// own transaction.
func Defer(ctx context.Context, d *DB, op func(ctx context.Context, tx *sql.Tx) error, committed func()) bool {
	b, _ := ctx.Value(batchKey{}).(*Batch)
	if b == nil || b.db != d {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.ops = append(b.ops, deferred{op: op, committed: committed})
	return true
}

// take removes and returns the pending writes.
func (b *Batch) take() []deferred {
	b.mu.Lock()
	defer b.mu.Unlock()
	ops := b.ops
	b.ops = nil
	return ops
}

// Pending reports how many deferred writes wait for a transaction.
func (b *Batch) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.ops)
}

// RunBatch runs the writes deferred in ctx's Batch for d inside tx, a
// transaction on d that the caller is about to commit before the response
// is sent. The writes are taken: they commit or roll back with tx. The
// caller calls the returned function once tx has committed (it runs the
// writes' committed callbacks). A caller whose tx then fails to commit
// must answer the request with an error (the SQL session store's failure
// does). Without a Batch for d it does nothing.
func RunBatch(ctx context.Context, d *DB, tx *sql.Tx) (committed func(), err error) {
	b, _ := ctx.Value(batchKey{}).(*Batch)
	if b == nil || b.db != d {
		return func() {}, nil
	}
	ops := b.take()
	if err := runOps(ctx, tx, ops); err != nil {
		return nil, err
	}
	return func() { afterCommit(ops) }, nil
}

// runOps runs ops in tx.
func runOps(ctx context.Context, tx *sql.Tx, ops []deferred) error {
	for _, o := range ops {
		if err := o.op(ctx, tx); err != nil {
			return fmt.Errorf("db: deferred write: %w", err)
		}
	}
	return nil
}

// afterCommit runs the committed callbacks of ops.
func afterCommit(ops []deferred) {
	for _, o := range ops {
		if o.committed != nil {
			o.committed()
		}
	}
}

// Flush commits the pending writes in one transaction and closes the
// Batch: later Defer calls return false. With nothing pending it opens no
// transaction. It may be called more than once; only the first call
// writes.
func (b *Batch) Flush(ctx context.Context) error {
	b.mu.Lock()
	ops := b.ops
	b.ops, b.closed = nil, true
	b.mu.Unlock()
	if len(ops) == 0 {
		return nil
	}
	tx, err := b.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: committing %d deferred writes: %w", len(ops), err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if err := runOps(ctx, tx, ops); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("db: committing %d deferred writes: %w", len(ops), err)
	}
	afterCommit(ops)
	return nil
}

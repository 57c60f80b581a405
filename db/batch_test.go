package db_test

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/trellis-go/trellis/db"
)

// batchTable creates a table the tests write to.
func batchTable(t *testing.T, d *db.DB) {
	t.Helper()
	if _, err := d.SQL.Exec(`CREATE TABLE batch_test (n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
}

func batchRows(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.SQL.QueryRow(`SELECT COUNT(*) FROM batch_test`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func insertOp(d *db.DB, n int) func(context.Context, *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO batch_test (n) VALUES (?)`), n)
		return err
	}
}

// TestBatchRunsInTheCallersTransaction: deferred writes join the
// transaction RunBatch is given, commit or roll back with it, and their
// callbacks run only after the commit.
func TestBatchRunsInTheCallersTransaction(t *testing.T) {
	openBoth(t, func(t *testing.T, d *db.DB) {
		batchTable(t, d)
		for _, commit := range []bool{true, false} {
			before := batchRows(t, d)
			ctx, b := d.WithBatch(context.Background())
			var called atomic.Int32
			for i := range 3 {
				if !db.Defer(ctx, d, insertOp(d, i), func() { called.Add(1) }) {
					t.Fatal("Defer refused a write with a batch in the context")
				}
			}
			if b.Pending() != 3 || batchRows(t, d) != before {
				t.Fatalf("pending %d, rows %d: deferred writes ran early", b.Pending(), batchRows(t, d))
			}
			tx, err := d.SQL.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			done, err := db.RunBatch(ctx, d, tx)
			if err != nil {
				t.Fatal(err)
			}
			if called.Load() != 0 {
				t.Fatal("committed callbacks ran before the commit")
			}
			if commit {
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				done()
				if batchRows(t, d) != 3 || called.Load() != 3 {
					t.Fatalf("after commit: %d rows, %d callbacks; want 3, 3", batchRows(t, d), called.Load())
				}
			} else {
				_ = tx.Rollback()
				if batchRows(t, d) != 3 { // the first round's rows only
					t.Fatalf("after rollback: %d rows, want 3", batchRows(t, d))
				}
			}
			if b.Pending() != 0 {
				t.Fatal("RunBatch left the writes pending: Flush would run them twice")
			}
			if err := b.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if db.Defer(ctx, d, insertOp(d, 9), nil) {
				t.Fatal("Defer accepted a write after Flush closed the batch")
			}
		}
	})
}

// TestBatchFlush: Flush commits what is pending in one transaction, then
// runs the callbacks; a failing write rolls back the others and runs no
// callback; without a batch (or with another database's) Defer refuses.
func TestBatchFlush(t *testing.T) {
	openBoth(t, func(t *testing.T, d *db.DB) {
		batchTable(t, d)
		if db.Defer(context.Background(), d, insertOp(d, 1), nil) {
			t.Fatal("Defer accepted a write with no batch in the context")
		}
		other := &db.DB{}
		ctx, b := other.WithBatch(context.Background())
		if db.Defer(ctx, d, insertOp(d, 1), nil) {
			t.Fatal("Defer accepted a write for a batch of another database")
		}
		_ = b

		ctx, b = d.WithBatch(context.Background())
		var called atomic.Int32
		db.Defer(ctx, d, insertOp(d, 1), func() { called.Add(1) })
		db.Defer(ctx, d, insertOp(d, 2), func() { called.Add(1) })
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if batchRows(t, d) != 2 || called.Load() != 2 {
			t.Fatalf("%d rows, %d callbacks; want 2, 2", batchRows(t, d), called.Load())
		}
		if err := b.Flush(ctx); err != nil || batchRows(t, d) != 2 {
			t.Fatalf("second Flush: %v, %d rows", err, batchRows(t, d))
		}

		ctx, b = d.WithBatch(context.Background())
		called.Store(0)
		boom := errors.New("boom")
		db.Defer(ctx, d, insertOp(d, 3), func() { called.Add(1) })
		db.Defer(ctx, d, func(context.Context, *sql.Tx) error { return boom }, func() { called.Add(1) })
		if err := b.Flush(ctx); !errors.Is(err, boom) {
			t.Fatalf("Flush = %v, want the write's error", err)
		}
		if batchRows(t, d) != 2 || called.Load() != 0 {
			t.Fatalf("after a failed flush: %d rows, %d callbacks; want 2, 0", batchRows(t, d), called.Load())
		}
	})
}

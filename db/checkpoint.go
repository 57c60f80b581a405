package db

import (
	"context"
	"database/sql"
	"sync/atomic"
	"time"
)

// walAutocheckpoint is wal_autocheckpoint on every SQLite connection: how
// many pages the write-ahead log may hold before the commit that passes it
// checkpoints, inside whatever request made that commit. SQLite's default
// is 1000 (4 MB), a checkpoint in some request every 1000 pages written.
// With the background checkpointer copying the log into the database as
// it grows, a commit rarely has to: this is only the bound the log keeps
// when writes are too steady for it to start over (about 40 MB).
const walAutocheckpoint = 10000

// Checkpointer pacing: it looks every checkpointMin while there is work,
// backing off to checkpointMax while the log stays copied.
const (
	checkpointMin = 50 * time.Millisecond
	checkpointMax = time.Second
)

// checkpointer copies a SQLite database's write-ahead log into the
// database file in the background, so that requests do not: a checkpoint
// copies every page written since the last one and syncs the file, a
// millisecond or more that SQLite otherwise spends inside the commit that
// passes wal_autocheckpoint.
type checkpointer struct {
	stop   context.CancelFunc
	done   chan struct{}
	last   int          // pages copied as of the last pass, in the current log
	copied atomic.Int64 // checkpoints that copied pages (for tests)
}

// startCheckpointer runs the checkpointer of d on a connection of its own
// until d is closed.
func (d *DB) startCheckpointer() error {
	pool, err := d.OpenSQLitePool(1)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{stop: stop, done: make(chan struct{})}
	d.ckpt = c
	go func() {
		defer close(c.done)
		defer pool.Close()
		wait := checkpointMin
		timer := time.NewTimer(wait)
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			if c.checkpoint(ctx, pool) {
				wait = checkpointMin
			} else {
				wait = min(2*wait, checkpointMax)
			}
			timer.Reset(wait)
		}
	}()
	return nil
}

// checkpointPasses is the most passes one checkpoint makes. Under steady
// writes there is always more to copy; while a pass runs, a commit past
// wal_autocheckpoint cannot checkpoint (and restart the log), so the
// checkpointer yields between rounds.
const checkpointPasses = 4

// checkpoint copies the log into the database in PASSIVE passes, which
// never wait for or block readers and writers, until a pass finds it all
// copied (at most checkpointPasses). It reports whether a pass copied
// anything.
func (c *checkpointer) checkpoint(ctx context.Context, pool *sql.DB) (copied bool) {
	for range checkpointPasses {
		var busy, pages, done int
		if err := pool.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &pages, &done); err != nil {
			return copied // closed, or the disk failed: commits checkpoint as SQLite would
		}
		if done != c.last {
			c.last = done
			if !copied {
				copied = true
				c.copied.Add(1)
			}
		}
		if pages == done || pages >= walAutocheckpoint {
			// Copied; or the log is past the bound, and the next commit
			// checkpoints and restarts it unless a pass holds the lock.
			return copied
		}
	}
	return copied
}

// close stops the checkpointer and waits for it.
func (c *checkpointer) close() {
	c.stop()
	<-c.done
}

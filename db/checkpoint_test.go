package db

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis/config"
)

// TestCheckpointsInTheBackground: pages written in a burst are copied into
// the database by the checkpointer, not by a commit (wal_autocheckpoint is
// far above the burst), and under steady writes the log stays within
// wal_autocheckpoint.
func TestCheckpointsInTheBackground(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, config.Default(config.Test).Database, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var auto int
	if err := d.SQL.QueryRow("PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != walAutocheckpoint {
		t.Fatalf("wal_autocheckpoint = %d (%v), want %d", auto, err, walAutocheckpoint)
	}
	if _, err := d.SQL.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	row := strings.Repeat("x", 3000) // about a page a commit
	write := func(n int) {
		for range n {
			if _, err := d.SQL.Exec(`INSERT INTO t (v) VALUES (?)`, row); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := d.ckpt.copied.Load()
	write(500)
	deadline := time.Now().Add(5 * time.Second)
	for d.ckpt.copied.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("500 commits later the checkpointer has copied nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Steady writes: the log starts over at least every walAutocheckpoint
	// pages (a commit past it may find the checkpointer busy and leave the
	// next commit to try), so its file, which keeps its largest size,
	// stays near it.
	write(walAutocheckpoint + 6000)
	st, err := os.Stat(d.Path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if limit := int64(walAutocheckpoint+4000) * (4096 + 24); st.Size() > limit {
		t.Errorf("the log grew to %d MB under steady writes, past wal_autocheckpoint (%d MB)", st.Size()>>20, limit>>20)
	}
}

// TestCheckpointerStopsOnClose: Close stops the goroutine, which then
// copies nothing more, and a second Close is harmless.
func TestCheckpointerStopsOnClose(t *testing.T) {
	d, err := Open(context.Background(), config.Default(config.Test).Database, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.ckpt.done:
	default:
		t.Fatal("the checkpointer still runs after Close")
	}
	_ = d.Close()
}

package mail

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/internal/testservices"
	"github.com/trellis-go/trellis/jobs"
)

// relayMailers builds n mailers (as n processes would) sharing one
// migrated database of dialect; their jobs never run.
func relayMailers(t *testing.T, dialect string, n int) []*Mailer {
	t.Helper()
	ctx := context.Background()
	cfg := config.Default(config.Test)
	if dialect == "postgres" {
		cfg.Database.URL = testservices.PostgresURL(t)
	}
	dir := t.TempDir()
	var out []*Mailer
	for i := range n {
		d, err := db.Open(ctx, cfg.Database, dir)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if _, err := d.Migrate(ctx, nil, db.Framework()); err != nil {
				t.Fatal(err)
			}
		}
		e, err := jobs.New(cfg.Jobs, d, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := e.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
		}
		m, err := New(Options{DB: d, Jobs: e, From: "shop@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Stop(context.Background()); _ = e.Stop(context.Background()); _ = d.Close() })
		out = append(out, m)
	}
	return out
}

// mailJobs returns the mail ids of the delivery jobs, in job order.
func mailJobs(t *testing.T, d *db.DB) []int64 {
	t.Helper()
	q := `SELECT CAST(json_extract(args, '$.mail_id') AS INTEGER) FROM river_job WHERE kind = ? ORDER BY id`
	if d.Dialect == db.Postgres {
		q = `SELECT (args->>'mail_id')::bigint FROM river_job WHERE kind = ? ORDER BY id`
	}
	rows, err := d.SQL.Query(d.Rebind(q), JobKind)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// waiting counts stored mail without a delivery job.
func waiting(t *testing.T, m *Mailer) int {
	t.Helper()
	q := `SELECT COUNT(*) FROM trellis_mail_queue WHERE enqueued = 0`
	if m.db.Dialect == db.Postgres {
		q = `SELECT COUNT(*) FROM trellis_mail_queue WHERE NOT enqueued`
	}
	var n int
	if err := m.db.SQL.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func eachRelayDialect(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) { fn(t, dialect) })
	}
}

// TestRelayEnqueuesEachStoredMailOnce: Send only stores the mail; the
// relay gives every stored mail exactly one delivery job, in batches,
// and a second pass finds nothing to do. SendTx enqueues itself.
func TestRelayEnqueuesEachStoredMailOnce(t *testing.T) {
	eachRelayDialect(t, func(t *testing.T, dialect string) {
		m := relayMailers(t, dialect, 1)[0]
		m.relay.every = time.Hour // the pass at start drains every batch
		ctx := context.Background()
		const total = relayBatch*2 + 7
		for i := range total {
			if err := m.Send(ctx, Message{To: []string{"a@example.com"}, Subject: "n" + strconv.Itoa(i), Text: text("x")}); err != nil {
				t.Fatal(err)
			}
		}
		if got := mailJobs(t, m.db); len(got) != 0 || waiting(t, m) != total {
			t.Fatalf("after Send: %d jobs, %d mails waiting; want 0, %d", len(got), waiting(t, m), total)
		}
		if n, err := m.relayOnce(ctx); err != nil || n != relayBatch {
			t.Fatalf("relayOnce = %d, %v; want a full batch of %d", n, err, relayBatch)
		}
		// As after a restart: the mail was stored, nobody woke the relay.
		select {
		case <-m.relay.wake:
		default:
		}
		if err := m.Start(ctx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for waiting(t, m) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if err := m.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := m.relayOnce(ctx); err != nil || n != 0 {
			t.Fatalf("a pass after everything was enqueued: %d, %v", n, err)
		}
		ids := mailJobs(t, m.db)
		seen := map[int64]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("mail %d has two delivery jobs", id)
			}
			seen[id] = true
		}
		if len(ids) != total {
			t.Fatalf("%d delivery jobs for %d mails", len(ids), total)
		}

		// SendTx: stored and enqueued in the caller's transaction.
		tx, err := m.db.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SendTx(ctx, tx, Message{To: []string{"a@example.com"}, Subject: "tx", Text: text("x")}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if got := len(mailJobs(t, m.db)); got != total+1 || waiting(t, m) != 0 {
			t.Fatalf("after SendTx: %d jobs, %d waiting; want %d, 0", got, waiting(t, m), total+1)
		}
		if n, err := m.relayOnce(ctx); err != nil || n != 0 || len(mailJobs(t, m.db)) != total+1 {
			t.Fatalf("a pass after SendTx enqueued %d (%v): its mail has its job", n, err)
		}
	})
}

// TestRelayFindsMailStoredLater: a relay that has found nothing to do
// still finds the next mail another process stores, and the one after.
func TestRelayFindsMailStoredLater(t *testing.T) {
	eachRelayDialect(t, func(t *testing.T, dialect string) {
		ms := relayMailers(t, dialect, 2)
		ctx := context.Background()
		send := func(m *Mailer, subject string) {
			if err := m.Send(ctx, Message{To: []string{"a@example.com"}, Subject: subject, Text: text("x")}); err != nil {
				t.Fatal(err)
			}
		}
		send(ms[0], "first")
		for i, want := range []int{1, 0, 0} {
			if n, err := ms[0].relayOnce(ctx); err != nil || n != want {
				t.Fatalf("pass %d: %d, %v; want %d", i, n, err, want)
			}
		}
		if dialect == "sqlite" && ms[0].relay.seen.Load() == 0 {
			t.Fatal("after passes with nothing new the relay reads the whole queue again")
		}
		for i := range 3 {
			send(ms[1], "later "+strconv.Itoa(i))
			if n, err := ms[0].relayOnce(ctx); err != nil || n != 1 {
				t.Fatalf("mail %d stored by another process: the relay enqueued %d (%v)", i, n, err)
			}
			if n, err := ms[0].relayOnce(ctx); err != nil || n != 0 {
				t.Fatalf("a pass after: %d, %v", n, err)
			}
		}
		if got := len(mailJobs(t, ms[0].db)); got != 4 {
			t.Fatalf("%d delivery jobs for 4 mails", got)
		}
	})
}

// TestRelayWakesOnSend: with the relay running, a mail Send stores is
// enqueued at once, not at the next periodic pass.
func TestRelayWakesOnSend(t *testing.T) {
	eachRelayDialect(t, func(t *testing.T, dialect string) {
		m := relayMailers(t, dialect, 1)[0]
		m.relay.every = time.Hour
		ctx := context.Background()
		if err := m.Start(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // past the pass at start
		if err := m.Send(ctx, Message{To: []string{"a@example.com"}, Subject: "now", Text: text("x")}); err != nil {
			t.Fatal(err)
		}
		wait := func(n int, how string) {
			deadline := time.Now().Add(10 * time.Second)
			for len(mailJobs(t, m.db)) < n {
				if time.Now().After(deadline) {
					t.Fatalf("the relay did not enqueue a mail %s; it waits for its hourly pass", how)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		wait(1, "Send stored")
		// In a request: the mail commits with the request's batch, and the
		// relay is woken once that has committed.
		bctx, b := m.db.WithBatch(ctx)
		if err := m.Send(bctx, Message{To: []string{"a@example.com"}, Subject: "batched", Text: text("x")}); err != nil {
			t.Fatal(err)
		}
		if b.Pending() != 1 {
			t.Fatalf("Send in a request left %d writes in its batch, want 1", b.Pending())
		}
		if err := b.Flush(bctx); err != nil {
			t.Fatal(err)
		}
		wait(2, "a request stored")
	})
}

// TestConcurrentRelays: relays of several processes on one database never
// give a mail two delivery jobs.
func TestConcurrentRelays(t *testing.T) {
	eachRelayDialect(t, func(t *testing.T, dialect string) {
		ms := relayMailers(t, dialect, 3)
		ctx := context.Background()
		const total = 500
		for i := range total {
			if err := ms[i%3].Send(ctx, Message{To: []string{"a@example.com"}, Subject: "n" + strconv.Itoa(i), Text: text("x")}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for _, m := range ms {
			wg.Go(func() {
				for {
					n, err := m.relayOnce(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					if n == 0 {
						return
					}
				}
			})
		}
		wg.Wait()
		ids := mailJobs(t, ms[0].db)
		seen := map[int64]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("mail %d has two delivery jobs", id)
			}
			seen[id] = true
		}
		if len(ids) != total || waiting(t, ms[0]) != 0 {
			t.Fatalf("%d delivery jobs, %d mails waiting; want %d, 0", len(ids), waiting(t, ms[0]), total)
		}
	})
}

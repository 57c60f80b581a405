package trellis_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/internal/smtptest"
	"github.com/trellis-go/trellis/mail"
	"github.com/trellis-go/trellis/trellistest"
)

// TestMailSurvivesRestart: mail sent while no worker runs, or while the
// SMTP server is unreachable, is still in the database when the app stops;
// a new app on the same database delivers every one exactly once, and a
// mail whose transaction rolled back never.
func TestMailSurvivesRestart(t *testing.T) {
	eachJobsDialect(t, func(t *testing.T, dialect string) {
		srv := smtptest.Start(t, smtptest.Options{})
		cfg := shutdownConfig(t, dialect, 5*time.Second)
		cfg.Jobs.RetryBase, cfg.Jobs.RetryMax, cfg.Jobs.MaxRetries = 20*time.Millisecond, 100*time.Millisecond, 50
		// The first app's SMTP server is down: a port nothing listens on.
		cfg.Mail.SMTPURL = "smtp://" + trellistest.FreeAddr(t) + "?tls=none"
		ctx := context.Background()
		build := func(cfg *config.Config) *trellis.App {
			app, err := trellis.New(ctx, cfg, trellis.WithLogOutput(io.Discard))
			if err != nil {
				t.Fatal(err)
			}
			return app
		}
		send := func(app *trellis.App, subject string) {
			if err := app.Mail.Send(ctx, mail.Message{To: []string{"queue@example.com"}, Subject: subject, Text: textPart("body of " + subject)}); err != nil {
				t.Fatal(err)
			}
		}

		// Sent before the workers start, then the app is closed.
		first := build(cfg)
		for i := range 5 {
			send(first, fmt.Sprintf("idle %d", i))
		}
		tx, err := first.DB.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := first.Mail.SendTx(ctx, tx, mail.Message{To: []string{"queue@example.com"}, Subject: "rolled back", Text: textPart("never")}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if err := first.Close(ctx); err != nil {
			t.Fatal(err)
		}

		// Sent while workers run but the server is unreachable: attempts
		// fail and are retried until the app stops.
		second := build(cfg)
		if err := second.Start(ctx); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			send(second, fmt.Sprintf("unreachable %d", i))
		}
		time.Sleep(300 * time.Millisecond)
		if err := second.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if n := srv.Seen(); n != 0 {
			t.Fatalf("%d mails reached a server no app pointed at", n)
		}

		// A new app with a reachable server delivers everything.
		cfg3 := *cfg
		cfg3.Mail.SMTPURL = "smtp://" + srv.Addr + "?tls=none"
		third := build(&cfg3)
		t.Cleanup(func() { _ = third.Close(ctx) })
		if err := third.Start(ctx); err != nil {
			t.Fatal(err)
		}
		srv.WaitFor(t, 10, 20*time.Second)
		time.Sleep(300 * time.Millisecond) // a duplicate would show by now
		var subjects []string
		for _, m := range srv.Messages() {
			_, rest, _ := strings.Cut(string(m.Data), "Subject: ")
			subject, _, _ := strings.Cut(rest, "\r\n")
			subjects = append(subjects, subject)
		}
		slices.Sort(subjects)
		want := []string{"idle 0", "idle 1", "idle 2", "idle 3", "idle 4", "unreachable 0", "unreachable 1", "unreachable 2", "unreachable 3", "unreachable 4"}
		if !slices.Equal(subjects, want) {
			t.Errorf("delivered %q\nwant      %q", subjects, want)
		}
	})
}

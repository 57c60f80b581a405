package trellis_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/internal/smtptest"
	"github.com/trellis-go/trellis/mail"
	"github.com/trellis-go/trellis/trellistest"
)

// TestMailKillWorker is the app process TestMailSurvivesKill starts and
// kills; it skips unless run as that process.
func TestMailKillWorker(t *testing.T) {
	if os.Getenv("TRELLIS_TEST_MAIL_WORKER") != "1" {
		t.Skip("the worker process of TestMailSurvivesKill")
	}
	os.Exit(runMailWorker())
}

// killConfig is the configuration of both the killed app and its successor.
func killConfig(dataDir string) *config.Config {
	cfg := config.Default(config.Test)
	cfg.App.DataDir = dataDir
	cfg.Database.URL = os.Getenv("TRELLIS_TEST_MAIL_DB")
	cfg.Mail.SMTPURL = os.Getenv("TRELLIS_TEST_MAIL_SMTP")
	cfg.Jobs.Timeout = 2 * time.Second // rescue after 4s
	cfg.Jobs.PollInterval, cfg.Jobs.FetchCooldown = 100*time.Millisecond, 10*time.Millisecond
	cfg.Logging.Level = "error"
	return cfg
}

// runMailWorker runs the app's workers until killed.
func runMailWorker() int {
	app, err := trellis.New(context.Background(), killConfig(os.Getenv("TRELLIS_TEST_MAIL_DATA")), trellis.WithLogOutput(io.Discard))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := app.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	select {} // until killed
}

// TestMailSurvivesKill kills (SIGKILL) an app process while it delivers
// queued mail to a slow SMTP server, starts another on the same database,
// and checks every mail arrives (at least once: a mail the server had
// accepted just before the kill may arrive twice).
func TestMailSurvivesKill(t *testing.T) {
	eachJobsDialect(t, func(t *testing.T, dialect string) {
		srv := smtptest.Start(t, smtptest.Options{Delay: 100 * time.Millisecond})
		dsn := "sqlite:" + filepath.Join(t.TempDir(), "mail.db")
		if dialect == "postgres" {
			dsn = trellistest.PostgresURL(t)
		}
		data := t.TempDir()
		t.Setenv("TRELLIS_TEST_MAIL_DB", dsn)
		t.Setenv("TRELLIS_TEST_MAIL_SMTP", "smtp://"+srv.Addr+"?tls=none")
		t.Setenv("TRELLIS_TEST_MAIL_DATA", data)
		ctx := context.Background()

		// Queue the mail with an app whose workers never start.
		const total = 60
		sender, err := trellis.New(ctx, killConfig(data), trellis.WithLogOutput(io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		for i := range total {
			if err := sender.Mail.Send(ctx, mail.Message{To: []string{"kill@example.com"}, Subject: fmt.Sprintf("mail %d", i), Text: mail.PlainText("x")}); err != nil {
				t.Fatal(err)
			}
		}
		if err := sender.Close(ctx); err != nil {
			t.Fatal(err)
		}

		worker := exec.Command(os.Args[0], "-test.run=^TestMailKillWorker$")
		worker.Env = append(os.Environ(), "TRELLIS_TEST_MAIL_WORKER=1")
		worker.Stderr = os.Stderr
		if err := worker.Start(); err != nil {
			t.Fatal(err)
		}
		srv.WaitFor(t, 5, 30*time.Second)
		_ = worker.Process.Signal(syscall.SIGKILL)
		_ = worker.Wait()
		before := len(srv.Messages())
		if before >= total {
			t.Fatalf("the worker delivered all %d mails before the kill; nothing was tested", before)
		}

		after, err := trellis.New(ctx, killConfig(data), trellis.WithLogOutput(io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = after.Close(ctx) })
		if err := after.Start(ctx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			seen := map[string]int{}
			for _, m := range srv.Messages() {
				_, rest, _ := strings.Cut(string(m.Data), "Subject: ")
				subject, _, _ := strings.Cut(rest, "\r\n")
				seen[subject]++
			}
			if len(seen) == total {
				t.Logf("killed after %d deliveries; all %d mails arrived, %d twice", before, total, len(srv.Messages())-total)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d mails arrived after the restart: mail was lost", len(seen), total)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

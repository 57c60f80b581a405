package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/internal/smtptest"
	"github.com/trellis-go/trellis/mail"
	"github.com/trellis-go/trellis/trellistest"
	gomail "github.com/wneessen/go-mail"
)

// mailBody is a typical transactional mail: a greeting and a link.
func mailBody(n int) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := fmt.Fprintf(w, `<p>Hello,</p><p>Reset your password: <a href="https://app.example.com/password/reset/%d">reset</a></p><p>The team</p>`, n)
		return err
	})
}

// mailCount is how many mails the throughput report sends.
func mailCount() int {
	if n, err := strconv.Atoi(os.Getenv("TRELLIS_BENCH_MAILS")); err == nil && n > 0 {
		return n
	}
	return 1000
}

// mailReps is how many repetitions the request report runs per backend
// and mode (TRELLIS_BENCH_REPS, default 3).
func mailReps() int {
	if n, err := strconv.Atoi(os.Getenv("TRELLIS_BENCH_REPS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// mailPairs is how many pairs of requests a repetition times
// (TRELLIS_BENCH_PAIRS, default 10000: the p99 is then the 100th slowest;
// with 2000, repeated runs of the same code gave SQLite p99 ratios from
// 1.0 to 2.1).
func mailPairs() int {
	if n, err := strconv.Atoi(os.Getenv("TRELLIS_BENCH_PAIRS")); err == nil && n > 0 {
		return n
	}
	return 10000
}

// TestReportMailRequest compares a request that sends a mail with the
// same request without the mail, in one run, per backend, for two
// requests: "session", which only saves its session (the worst case: the
// mail's insert is most of what it does), and "form", a typical form
// POST that inserts a row, saves its session and renders a page. Each
// runs in two modes: with the delivery workers stopped (the request's own
// cost) and with them delivering into the outbox as the requests run
// (delivery competes with the requests for the database and the CPU; its
// own cost is the throughput report's). Each repetition is a fresh app
// and 10000 pairs of requests in ABBA order, so whatever a mail's delivery
// costs lands as often after a request with mail as after one without. It
// prints each repetition's percentiles and ratios, and the median and
// range of the ratios.
func TestReportMailRequest(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	pairs, reps := mailPairs(), mailReps()
	fmt.Printf("POST that sends a mail vs the same POST without (loopback, sequential, ABBA-interleaved, %d pairs a repetition):\n", pairs)
	for _, dialect := range drainDialects() {
		for _, kind := range []string{"session", "form"} {
			for _, delivering := range []bool{false, true} {
				mode := kind + ", workers stopped"
				if delivering {
					mode = kind + ", delivering"
				}
				var r50, r99 []float64
				for rep := range reps {
					without, with := mailRequestRun(t, dialect, kind, delivering, pairs)
					p50a, p99a := quantile(without, 0.5), quantile(without, 0.99)
					p50b, p99b := quantile(with, 0.5), quantile(with, 0.99)
					r50 = append(r50, float64(p50b)/float64(p50a))
					r99 = append(r99, float64(p99b)/float64(p99a))
					fmt.Printf("  %-8s %-26s #%d  without p50 %v  p99 %v   with p50 %v  p99 %v   ratio p50 %.2fx  p99 %.2fx\n",
						dialect, mode, rep+1, p50a.Round(time.Microsecond), p99a.Round(time.Microsecond),
						p50b.Round(time.Microsecond), p99b.Round(time.Microsecond), r50[rep], r99[rep])
				}
				slices.Sort(r50)
				slices.Sort(r99)
				fmt.Printf("  %-8s %-26s ratio over %d runs: p50 median %.2fx (%.2f–%.2f)  p99 median %.2fx (%.2f–%.2f)\n",
					dialect, mode, reps, r50[len(r50)/2], r50[0], r50[len(r50)-1], r99[len(r99)/2], r99[0], r99[len(r99)-1])
			}
		}
	}
}

// mailRequestRun builds an app on dialect, starts its delivery workers
// when delivering, and times pairs of the POST of kind ("session" or
// "form") without and with a mail.
func mailRequestRun(t *testing.T, dialect, kind string, delivering bool, pairs int) (without, with []time.Duration) {
	t.Helper()
	app := sessionApp(t, dialect)
	defer app.Close(context.Background())
	table := `CREATE TABLE bench_signups (id INTEGER PRIMARY KEY, email TEXT NOT NULL, created_at BIGINT NOT NULL)`
	if dialect == "postgres" {
		table = `CREATE TABLE bench_signups (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL, created_at BIGINT NOT NULL)`
	}
	if _, err := app.DB.SQL.Exec(table); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	want := http.StatusNoContent
	if kind == "form" {
		want = http.StatusOK
	}
	app.Post("/signup", func(w http.ResponseWriter, r *http.Request) {
		// Both requests write (the session, saved to the database), as
		// one that sends mail usually does.
		i := int(n.Add(1))
		email := "user" + strconv.Itoa(i) + "@example.com"
		app.Sessions.Put(r.Context(), "k", strconv.Itoa(i))
		if kind == "form" {
			if _, err := app.DB.SQL.ExecContext(r.Context(), app.DB.Rebind(`INSERT INTO bench_signups (email, created_at) VALUES (?, ?)`), email, time.Now().UnixMicro()); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		if r.URL.Query().Get("mail") == "1" {
			if err := app.Mail.Send(r.Context(), mail.Message{To: []string{email}, Subject: "Welcome", HTML: mailBody(i)}); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		if kind == "form" {
			app.Render.Page(w, r, "Welcome", page())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	cookie, token := establish(t, app)
	if delivering {
		if err := app.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	base := listen(t, app)
	client := &http.Client{}
	defer client.CloseIdleConnections()
	do := func(path string) time.Duration {
		req, _ := http.NewRequest("POST", base+path, nil)
		req.AddCookie(cookie)
		req.Header.Set("X-CSRF-Token", token)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		return time.Since(start)
	}
	for range 50 { // warm up
		do("signup")
		do("signup?mail=1")
	}
	for i := range pairs {
		if i%2 == 0 {
			without = append(without, do("signup"))
			with = append(with, do("signup?mail=1"))
		} else {
			with = append(with, do("signup?mail=1"))
			without = append(without, do("signup"))
		}
	}
	// With the workers stopped every mail is still queued: count them.
	var queued int
	if err := app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM trellis_mail_queue`).Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if want := 50 + pairs; !delivering && queued != want {
		t.Fatalf("%d mails queued, want %d", queued, want)
	}
	return without, with
}

// quantile returns the q-quantile of d (nearest rank; d is not changed).
func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

// TestReportMailThroughput measures mails per second delivered to a local
// SMTP server by the delivery jobs (and, apart, Send's own rate), against raw
// go-mail send loops without a queue: one connection per mail (what a
// delivery job does) and one connection for every mail.
func TestReportMailThroughput(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	n := mailCount()
	fmt.Printf("mail throughput to an in-process SMTP server on loopback, %d mails:\n", n)

	msg := func(i int) *gomail.Msg {
		m := gomail.NewMsg()
		_ = m.From("Shop <shop@example.com>")
		_ = m.To("user@example.com")
		m.Subject("Welcome " + strconv.Itoa(i))
		m.SetBodyString(gomail.TypeTextPlain, "Hello")
		return m
	}
	srv := smtptest.Start(t, smtptest.Options{})
	port, _ := strconv.Atoi(srv.Port())
	client := func() *gomail.Client {
		c, err := gomail.NewClient("127.0.0.1", gomail.WithPort(port), gomail.WithTLSPolicy(gomail.NoTLS))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	start := time.Now()
	for i := range n {
		if err := client().DialAndSend(msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	perConn := float64(n) / time.Since(start).Seconds()
	srv.WaitFor(t, n, time.Minute)

	srv = smtptest.Start(t, smtptest.Options{})
	port, _ = strconv.Atoi(srv.Port())
	msgs := make([]*gomail.Msg, n)
	for i := range msgs {
		msgs[i] = msg(i)
	}
	start = time.Now()
	if err := client().DialAndSend(msgs...); err != nil {
		t.Fatal(err)
	}
	oneConn := float64(n) / time.Since(start).Seconds()
	srv.WaitFor(t, n, time.Minute)
	fmt.Printf("  raw go-mail, a connection per mail (sequential)  %8.0f mails/s\n", perConn)
	fmt.Printf("  raw go-mail, one connection for all              %8.0f mails/s\n", oneConn)

	// Delivery is bounded by the workers' fetches (at most a batch of
	// free workers every jobs.fetch_cooldown), so it is timed with the
	// default queue alone and with a mail queue of its own.
	for _, dialect := range drainDialects() {
		for _, queues := range [][]string{{"default:10"}, {"default:10", "mail:50"}} {
			mailThroughputRun(t, dialect, queues, n, perConn)
		}
	}
}

// mailThroughputRun times the delivery of n mails stored before the
// workers start, with jobs.queues set to queues.
func mailThroughputRun(t *testing.T, dialect string, queues []string, n int, perConn float64) {
	t.Helper()
	srv := smtptest.Start(t, smtptest.Options{})
	cfg := trellistest.Config(t)
	if dialect == "postgres" {
		cfg.Database.URL = trellistest.PostgresURL(t)
	}
	cfg.Jobs.Queues = queues
	cfg.Mail.SMTPURL = "smtp://" + srv.Addr + "?tls=none"
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Enqueue everything first (workers stopped), then time delivery
	// alone: the queue's own cost, apart from the requests'.
	start := time.Now()
	for i := range n {
		if err := app.Mail.Send(ctx, mail.Message{To: []string{"user@example.com"}, Subject: "Welcome " + strconv.Itoa(i), HTML: mailBody(i)}); err != nil {
			t.Fatal(err)
		}
	}
	enqueue := float64(n) / time.Since(start).Seconds()
	start = time.Now()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv.WaitFor(t, n, 5*time.Minute)
	rate := float64(n) / time.Since(start).Seconds()
	fmt.Printf("  Trellis %-8s job delivery (queues %-20s) %6.0f mails/s   vs per-connection loop %.2fx   (Send alone: %.0f mails/s)\n",
		dialect, strings.Join(queues, ","), rate, rate/perConn, enqueue)
	_ = app.Close(ctx)
}

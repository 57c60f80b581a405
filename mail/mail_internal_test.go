package mail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/internal/smtptest"
	"github.com/trellis-go/trellis/jobs"
)

// newMailer builds a mailer on a migrated SQLite database; its jobs never
// run, so tests drive delivery themselves.
func newMailer(t *testing.T, o Options) *Mailer {
	t.Helper()
	ctx := context.Background()
	cfg := config.Default(config.Test)
	d, err := db.Open(ctx, cfg.Database, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Migrate(ctx, nil, db.Framework()); err != nil {
		t.Fatal(err)
	}
	e, err := jobs.New(cfg.Jobs, d, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop(context.Background()); _ = d.Close() })
	o.DB, o.Jobs = d, e
	if o.From == "" {
		o.From = "Shop <shop@example.com>"
	}
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func text(s string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error { _, err := io.WriteString(w, s); return err })
}

func TestValidate(t *testing.T) {
	m := newMailer(t, Options{})
	ok := Message{To: []string{"a@example.com"}, Subject: "Hi", Text: text("hello")}
	cases := map[string]func(*Message){
		"no To":              func(m *Message) { m.To = nil },
		"bad To":             func(m *Message) { m.To = []string{"not an address"} },
		"bad Cc":             func(m *Message) { m.Cc = []string{"x@"} },
		"bad Bcc":            func(m *Message) { m.Bcc = []string{"a@example.com\r\nBcc: b@example.com"} },
		"bad Reply-To":       func(m *Message) { m.ReplyTo = "nope" },
		"no subject":         func(m *Message) { m.Subject = " " },
		"subject injection":  func(m *Message) { m.Subject = "Hi\r\nBcc: evil@example.com" },
		"no part":            func(m *Message) { m.Text = nil },
		"owned header":       func(m *Message) { m.Headers = map[string]string{"from": "evil@example.com"} },
		"header injection":   func(m *Message) { m.Headers = map[string]string{"X-A": "1\r\nBcc: evil@example.com"} },
		"header name":        func(m *Message) { m.Headers = map[string]string{"X A": "1"} },
		"attachment name":    func(m *Message) { m.Attachments = []Attachment{{Name: "../x\r\n", Data: []byte("x")}} },
		"attachment type":    func(m *Message) { m.Attachments = []Attachment{{Name: "a.txt", ContentType: "text/plain\r\nX: y"}} },
		"very long subject":  func(m *Message) { m.Subject = strings.Repeat("x", maxSubject+1) },
		"empty header value": func(m *Message) { m.Headers = map[string]string{"": "x"} },
	}
	for name, mutate := range cases {
		msg := ok
		mutate(&msg)
		if err := m.Send(context.Background(), msg); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
	if err := m.Send(context.Background(), ok); err != nil {
		t.Fatalf("a valid message: %v", err)
	}
}

// stored stores msg as Send does and loads it as its delivery job does:
// built from the stored parts, identically (Message-ID, Date) each time.
func stored(t *testing.T, m *Mailer, msg Message) (*Mail, error) {
	t.Helper()
	ctx := context.Background()
	c, err := m.compose(ctx, msg)
	if err != nil {
		return nil, err
	}
	tx, _ := m.db.SQL.BeginTx(ctx, nil)
	id, err := insertQueued(ctx, m.db, tx, c, true, "")
	if err != nil || tx.Commit() != nil {
		t.Fatal(err)
	}
	var raw []byte
	if err := m.db.SQL.QueryRow(`SELECT raw FROM trellis_mail_queue WHERE id = ?`, id).Scan(&raw); err != nil || len(raw) != 0 {
		t.Fatalf("Send stored %d raw bytes (%v); the job builds them", len(raw), err)
	}
	first, err := queued(ctx, m.db, id)
	if err != nil {
		t.Fatal(err)
	}
	again, err := queued(ctx, m.db, id)
	if err != nil {
		t.Fatal(err)
	}
	header := func(raw []byte, name string) string {
		_, v, _ := strings.Cut("\n"+string(raw), "\n"+name+": ")
		v, _, _ = strings.Cut(v, "\r\n")
		return v
	}
	for _, h := range []string{"Message-ID", "Date"} {
		if a, b := header(first.Raw, h), header(again.Raw, h); a == "" || a != b {
			t.Errorf("%s differs between two builds (retries): %q, %q", h, a, b)
		}
	}
	return first, nil
}

func TestRenderParts(t *testing.T) {
	m := newMailer(t, Options{BaseURL: "https://shop.example.com/"})
	r, err := stored(t, m, Message{
		To: []string{"Ann <ann@example.com>"}, Cc: []string{"cc@example.com"}, Bcc: []string{"hidden@example.com", "ANN@example.com"},
		ReplyTo: "Help <help@example.com>", Subject: "Your order ✓",
		HTML:        text(`<html><head><title>t</title><style>p{}</style></head><body><p>Thanks!</p><p><a href="` + m.URL("orders/7") + `">See order</a></p></body></html>`),
		Headers:     map[string]string{"List-Unsubscribe": "<https://shop.example.com/unsub>"},
		Attachments: []Attachment{{Name: "invoice.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 fake")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw := string(r.Raw)
	for _, want := range []string{`From: "Shop" <shop@example.com>`, `To: "Ann" <ann@example.com>`, "Cc: <cc@example.com>", `Reply-To: "Help" <help@example.com>`,
		"List-Unsubscribe: <https://shop.example.com/unsub>", "Message-ID: <", "@example.com>", "Date: ", "multipart/mixed", "multipart/alternative",
		"text/plain", "text/html", `filename="invoice.pdf"`, "application/pdf", "Subject: =?UTF-8?"} {
		if !strings.Contains(raw, want) {
			t.Errorf("raw lacks %q", want)
		}
	}
	if strings.Contains(raw, "hidden@example.com") || strings.Contains(strings.ToLower(raw), "\nbcc:") {
		t.Error("the Bcc recipient shows in the message")
	}
	if got := strings.Join(r.Recipients, ","); got != "ann@example.com,cc@example.com,hidden@example.com" {
		t.Errorf("envelope recipients %s", got)
	}
	if r.Text != "Thanks!\nSee order (https://shop.example.com/orders/7)\n" {
		t.Errorf("derived text %q", r.Text)
	}

	only, err := stored(t, m, Message{To: []string{"a@example.com"}, Subject: "Plain", Text: text("just text")})
	if err != nil {
		t.Fatal(err)
	}
	if only.HTML != "" || strings.Contains(string(only.Raw), "multipart") || strings.Contains(string(only.Raw), "text/html") {
		t.Errorf("a text-only mail has an HTML part:\n%s", only.Raw)
	}
}

func TestHTMLToText(t *testing.T) {
	cases := map[string]string{
		`<p>Hello   <b>Ann</b>,</p><p>Click <a href="https://x.example/r?t=1&amp;u=2">here</a>.</p>`: "Hello Ann,\nClick here (https://x.example/r?t=1&u=2).\n",
		`<script>alert(1)</script><div>a<br>b</div>`:                                                 "a\nb\n",
		`<a href="#top">top</a><ul><li>one</li><li>two</li></ul>`:                                    "top\none\ntwo\n",
		``: "\n",
	}
	for in, want := range cases {
		if got := HTMLToText(in); got != want {
			t.Errorf("HTMLToText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRawIsWhatGoesOverSMTP: the stored source is byte for byte what the
// SMTP server receives.
func TestRawIsWhatGoesOverSMTP(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	m := newMailer(t, Options{SMTPURL: "smtp://" + srv.Addr + "?tls=none"})
	r, err := m.render(context.Background(), Message{To: []string{"a@example.com"}, Bcc: []string{"b@example.com"}, Subject: "Bytes",
		HTML: text("<p>line one</p>\n.\n<p>" + strings.Repeat("long line ", 200) + "</p>")})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.smtp.send(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, 1, 5*time.Second)[0]
	if !bytes.Equal(bytes.TrimRight(got.Data, "\r\n"), bytes.TrimRight(r.Raw, "\r\n")) {
		t.Errorf("the server received other bytes than the stored source:\n%q\n%q", got.Data, r.Raw)
	}
	if strings.Join(got.To, ",") != "a@example.com,b@example.com" || got.From != "shop@example.com" {
		t.Errorf("envelope: %s -> %v", got.From, got.To)
	}
	if m.Outbox() != nil {
		t.Error("an SMTP mailer has an outbox")
	}
}

// TestMailStoredBeforeParts: a mail stored with its raw bytes (before
// migration 00009) is delivered as it is; a mail whose stored parts are
// damaged fails its job permanently.
func TestMailStoredBeforeParts(t *testing.T) {
	m := newMailer(t, Options{})
	ctx := context.Background()
	legacy := "From: <shop@example.com>\r\nTo: <a@example.com>\r\nSubject: old\r\n\r\nstored whole\r\n"
	var id int64
	if err := m.db.SQL.QueryRow(`INSERT INTO trellis_mail_queue (`+columns+`) VALUES (1, 'shop@example.com', '["a@example.com"]', '["a@example.com"]', 'old', '', 'stored whole', ?) RETURNING id`,
		[]byte(legacy)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if moved, err := m.outbox.deliver(ctx, id); err != nil || !moved {
		t.Fatalf("deliver: %v %v", moved, err)
	}
	list, err := m.outbox.List(ctx, 0)
	if err != nil || len(list) != 1 || string(list[0].Raw) != legacy {
		t.Fatalf("outbox: %v %v", list, err)
	}

	if err := m.db.SQL.QueryRow(`INSERT INTO trellis_mail_queue (` + columns + `, parts) VALUES (1, 'shop@example.com', '[]', '[]', 'bad', '', 'x', x'', '{"to": 7}') RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := m.outbox.deliver(ctx, id); err == nil || !jobs.IsPermanent(err) {
		t.Errorf("damaged parts: %v, want a permanent error", err)
	}
}

// TestOutboxKeepsTheNewest: the outbox is bounded, delivery is idempotent,
// a rolled-back SendTx leaves nothing.
func TestOutboxKeepsTheNewest(t *testing.T) {
	m := newMailer(t, Options{OutboxKeep: 3})
	ctx := context.Background()
	var ids []int64
	for i := range 5 {
		r, err := m.render(ctx, Message{To: []string{"a@example.com"}, Subject: "n" + string(rune('0'+i)), Text: text("x")})
		if err != nil {
			t.Fatal(err)
		}
		tx, _ := m.db.SQL.BeginTx(ctx, nil)
		id, err := insertQueued(ctx, m.db, tx, r, true, "")
		if err != nil || tx.Commit() != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		if moved, err := m.outbox.deliver(ctx, id); err != nil || !moved {
			t.Fatalf("deliver %d: %v %v", id, moved, err)
		}
		if moved, err := m.outbox.deliver(ctx, id); err != nil || moved {
			t.Fatalf("second delivery of %d moved it again (%v, %v)", id, moved, err)
		}
	}
	list, err := m.outbox.List(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, l := range list {
		subjects = append(subjects, l.Subject)
	}
	if strings.Join(subjects, ",") != "n4,n3,n2" {
		t.Errorf("outbox holds %v, want the newest three, newest first", subjects)
	}
	if _, err := m.outbox.Get(ctx, list[2].ID-1); !errors.Is(err, ErrNotFound) {
		t.Errorf("a trimmed mail: %v", err)
	}

	tx, _ := m.db.SQL.BeginTx(ctx, nil)
	if err := m.SendTx(ctx, tx, Message{To: []string{"a@example.com"}, Subject: "rolled back", Text: text("x")}); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback()
	var n int
	if err := m.db.SQL.QueryRow(`SELECT count(*) FROM trellis_mail_queue`).Scan(&n); err != nil || n != 0 {
		t.Errorf("a rolled-back SendTx left %d queued mails (%v)", n, err)
	}
	if c, err := m.outbox.Clear(ctx); err != nil || c != 3 {
		t.Errorf("Clear = %d, %v", c, err)
	}
}

// TestTextPart: a templ text part is read as HTML (entities decoded, blocks
// end lines); PlainText is verbatim.
func TestTextPart(t *testing.T) {
	m := newMailer(t, Options{})
	tc := templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, "<p>Hi "+templ.EscapeString("Ann <A&B>")+"!</p>\n<p>Go: https://x.example/a?b=1&amp;c=2</p>")
		return err
	})
	r, err := m.render(context.Background(), Message{To: []string{"a@example.com"}, Subject: "s", Text: tc})
	if err != nil {
		t.Fatal(err)
	}
	if r.Text != "Hi Ann <A&B>!\nGo: https://x.example/a?b=1&c=2\n" {
		t.Errorf("templ text part = %q", r.Text)
	}
	r, err = m.render(context.Background(), Message{To: []string{"a@example.com"}, Subject: "s", Text: PlainText("line 1\n  <kept> &amp;\n")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Text != "line 1\n  <kept> &amp;\n" {
		t.Errorf("PlainText part = %q", r.Text)
	}
}

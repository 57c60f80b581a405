// Package mail renders mail from templ components and delivers it through
// the job queue.
//
// Sending is an enqueue: Mailer.Send validates and renders a Message into
// the exact RFC 5322 bytes that will go over the wire and stores them —
// in a request, in the same transaction as the request's own write — and
// the mailer's relay enqueues a delivery job (kind "trellis_mail") for
// each stored mail once it has committed; SendTx stores the mail and
// enqueues its job in the caller's own transaction. So a request never
// waits on an SMTP server, pays for one insert per mail, and a crash
// loses no mail. The job delivers the stored
// bytes to the SMTP server named by mail.smtp_url, retrying temporary
// failures (SMTP 4xx replies, connection errors) with the job queue's
// backoff and dead-lettering permanent rejections (5xx) at once, with
// the server's reply as the job's error. With no mail.smtp_url (the
// default in development and tests) the job stores the mail in the Outbox
// instead, where the development pages and tests read it.
package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/db"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/telemetry"
)

// Message is one mail to send.
type Message struct {
	// To, Cc and Bcc are RFC 5322 addresses: "ann@example.com" or
	// "Ann <ann@example.com>". To is required. Bcc recipients get the
	// mail but appear in no header.
	To, Cc, Bcc []string
	// ReplyTo, when set, is where replies go instead of the sender.
	ReplyTo string
	// Subject is required, on one line.
	Subject string
	// HTML is the HTML part, rendered when Send is called. HTML or Text
	// (or both) is required.
	HTML templ.Component
	// Text is the plain-text part. A templ component escapes for HTML, so
	// the mailer reads its output as HTML: entities are decoded, <p>,
	// <br> and other blocks end lines, links become "text (url)".
	// PlainText(s) is used verbatim instead. When nil the mailer derives
	// the text from the HTML the same way.
	Text templ.Component
	// Headers are extra headers ("List-Unsubscribe", "X-Campaign"); the
	// mailer refuses the ones it owns (From, To, Subject, Date, ...).
	Headers map[string]string
	// Attachments are files attached to the mail.
	Attachments []Attachment
}

// Attachment is a file attached to a mail.
type Attachment struct {
	// Name is the file name shown to the recipient.
	Name string
	// ContentType is its MIME type; empty means application/octet-stream.
	ContentType string
	// Data is the file's content.
	Data []byte
}

// Mail is a stored mail: rendered, as it was (or would have been) sent.
type Mail struct {
	// ID identifies the mail in the outbox.
	ID int64
	// From is the From header.
	From string
	// To lists the To header's addresses.
	To []string
	// Recipients is the envelope: every To, Cc and Bcc address.
	Recipients []string
	// Subject is the subject line.
	Subject string
	// HTML is the rendered HTML part ("" if none).
	HTML string
	// Text is the plain-text part.
	Text string
	// Raw is the full RFC 5322 message as it would go over SMTP.
	Raw []byte
	// CreatedAt is when Send was called.
	CreatedAt time.Time

	parts *parts // what build needs, until the mail is built
}

// Errors callers can test with errors.Is.
var (
	// ErrInvalid is wrapped by every error about a malformed Message.
	ErrInvalid = errors.New("mail: invalid message")
	// ErrNotFound is returned by Outbox.Get for an id that does not exist.
	ErrNotFound = errors.New("mail: not found")
)

// Options configures a Mailer.
type Options struct {
	// DB stores queued mail and the outbox.
	DB *db.DB
	// Jobs delivers mail; New registers the "trellis_mail" worker on it.
	Jobs *jobs.Engine
	// From is the sender of every mail (config: Config.MailFrom).
	From string
	// BaseURL starts every link made by URL (config: Config.BaseURL).
	BaseURL string
	// SMTPURL is mail.smtp_url; empty stores mail in the outbox.
	SMTPURL string
	// CAFile is mail.ca_file: certificate authorities trusted for the
	// SMTP server in addition to the system's.
	CAFile string
	// TLSConfig, when set, replaces the TLS settings used with the SMTP
	// server (tests use it to trust a self-signed certificate).
	TLSConfig *tls.Config
	// OutboxKeep is how many mails the outbox keeps (default 500).
	OutboxKeep int
	// Logger logs deliveries.
	Logger *slog.Logger
}

// Mailer renders messages and enqueues their delivery as a job.
type Mailer struct {
	db      *db.DB
	jobs    *jobs.Engine
	from    string
	domain  string
	baseURL string
	queue   string
	outbox  *Outbox
	smtp    *smtpTransport
	logger  *slog.Logger

	mu       sync.Mutex
	previews map[string]func(ctx context.Context) Message

	relay relay
}

// New builds a Mailer and registers its delivery worker on opts.Jobs. It
// fails on a bad sender address, SMTP URL or CA file.
func New(opts Options) (*Mailer, error) {
	if opts.DB == nil || opts.Jobs == nil {
		return nil, errors.New("mail: New needs a database and a job engine")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.OutboxKeep <= 0 {
		opts.OutboxKeep = 500
	}
	from, err := parseAddress(opts.From)
	if err != nil {
		return nil, fmt.Errorf("mail: sender %q: %w", opts.From, err)
	}
	m := &Mailer{
		db: opts.DB, jobs: opts.Jobs, from: from.String(), baseURL: strings.TrimSuffix(opts.BaseURL, "/"),
		logger: opts.Logger, previews: map[string]func(context.Context) Message{},
		relay: relay{wake: make(chan struct{}, 1), every: time.Second},
	}
	_, m.domain, _ = strings.Cut(from.Address, "@")
	m.queue = "default"
	if slices.Contains(opts.Jobs.Queues(), "mail") {
		m.queue = "mail"
	}
	if opts.SMTPURL == "" {
		m.outbox = &Outbox{db: opts.DB, keep: opts.OutboxKeep}
	} else {
		u, err := config.ParseSMTPURL(opts.SMTPURL)
		if err != nil {
			return nil, fmt.Errorf("mail: %w", err)
		}
		tlsConf := opts.TLSConfig
		if tlsConf == nil {
			tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
			if opts.CAFile != "" {
				pool, err := caPool(opts.CAFile)
				if err != nil {
					return nil, err
				}
				tlsConf.RootCAs = pool
			}
		}
		m.smtp = newSMTPTransport(u, tlsConf)
	}
	jobs.Register(opts.Jobs, &worker{m: m})
	return m, nil
}

// caPool is the system's certificate pool plus the PEM certificates in
// file.
func caPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("mail: reading mail.ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("mail: mail.ca_file %s holds no PEM certificate", file)
	}
	return pool, nil
}

// From is the sender of every mail.
func (m *Mailer) From() string { return m.from }

// URL returns an absolute link to path on the app: app.base_url + path.
// A path without a leading "/" gets one.
func (m *Mailer) URL(path string) string {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return m.baseURL + path
}

// Outbox is where mail is stored instead of sent; nil when mail goes over
// SMTP.
func (m *Mailer) Outbox() *Outbox { return m.outbox }

// Send validates msg, renders its templates and stores it; the mailer's relay then
// enqueues its delivery job. It never talks to an SMTP server: delivery
// errors show up in the job, not here. Errors about the message itself
// wrap ErrInvalid.
//
// Inside a request of a Trellis app, storing is deferred to the request's
// db.Batch: the mail commits in the same transaction as the request's own
// write (its session's save), or else in one transaction just before the
// response starts. Either way no response leaves before its mail is
// stored; if that commit fails the request is answered with an error
// instead of the handler's response. Elsewhere (jobs, commands) Send
// stores the mail in a transaction of its own before it returns.
//
// A stored mail is never lost: the relay (see Start) enqueues it right
// after the commit, and at every start and every second it enqueues
// whatever mail is still waiting, so mail stored by a process that died
// before enqueueing it, or by one that never starts the relay, is
// delivered too.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	r, err := m.compose(ctx, msg)
	if err != nil {
		return err
	}
	var trace string
	if tc := telemetry.Inject(ctx); tc != nil {
		b, _ := json.Marshal(tc)
		trace = string(b)
	}
	store := func(ctx context.Context, tx *sql.Tx) error {
		if _, err := insertQueued(ctx, m.db, tx, r, false, trace); err != nil {
			return fmt.Errorf("mail: storing %q: %w", r.Subject, err)
		}
		return nil
	}
	if db.Defer(ctx, m.db, store, m.wakeRelay) {
		return nil
	}
	tx, err := m.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("mail: sending %q: %w", msg.Subject, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := store(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mail: sending %q: %w", msg.Subject, err)
	}
	m.wakeRelay()
	return nil
}

// SendTx is Send inside the caller's transaction tx: the mail is stored
// and its delivery job enqueued in tx, so it is sent only if tx commits.
func (m *Mailer) SendTx(ctx context.Context, tx *sql.Tx, msg Message) error {
	r, err := m.compose(ctx, msg)
	if err != nil {
		return err
	}
	id, err := insertQueued(ctx, m.db, tx, r, true, "")
	if err != nil {
		return fmt.Errorf("mail: storing %q: %w", r.Subject, err)
	}
	if _, err := m.jobs.EnqueueTx(ctx, tx, deliverArgs{MailID: id}, &jobs.Opts{Queue: m.queue}); err != nil {
		return fmt.Errorf("mail: enqueueing %q: %w", r.Subject, err)
	}
	return nil
}

// Preview registers a template preview for /dev/mail/previews: sample
// builds the message with sample data. Registering a name again replaces
// it.
func (m *Mailer) Preview(name string, sample func(ctx context.Context) Message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.previews[name] = sample
}

// Previews lists the registered preview names, sorted.
func (m *Mailer) Previews() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.previews))
	for n := range m.previews {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// RenderPreview renders the preview registered as name, without storing
// or sending it. It returns ErrNotFound for an unknown name.
func (m *Mailer) RenderPreview(ctx context.Context, name string) (*Mail, error) {
	m.mu.Lock()
	sample, ok := m.previews[name]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("mail: preview %q: %w", name, ErrNotFound)
	}
	return m.render(ctx, sample(ctx))
}

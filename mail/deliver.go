package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/textproto"
	"time"

	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/jobs"
	"github.com/trellis-go/trellis/telemetry"
	gomail "github.com/wneessen/go-mail"
	"go.opentelemetry.io/otel/attribute"
)

// JobKind is the kind of the delivery job.
const JobKind = "trellis_mail"

// deliverArgs are the delivery job's arguments: the queued mail's id only,
// so the job list never shows a mail's content (links in it may carry
// password reset tokens).
type deliverArgs struct {
	MailID int64 `json:"mail_id"`
}

// Kind names the delivery job.
func (deliverArgs) Kind() string { return JobKind }

// worker delivers queued mail.
type worker struct {
	jobs.WorkerDefaults[deliverArgs]
	m *Mailer
}

// Work delivers one mail: over SMTP when mail.smtp_url is set, else into
// the outbox. A mail no longer queued was delivered by an earlier attempt.
func (w *worker) Work(ctx context.Context, job *jobs.Job[deliverArgs]) error {
	m := w.m
	id := job.Args.MailID
	if m.outbox != nil {
		moved, err := m.outbox.deliver(ctx, id)
		if err != nil {
			return fmt.Errorf("mail %d: storing in the outbox: %w", id, err)
		}
		if moved {
			m.logger.Debug("mail stored in the outbox", slog.Int64("mail_id", id))
		}
		return nil
	}
	q, err := queued(ctx, m.db, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mail %d: loading: %w", id, err)
	}
	ctx, span := telemetry.Start(ctx, "mail.deliver", attribute.Int64("mail.id", id),
		attribute.String("smtp.host", m.smtp.url.Host), attribute.Int("mail.recipients", len(q.Recipients)))
	defer span.End()
	if err := m.smtp.send(ctx, q); err != nil {
		telemetry.Fail(span, err)
		return err
	}
	if err := deleteQueued(ctx, m.db, id); err != nil {
		// The server has the mail; a retry would send it twice.
		m.logger.Error("mail sent but not removed from the queue", slog.Int64("mail_id", id), slog.Any("error", err))
	}
	m.logger.Info("mail sent", slog.Int64("mail_id", id), slog.String("subject", q.Subject), slog.Int("recipients", len(q.Recipients)))
	return nil
}

// smtpTransport sends stored mail to one SMTP server.
type smtpTransport struct {
	url     config.SMTPURL
	tls     *tls.Config
	timeout time.Duration
}

func newSMTPTransport(u config.SMTPURL, tlsConf *tls.Config) *smtpTransport {
	tlsConf = tlsConf.Clone()
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = u.Host
	}
	return &smtpTransport{url: u, tls: tlsConf, timeout: 30 * time.Second}
}

// client builds the go-mail client: TLS as the URL says, AUTH when it has
// a user (go-mail picks the strongest mechanism the server offers, and
// PLAIN or LOGIN only over an encrypted connection).
func (t *smtpTransport) client() (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(t.url.Port), gomail.WithTimeout(t.timeout), gomail.WithTLSConfig(t.tls)}
	switch t.url.TLS {
	case config.SMTPImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case config.SMTPNoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if t.url.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(t.url.Username), gomail.WithPassword(t.url.Password))
	}
	return gomail.NewClient(t.url.Host, opts...)
}

// send delivers m's raw bytes to every envelope recipient. Errors are
// classified for the job queue: SMTP 5xx replies are permanent (the job
// is dead-lettered at once, with the reply in its error); 4xx replies and
// connection or TLS failures are retried with backoff.
func (t *smtpTransport) send(ctx context.Context, m *Mail) (err error) {
	c, err := t.client()
	if err != nil {
		return jobs.Permanent(fmt.Errorf("mail %d: SMTP client: %w", m.ID, err))
	}
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return classify(fmt.Errorf("mail %d: connecting to %s: %w", m.ID, t.url.Addr(), err))
	}
	defer func() {
		if err != nil {
			_ = sc.Close()
		}
	}()
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return jobs.Permanent(fmt.Errorf("mail %d: sender: %w", m.ID, err))
	}
	if err := sc.Mail(from.Address); err != nil {
		return classify(fmt.Errorf("mail %d: %s refused MAIL FROM <%s>: %w", m.ID, t.url.Addr(), from.Address, err))
	}
	for _, r := range m.Recipients {
		if err := sc.Rcpt(r); err != nil {
			return classify(fmt.Errorf("mail %d: %s refused RCPT TO <%s>: %w", m.ID, t.url.Addr(), r, err))
		}
	}
	wc, err := sc.Data()
	if err != nil {
		return classify(fmt.Errorf("mail %d: %s refused DATA: %w", m.ID, t.url.Addr(), err))
	}
	if _, err := wc.Write(m.Raw); err != nil {
		return classify(fmt.Errorf("mail %d: writing to %s: %w", m.ID, t.url.Addr(), err))
	}
	if err := wc.Close(); err != nil {
		return classify(fmt.Errorf("mail %d: %s rejected the message: %w", m.ID, t.url.Addr(), err))
	}
	_ = sc.Quit() // the server has accepted the mail; QUIT is a courtesy
	return nil
}

// classify marks SMTP 5xx replies as permanent; everything else retries.
func classify(err error) error {
	if PermanentSMTP(err) {
		return jobs.Permanent(err)
	}
	return err
}

// PermanentSMTP reports whether err carries an SMTP 5xx reply: a
// rejection that retrying will not change (unknown recipient, message
// refused, authentication failed with 535).
func PermanentSMTP(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te) && te.Code >= 500 && te.Code < 600
}

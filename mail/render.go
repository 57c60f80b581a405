package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"net/mail"
	"strings"
	"time"

	"github.com/a-h/templ"
	gomail "github.com/wneessen/go-mail"
)

// maxSubject bounds the subject line; longer subjects are a bug upstream.
const maxSubject = 998

// ownedHeaders are set by the mailer; Message.Headers may not set them.
var ownedHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "reply-to": true, "subject": true,
	"date": true, "message-id": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true, "sender": true, "return-path": true,
}

// parseAddress parses one RFC 5322 address, refusing line breaks.
func parseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%w: address %q contains a line break", ErrInvalid, s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%w: address %q: %v", ErrInvalid, s, err)
	}
	return a, nil
}

// validate checks msg before anything is rendered.
func validate(msg *Message) error {
	if len(msg.To) == 0 {
		return fmt.Errorf("%w: no To address", ErrInvalid)
	}
	for _, list := range [][]string{msg.To, msg.Cc, msg.Bcc} {
		for _, a := range list {
			if _, err := parseAddress(a); err != nil {
				return err
			}
		}
	}
	if msg.ReplyTo != "" {
		if _, err := parseAddress(msg.ReplyTo); err != nil {
			return err
		}
	}
	if strings.TrimSpace(msg.Subject) == "" {
		return fmt.Errorf("%w: no subject", ErrInvalid)
	}
	if strings.ContainsAny(msg.Subject, "\r\n") || len(msg.Subject) > maxSubject {
		return fmt.Errorf("%w: the subject must be one line of at most %d bytes", ErrInvalid, maxSubject)
	}
	if msg.HTML == nil && msg.Text == nil {
		return fmt.Errorf("%w: %q has neither an HTML nor a text part", ErrInvalid, msg.Subject)
	}
	for k, v := range msg.Headers {
		if ownedHeaders[strings.ToLower(k)] {
			return fmt.Errorf("%w: header %q is set by the mailer", ErrInvalid, k)
		}
		if k == "" || strings.ContainsAny(k, ": \t\r\n") || strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("%w: header %q: names have no spaces or colons, values no line breaks", ErrInvalid, k)
		}
	}
	for _, a := range msg.Attachments {
		if a.Name == "" || strings.ContainsAny(a.Name, "\r\n\"/\\") {
			return fmt.Errorf("%w: attachment name %q", ErrInvalid, a.Name)
		}
		if strings.ContainsAny(a.ContentType, "\r\n") {
			return fmt.Errorf("%w: attachment %q: content type with a line break", ErrInvalid, a.Name)
		}
	}
	return nil
}

// renderComponent renders c to a string.
func renderComponent(ctx context.Context, c templ.Component, part string) (string, error) {
	var b strings.Builder
	if err := c.Render(ctx, &b); err != nil {
		return "", fmt.Errorf("mail: rendering the %s part: %w", part, err)
	}
	return b.String(), nil
}

// parts is what a stored mail needs besides its own columns to be built
// into RFC 5322 bytes: Send stores it as JSON, and the delivery job
// builds the message from it, so a request renders its templates but
// leaves the MIME encoding to the job.
type parts struct {
	To          []string          `json:"to"` // as given: display names kept
	Cc          []string          `json:"cc,omitempty"`
	Bcc         []string          `json:"bcc,omitempty"`
	ReplyTo     string            `json:"reply_to,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Attachments []Attachment      `json:"attachments,omitempty"`
	MessageID   string            `json:"message_id"`
}

// compose validates msg and renders its parts: everything of the mail but
// its raw bytes, which build makes.
func (m *Mailer) compose(ctx context.Context, msg Message) (*Mail, error) {
	if err := validate(&msg); err != nil {
		return nil, err
	}
	out := &Mail{From: m.from, Subject: msg.Subject, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	var err error
	if msg.HTML != nil {
		if out.HTML, err = renderComponent(ctx, msg.HTML, "HTML"); err != nil {
			return nil, err
		}
	}
	if pt, ok := msg.Text.(plainText); ok {
		out.Text = string(pt)
	} else if msg.Text != nil {
		// A templ component escapes its output for HTML; read it as HTML.
		s, err := renderComponent(ctx, msg.Text, "text")
		if err != nil {
			return nil, err
		}
		out.Text = HTMLToText(s)
	} else {
		out.Text = HTMLToText(out.HTML)
	}
	seen := map[string]bool{}
	for i, list := range [][]string{msg.To, msg.Cc, msg.Bcc} {
		for _, a := range list {
			p, _ := parseAddress(a) // validated above
			if i == 0 {
				out.To = append(out.To, p.Address)
			}
			if key := strings.ToLower(p.Address); !seen[key] {
				seen[key] = true
				out.Recipients = append(out.Recipients, p.Address)
			}
		}
	}
	out.parts = &parts{To: msg.To, Cc: msg.Cc, Bcc: msg.Bcc, ReplyTo: msg.ReplyTo, Headers: msg.Headers,
		Attachments: msg.Attachments, MessageID: m.messageID()}
	return out, nil
}

// render composes msg and builds it: the mail exactly as it will be sent.
func (m *Mailer) render(ctx context.Context, msg Message) (*Mail, error) {
	out, err := m.compose(ctx, msg)
	if err != nil {
		return nil, err
	}
	return out, build(out)
}

// build sets out.Raw, the RFC 5322 message, from its rendered parts. A
// mail stored before parts existed has its Raw already and no parts.
func build(out *Mail) error {
	p := out.parts
	if p == nil {
		return nil
	}
	g := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := g.From(out.From); err != nil {
		return fmt.Errorf("mail: sender: %w", err)
	}
	for _, set := range []struct {
		f    func(...string) error
		list []string
	}{{g.To, p.To}, {g.Cc, p.Cc}, {g.Bcc, p.Bcc}} {
		if len(set.list) == 0 {
			continue
		}
		if err := set.f(set.list...); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	if p.ReplyTo != "" {
		if err := g.ReplyTo(p.ReplyTo); err != nil {
			return fmt.Errorf("%w: reply-to: %v", ErrInvalid, err)
		}
	}
	g.Subject(out.Subject)
	g.SetDateWithValue(out.CreatedAt)
	g.SetMessageIDWithValue(p.MessageID)
	for k, v := range p.Headers {
		g.SetGenHeader(gomail.Header(k), v)
	}
	g.SetBodyString(gomail.TypeTextPlain, out.Text)
	if out.HTML != "" {
		g.AddAlternativeString(gomail.TypeTextHTML, out.HTML)
	}
	for _, a := range p.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if err := g.AttachReader(a.Name, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(ct))); err != nil {
			return fmt.Errorf("mail: attaching %q: %w", a.Name, err)
		}
	}
	var raw bytes.Buffer
	if _, err := g.WriteTo(&raw); err != nil {
		return fmt.Errorf("mail: writing %q: %w", out.Subject, err)
	}
	out.Raw = raw.Bytes()
	return nil
}

// messageID is a fresh Message-ID at the sender's domain.
func (m *Mailer) messageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	domain := m.domain
	if domain == "" {
		domain = "localhost"
	}
	return hex.EncodeToString(b[:]) + "@" + domain
}

// plainText is a text part used verbatim.
type plainText string

// Render writes the text HTML-escaped, so the component also renders
// sensibly inside a page.
func (p plainText) Render(_ context.Context, w io.Writer) error {
	_, err := io.WriteString(w, html.EscapeString(string(p)))
	return err
}

// PlainText is a Message.Text used as it is, line breaks included —
// unlike a templ component, whose output the mailer reads as HTML.
func PlainText(s string) templ.Component { return plainText(s) }

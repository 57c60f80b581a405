package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Mail holds outgoing mail settings.
type Mail struct {
	// SMTPURL is the SMTP server mail is delivered to:
	// smtp://[user:pass@]host:port?tls=starttls|tls|none (see
	// ParseSMTPURL). Empty (the default) stores mail in the outbox instead,
	// viewable at /dev/mail in development. When set, mail goes over SMTP
	// in every profile.
	SMTPURL string `toml:"smtp_url"`
	// From is the sender of every mail, "Name <addr@example.com>" or a bare
	// address. It defaults to "<app.name> <no-reply@HOST>", HOST being
	// app.base_url's host in production and localhost elsewhere.
	From string `toml:"from"`
	// CAFile names a PEM file of certificate authorities trusted for the
	// SMTP server's certificate, in addition to the system's (for a server
	// with a private CA or, in tests, a self-signed certificate).
	CAFile string `toml:"ca_file"`
	// OutboxUI mounts the outbox pages (/dev/mail) outside development,
	// for admins only. In development they are always mounted.
	OutboxUI bool `toml:"outbox_ui"`
	// OutboxKeep is how many mails the outbox keeps; older ones are
	// deleted as new ones arrive.
	OutboxKeep int `toml:"outbox_keep"`
}

// TLS modes of an SMTP URL.
const (
	// SMTPStartTLS connects in plain text and upgrades with STARTTLS,
	// refusing to go on when the server does not offer it.
	SMTPStartTLS = "starttls"
	// SMTPImplicitTLS speaks TLS from the first byte (usually port 465).
	SMTPImplicitTLS = "tls"
	// SMTPNoTLS never encrypts: for a relay on the same host or network.
	SMTPNoTLS = "none"
)

// SMTPURL is a parsed mail.smtp_url.
type SMTPURL struct {
	// Host is the server's name or IP.
	Host string
	// Port is the server's TCP port.
	Port int
	// Username and Password authenticate with SMTP AUTH when Username is
	// set.
	Username string
	// Password is the AUTH password.
	Password string
	// TLS is SMTPStartTLS, SMTPImplicitTLS or SMTPNoTLS.
	TLS string
}

// Addr is host:port.
func (u SMTPURL) Addr() string { return net.JoinHostPort(u.Host, strconv.Itoa(u.Port)) }

// Loopback reports whether Host is localhost or a loopback IP.
func (u SMTPURL) Loopback() bool { return isLoopback(u.Host) }

// ErrSMTPURL is wrapped by every ParseSMTPURL error.
var ErrSMTPURL = errors.New("invalid SMTP URL")

// ParseSMTPURL parses smtp://[user:pass@]host:port?tls=starttls|tls|none.
// The port is required; tls defaults to "tls" on port 465 and "starttls"
// elsewhere. smtps://host:port is smtp:// with tls=tls. The user and
// password are URL-decoded.
func ParseSMTPURL(s string) (SMTPURL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return SMTPURL{}, fmt.Errorf("%w: %v", ErrSMTPURL, redactErr(err, s))
	}
	var out SMTPURL
	switch u.Scheme {
	case "smtp":
	case "smtps":
		out.TLS = SMTPImplicitTLS
	default:
		return SMTPURL{}, fmt.Errorf("%w: scheme %q is not smtp", ErrSMTPURL, u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return SMTPURL{}, fmt.Errorf("%w: no host", ErrSMTPURL)
	}
	if u.Path != "" && u.Path != "/" || u.Fragment != "" {
		return SMTPURL{}, fmt.Errorf("%w: a path or fragment has no meaning here", ErrSMTPURL)
	}
	out.Host = u.Hostname()
	if out.Host == "" {
		return SMTPURL{}, fmt.Errorf("%w: no host", ErrSMTPURL)
	}
	port := u.Port()
	if port == "" {
		return SMTPURL{}, fmt.Errorf("%w: no port", ErrSMTPURL)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return SMTPURL{}, fmt.Errorf("%w: port %q is not 1 to 65535", ErrSMTPURL, port)
	}
	out.Port = n
	if u.User != nil {
		out.Username = u.User.Username()
		out.Password, _ = u.User.Password()
	}
	q := u.Query()
	for k := range q {
		if k != "tls" {
			return SMTPURL{}, fmt.Errorf("%w: unknown parameter %q", ErrSMTPURL, k)
		}
	}
	if q.Has("tls") {
		mode := q.Get("tls")
		if mode != SMTPStartTLS && mode != SMTPImplicitTLS && mode != SMTPNoTLS {
			return SMTPURL{}, fmt.Errorf("%w: tls=%q is not starttls, tls or none", ErrSMTPURL, mode)
		}
		if out.TLS == SMTPImplicitTLS && mode != SMTPImplicitTLS {
			return SMTPURL{}, fmt.Errorf("%w: smtps:// always speaks TLS; tls=%s contradicts it", ErrSMTPURL, mode)
		}
		out.TLS = mode
	}
	if out.TLS == "" {
		out.TLS = SMTPStartTLS
		if n == 465 {
			out.TLS = SMTPImplicitTLS
		}
	}
	return out, nil
}

// redactErr keeps a password out of a url.Parse error.
func redactErr(err error, raw string) string {
	msg := err.Error()
	if r := redactURL(raw); r != raw {
		msg = strings.ReplaceAll(msg, raw, r)
	}
	return msg
}

// BaseURL is app.base_url without a trailing slash or, when it is empty,
// the server's own address (see [Server.LocalURL]), or
// http://127.0.0.1:3000 when server.addr does not parse.
func (c *Config) BaseURL() string {
	if c.App.BaseURL != "" {
		return strings.TrimSuffix(c.App.BaseURL, "/")
	}
	u, err := c.Server.LocalURL()
	if err != nil {
		return "http://127.0.0.1:3000"
	}
	return u
}

// LocalURL is the URL a process on the same host reaches the server at:
// http://127.0.0.1:3000 for addr "127.0.0.1:3000", ":3000" or
// "0.0.0.0:3000" (an address on every interface is reached on loopback),
// https when tls_cert is set.
func (s Server) LocalURL() (string, error) {
	host, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return "", fmt.Errorf("config: server address %q: %w", s.Addr, err)
	}
	if ip, err := netip.ParseAddr(host); host == "" || err == nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if s.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// RequireBaseURL fails in production when app.base_url is empty. The app
// checks it when it builds its mailer (apps with a database), since links
// in mail need the app's public address; an app without a database sends
// no mail and needs none.
func (c *Config) RequireBaseURL() error {
	if c.Profile != Production || c.App.BaseURL != "" {
		return nil
	}
	return Errors{{Source: c.Source("app.base_url"), Key: "app.base_url",
		Problem: "is required in production: links in mail (password resets, confirmations) need the app's public address",
		Fix:     `set app.base_url (TRELLIS_APP_BASE_URL) such as "https://app.example.com"`}}
}

// MailFrom is mail.from or, when it is empty, "<app.name>
// <no-reply@localhost>" — in production, no-reply at app.base_url's host.
func (c *Config) MailFrom() string {
	if c.Mail.From != "" {
		return c.Mail.From
	}
	host := "localhost"
	if u, err := url.Parse(c.App.BaseURL); c.Profile == Production && err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return (&mail.Address{Name: c.App.Name, Address: "no-reply@" + host}).String()
}

func (v *validator) validateMail() {
	c := v.c
	prod := c.Profile == Production
	if b := c.App.BaseURL; b != "" {
		u, err := url.Parse(b)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil:
			v.add("app.base_url", fmt.Sprintf("%q is not an absolute http(s) URL", b), `use scheme://host[:port] such as "https://app.example.com"`)
		case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "":
			v.add("app.base_url", fmt.Sprintf("%q has a path, query or fragment", b), `use scheme://host[:port] only, such as "https://app.example.com"; links add their own paths`)
		case prod && u.Scheme != "https":
			v.add("app.base_url", "is plain http, refused in production: links in mail (password resets, confirmations) would carry their tokens unencrypted",
				`use "https://…"; behind a TLS proxy, the public address is still https`)
		}
	}

	m := c.Mail
	if m.From != "" {
		if _, err := mail.ParseAddress(m.From); err != nil {
			v.add("mail.from", fmt.Sprintf("%q is not a mail address: %v", m.From, err), `use "Name <no-reply@example.com>" or "no-reply@example.com"`)
		}
	}
	if m.SMTPURL != "" {
		u, err := ParseSMTPURL(m.SMTPURL)
		switch {
		case err != nil:
			v.add("mail.smtp_url", err.Error(), "use smtp://[user:pass@]host:port?tls=starttls|tls|none, such as \"smtp://mailer:secret@smtp.example.com:587\"")
		case prod && u.TLS == SMTPNoTLS && !u.Loopback():
			v.add("mail.smtp_url", fmt.Sprintf("tls=none to %s is refused in production: mail and the SMTP password would cross the network unencrypted", u.Host),
				"use tls=starttls or tls=tls, or a relay on the loopback address (127.0.0.1)")
		}
	}
	if m.CAFile != "" {
		if _, err := os.Stat(m.CAFile); err != nil {
			v.add("mail.ca_file", fmt.Sprintf("cannot read %q: %v", m.CAFile, err), "point it at a PEM file of CA certificates, or remove the key")
		}
	}
	v.check(m.OutboxKeep >= 1, "mail.outbox_keep", "must be at least 1", "use 500")
}

// isLoopback reports whether host is localhost or a loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

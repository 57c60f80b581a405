package config

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSMTPURL(t *testing.T) {
	cases := []struct {
		in   string
		want SMTPURL
	}{
		{"smtp://smtp.example.com:587", SMTPURL{Host: "smtp.example.com", Port: 587, TLS: SMTPStartTLS}},
		{"smtp://smtp.example.com:465", SMTPURL{Host: "smtp.example.com", Port: 465, TLS: SMTPImplicitTLS}},
		{"smtps://smtp.example.com:2465", SMTPURL{Host: "smtp.example.com", Port: 2465, TLS: SMTPImplicitTLS}},
		{"smtp://u%40x:p%20w@127.0.0.1:25?tls=none", SMTPURL{Host: "127.0.0.1", Port: 25, Username: "u@x", Password: "p w", TLS: SMTPNoTLS}},
		{"smtp://[::1]:1025?tls=tls", SMTPURL{Host: "::1", Port: 1025, TLS: SMTPImplicitTLS}},
	}
	for _, tc := range cases {
		got, err := ParseSMTPURL(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSMTPURL(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "http://h:25", "smtp://h", "smtp://h:0", "smtp://h:70000", "smtp://h:25?tls=maybe",
		"smtp://h:25?tsl=none", "smtp://h:25/path", "smtps://h:465?tls=none", "smtp://:25", "smtp:h:25"} {
		if _, err := ParseSMTPURL(bad); !errors.Is(err, ErrSMTPURL) {
			t.Errorf("ParseSMTPURL(%q): err %v, want ErrSMTPURL", bad, err)
		}
	}
}

func TestMailValidation(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name    string
		env     []string
		profile Profile
		want    []string
	}{
		{"bad scheme", []string{"TRELLIS_MAIL_SMTP_URL=smtpx://u:hunter22@h:25"}, "", []string{"env TRELLIS_MAIL_SMTP_URL", "mail.smtp_url", `scheme "smtpx"`, "smtp://[user:pass@]host:port"}},
		{"missing port", []string{"TRELLIS_MAIL_SMTP_URL=smtp://h"}, "", []string{"mail.smtp_url", "no port"}},
		{"bad tls", []string{"TRELLIS_MAIL_SMTP_URL=smtp://h:25?tls=yes"}, "", []string{"mail.smtp_url", `tls="yes"`, "starttls, tls or none"}},
		{"bad from", []string{"TRELLIS_MAIL_FROM=not an address"}, "", []string{"env TRELLIS_MAIL_FROM", "mail.from", "not a mail address", "Name <no-reply@example.com>"}},
		{"header injection in from", []string{"TRELLIS_MAIL_FROM=a@b.c\nBcc: x@y.z"}, "", []string{"mail.from"}},
		{"plain smtp to a remote host in production", []string{"TRELLIS_MAIL_SMTP_URL=smtp://u:hunter22@smtp.example.com:25?tls=none", "TRELLIS_APP_BASE_URL=https://a.example"}, Production,
			[]string{"mail.smtp_url", "tls=none to smtp.example.com is refused in production", "tls=starttls"}},
		{"base url with a path", []string{"TRELLIS_APP_BASE_URL=https://a.example/app"}, "", []string{"env TRELLIS_APP_BASE_URL", "app.base_url", "path"}},
		{"base url not absolute", []string{"TRELLIS_APP_BASE_URL=a.example"}, "", []string{"app.base_url", "not an absolute http(s) URL"}},
		{"http base url in production", []string{"TRELLIS_APP_BASE_URL=http://a.example"}, Production, []string{"app.base_url", "refused in production", "https://"}},
		{"missing ca file", []string{"TRELLIS_MAIL_CA_FILE=/nonexistent/ca.pem"}, "", []string{"mail.ca_file", "cannot read"}},
		{"outbox keep", []string{"TRELLIS_MAIL_OUTBOX_KEEP=0"}, "", []string{"mail.outbox_keep", "at least 1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, dir, "trellis.toml", "")
			msg := loadErr(t, Options{Path: path, Profile: tc.profile, Env: tc.env}).Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, "hunter22") {
				t.Errorf("error leaks the SMTP password: %q", msg)
			}
		})
	}

	// Accepted: plain SMTP to a loopback relay in production, TLS elsewhere.
	for _, u := range []string{"smtp://127.0.0.1:25?tls=none", "smtp://localhost:25?tls=none", "smtp://u:p@smtp.example.com:587"} {
		c := Default(Production)
		c.App.BaseURL, c.Mail.SMTPURL = "https://a.example", u
		if err := c.Validate(); err != nil {
			t.Errorf("%s in production: %v", u, err)
		}
	}
}

func TestBaseURLAndFrom(t *testing.T) {
	c := Default(Development)
	if got := c.BaseURL(); got != "http://127.0.0.1:3000" {
		t.Errorf("development BaseURL = %q", got)
	}
	c.Server.Addr = ":8080"
	if got := c.BaseURL(); got != "http://127.0.0.1:8080" {
		t.Errorf("BaseURL for :8080 = %q", got)
	}
	c.App.BaseURL = "https://app.example.com/"
	if got := c.BaseURL(); got != "https://app.example.com" {
		t.Errorf("configured BaseURL = %q", got)
	}
	if got := c.MailFrom(); got != `"Trellis" <no-reply@localhost>` {
		t.Errorf("development MailFrom = %q", got)
	}
	p := Default(Production)
	if err := p.RequireBaseURL(); err == nil || !strings.Contains(err.Error(), "app.base_url") || !strings.Contains(err.Error(), "TRELLIS_APP_BASE_URL") {
		t.Errorf("production without base_url: %v", err)
	}
	p.App.BaseURL = "https://shop.example.com"
	if err := p.RequireBaseURL(); err != nil {
		t.Error(err)
	}
	if got := p.MailFrom(); got != `"Trellis" <no-reply@shop.example.com>` {
		t.Errorf("production MailFrom = %q", got)
	}
	p.Mail.From = "Shop <hello@shop.example.com>"
	if got := p.MailFrom(); got != p.Mail.From {
		t.Errorf("configured MailFrom = %q", got)
	}
}

func TestServerLocalURL(t *testing.T) {
	for _, c := range []struct {
		s    Server
		want string
	}{
		{Server{Addr: ":3000"}, "http://127.0.0.1:3000"},
		{Server{Addr: "0.0.0.0:3000"}, "http://127.0.0.1:3000"},
		{Server{Addr: "[::]:3000", TLSCert: "cert.pem"}, "https://127.0.0.1:3000"},
		{Server{Addr: "127.0.0.1:8080"}, "http://127.0.0.1:8080"},
		{Server{Addr: "app.internal:80"}, "http://app.internal:80"},
		{Server{Addr: "[::1]:3000"}, "http://[::1]:3000"},
	} {
		if got, err := c.s.LocalURL(); err != nil || got != c.want {
			t.Errorf("%+v.LocalURL() = %q, %v; want %q", c.s, got, err, c.want)
		}
	}
	if _, err := (Server{Addr: "3000"}).LocalURL(); err == nil {
		t.Error("an address without a port is accepted")
	}
}

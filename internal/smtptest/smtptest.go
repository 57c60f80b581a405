// Package smtptest runs a real SMTP server (emersion/go-smtp) on a
// loopback port for tests and benchmarks: plain, STARTTLS or implicit TLS
// with a self-signed certificate made on the spot, AUTH PLAIN, and
// scripted replies (fail the first n deliveries with a 4xx, reject with a
// 5xx).
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLS modes of the test server.
const (
	// Plain never offers TLS.
	Plain = "none"
	// StartTLS offers STARTTLS.
	StartTLS = "starttls"
	// ImplicitTLS speaks TLS from the first byte.
	ImplicitTLS = "tls"
)

// Options configure a Server.
type Options struct {
	// TLS is Plain (default), StartTLS or ImplicitTLS.
	TLS string
	// Username and Password, when set, require AUTH PLAIN before MAIL.
	Username, Password string
	// Reply, when set, is called for each message before it is accepted,
	// with the 1-based count of messages the server has seen so far; a
	// non-nil *smtp.SMTPError (see Temporary, Permanent) rejects it.
	Reply func(n int) error
	// Delay slows every MAIL FROM down, so a test can catch deliveries in
	// flight: a client that disconnects then delivers nothing.
	Delay time.Duration
}

// Temporary is a 451 reply: the client should retry later.
func Temporary(msg string) error {
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: msg}
}

// Permanent is a 550 reply: the client must not retry.
func Permanent(msg string) error {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: msg}
}

// Message is one accepted mail.
type Message struct {
	From string
	To   []string
	Data []byte
}

// Server is a running test SMTP server.
type Server struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	// CertPEM is the server's self-signed certificate (nil for Plain).
	CertPEM []byte
	// Pool trusts CertPEM.
	Pool *x509.CertPool

	opts     Options
	srv      *smtp.Server
	mu       sync.Mutex
	seen     int
	accepted []Message
	arrived  chan struct{}
}

// Start runs a server until the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// New runs a server; Close stops it.
func New(opts Options) (*Server, error) {
	s := &Server{opts: opts, arrived: make(chan struct{}, 1)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 32 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtptest: %w", err)
	}
	if opts.TLS == StartTLS || opts.TLS == ImplicitTLS {
		cert, certPEM, err := selfSigned()
		if err != nil {
			_ = ln.Close()
			return nil, err
		}
		s.CertPEM = certPEM
		s.Pool = x509.NewCertPool()
		s.Pool.AppendCertsFromPEM(certPEM)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if opts.TLS == ImplicitTLS {
			ln = tls.NewListener(ln, srv.TLSConfig)
		}
	}
	s.Addr, s.srv = ln.Addr().String(), srv
	go func() { _ = srv.Serve(ln) }()
	return s, nil
}

// Port is the server's port.
func (s *Server) Port() string {
	_, port, _ := net.SplitHostPort(s.Addr)
	return port
}

// WriteCA writes CertPEM to a file in dir and returns its path.
func (s *Server) WriteCA(tb testing.TB, dir string) string {
	tb.Helper()
	path := filepath.Join(dir, "smtp-ca.pem")
	if err := os.WriteFile(path, s.CertPEM, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Messages returns the accepted mails, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.accepted...)
}

// Seen counts messages offered, accepted or not.
func (s *Server) Seen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen
}

// WaitFor waits until n messages are accepted, failing the test after
// timeout.
func (s *Server) WaitFor(tb testing.TB, n int, timeout time.Duration) []Message {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		if got := s.Messages(); len(got) >= n {
			return got
		}
		select {
		case <-s.arrived:
		case <-deadline:
			tb.Fatalf("the SMTP server accepted %d of %d mails within %s (%d offered)", len(s.Messages()), n, timeout, s.Seen())
		}
	}
}

// session is one SMTP connection's transaction.
type session struct {
	s      *Server
	authed bool
	from   string
	to     []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != ss.s.opts.Username || pass != ss.s.opts.Password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && !ss.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	time.Sleep(ss.s.opts.Delay)
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.s
	s.mu.Lock()
	s.seen++
	n := s.seen
	s.mu.Unlock()
	if s.opts.Reply != nil {
		if err := s.opts.Reply(n); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.accepted = append(s.accepted, Message{From: ss.from, To: ss.to, Data: data})
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "trellis smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		return tls.Certificate{}, nil, errors.Join(errors.New("smtptest: certificate"), err)
	}
	return cert, certPEM, nil
}

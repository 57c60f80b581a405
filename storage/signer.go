package storage

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"time"
)

// ErrBadSignature is returned by Signer.Verify for a URL that is not
// signed by this signer, was altered, or has expired.
var ErrBadSignature = errors.New("storage: invalid or expired signature")

// Signer signs URLs to the app route that serves local objects without a
// session, and checks them.
type Signer struct {
	secret []byte
	prefix string
}

// NewSigner returns a signer with the given secret (at least 32 bytes)
// whose URLs start with prefix (such as "/files/signed").
func NewSigner(secret []byte, prefix string) (*Signer, error) {
	if len(secret) < 32 {
		return nil, errors.New("storage: a signing secret needs at least 32 bytes")
	}
	return &Signer{secret: append([]byte(nil), secret...), prefix: prefix}, nil
}

// Prefix is the path the signed URLs start with.
func (s *Signer) Prefix() string { return s.prefix }

// URL returns prefix/key?e=…&t=…&d=…&s=…, valid until exp.
func (s *Signer) URL(key string, exp time.Time, opts SignOptions) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	q := url.Values{"e": {e}, "t": {opts.ContentType}, "d": {opts.Disposition}, "s": {s.sign(key, e, opts)}}
	return s.prefix + "/" + key + "?" + q.Encode()
}

// Verify checks a signed URL's key and query at now and returns the
// response headers it was signed with. Any change to the key, expiry or
// headers, or an expiry in the past, gives ErrBadSignature.
func (s *Signer) Verify(key string, q url.Values, now time.Time) (SignOptions, error) {
	opts := SignOptions{ContentType: q.Get("t"), Disposition: q.Get("d")}
	e := q.Get("e")
	exp, err := strconv.ParseInt(e, 10, 64)
	if err != nil || !ValidKey(key) {
		return SignOptions{}, ErrBadSignature
	}
	want := s.sign(key, e, opts)
	if !hmac.Equal([]byte(want), []byte(q.Get("s"))) {
		return SignOptions{}, ErrBadSignature
	}
	if now.Unix() > exp {
		return SignOptions{}, ErrBadSignature
	}
	return opts, nil
}

func (s *Signer) sign(key, exp string, opts SignOptions) string {
	m := hmac.New(sha256.New, s.secret)
	for _, part := range []string{"trellis-file-v1", key, exp, opts.ContentType, opts.Disposition} {
		m.Write([]byte(strconv.Itoa(len(part))))
		m.Write([]byte{':'})
		m.Write([]byte(part))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

package middleware

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted, err := ParseTrustedProxies([]string{"10.0.0.0/8", "127.0.0.1", "2001:db8:ffff::/48", "::ffff:192.168.0.0/112"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		peer string
		xff  []string
		want string
	}{
		{"untrusted peer, no header", "203.0.113.9:1234", nil, "203.0.113.9"},
		{"untrusted peer: spoofed header ignored", "203.0.113.9:1234", []string{"1.2.3.4"}, "203.0.113.9"},
		{"untrusted peer: spoofed trusted-looking header ignored", "203.0.113.9:1234", []string{"10.0.0.1"}, "203.0.113.9"},
		{"one trusted hop", "127.0.0.1:80", []string{"198.51.100.7"}, "198.51.100.7"},
		{"chain of trusted proxies", "127.0.0.1:80", []string{"198.51.100.7, 10.1.1.1, 10.2.2.2"}, "198.51.100.7"},
		{"forged left entry ignored: right-most untrusted wins", "127.0.0.1:80", []string{"6.6.6.6, 198.51.100.7, 10.1.2.3"}, "198.51.100.7"},
		{"several header lines form one list", "127.0.0.1:80", []string{"6.6.6.6", "198.51.100.7, 10.0.0.9"}, "198.51.100.7"},
		{"last line decides before earlier ones", "127.0.0.1:80", []string{"198.51.100.1", "198.51.100.2"}, "198.51.100.2"},
		{"malformed only entry: the peer", "127.0.0.1:80", []string{"not-an-ip"}, "127.0.0.1"},
		{"malformed behind a trusted hop: that hop", "127.0.0.1:80", []string{"unknown, 10.3.3.3"}, "10.3.3.3"},
		{"malformed left of the client is never reached", "127.0.0.1:80", []string{"garbage, 198.51.100.7"}, "198.51.100.7"},
		{"host name is malformed", "127.0.0.1:80", []string{"evil.example"}, "127.0.0.1"},
		{"empty entries skipped", "127.0.0.1:80", []string{"198.51.100.7, , "}, "198.51.100.7"},
		{"empty header", "127.0.0.1:80", []string{""}, "127.0.0.1"},
		{"all trusted: the left-most hop", "127.0.0.1:80", []string{"10.0.0.1"}, "10.0.0.1"},
		{"IPv4 with port", "127.0.0.1:80", []string{"198.51.100.7:5555"}, "198.51.100.7"},
		{"IPv6", "127.0.0.1:80", []string{"2001:db8::1"}, "2001:db8::1"},
		{"IPv6 in brackets", "127.0.0.1:80", []string{"[2001:db8::1]"}, "2001:db8::1"},
		{"IPv6 in brackets with port", "127.0.0.1:80", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"IPv6 with zone", "127.0.0.1:80", []string{"fe80::1%eth0"}, "fe80::1"},
		{"percent-encoded zone is a zone too", "127.0.0.1:80", []string{"[fe80::1%25eth0]:443"}, "fe80::1"},
		{"IPv6 with zone in brackets and port", "127.0.0.1:80", []string{"[fe80::1%eth0]:443"}, "fe80::1"},
		{"trusted IPv6 proxy", "[2001:db8:ffff::5]:443", []string{"2001:db8:1::9"}, "2001:db8:1::9"},
		{"trusted IPv6 proxy with zone in peer", "[2001:db8:ffff::5%lo]:443", []string{"198.51.100.7"}, "198.51.100.7"},
		{"IPv4-mapped peer is trusted as IPv4", "[::ffff:127.0.0.1]:80", []string{"2001:db8::1"}, "2001:db8::1"},
		{"IPv4-mapped XFF entry becomes IPv4", "127.0.0.1:80", []string{"::ffff:198.51.100.7"}, "198.51.100.7"},
		{"IPv4-mapped trusted prefix", "192.168.1.1:80", []string{"198.51.100.7"}, "198.51.100.7"},
		{"mapped trusted hop in header is skipped", "127.0.0.1:80", []string{"198.51.100.7, ::ffff:10.0.0.1"}, "198.51.100.7"},
		{"bracket without closing", "127.0.0.1:80", []string{"[2001:db8::1"}, "127.0.0.1"},
		{"overlong garbage", "127.0.0.1:80", []string{"1.2.3.4.5"}, "127.0.0.1"},
		{"peer without port", "203.0.113.9", nil, "203.0.113.9"},
		{"unparseable peer", "@", []string{"198.51.100.7"}, "invalid IP"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientIP(r, trusted).String(); got != c.want {
				t.Errorf("peer %s xff %q: got %s, want %s", c.peer, c.xff, got, c.want)
			}
		})
	}
	if _, err := ParseTrustedProxies([]string{"nope"}); err == nil {
		t.Error("bad proxy accepted")
	}
}

// TestClientIPFromMiddleware checks that what ClientIP finds is what every
// consumer reads through ClientIPFrom, and that ClientIPFrom falls back to
// the peer without the middleware.
func TestClientIPFromMiddleware(t *testing.T) {
	trusted, _ := ParseTrustedProxies([]string{"127.0.0.1"})
	var got string
	h := RequestID(ClientIP(trusted)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = ClientIPFrom(r).String()
	})))
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:9"
	r.Header.Set("X-Forwarded-For", "6.6.6.6, [2001:db8::7]:1")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got != "2001:db8::7" {
		t.Errorf("through the middleware: %s", got)
	}
	bare := httptest.NewRequest("GET", "/", nil)
	bare.RemoteAddr = "[fe80::2%eth1]:80"
	bare.Header.Set("X-Forwarded-For", "6.6.6.6")
	if got := ClientIPFrom(bare).String(); got != "fe80::2" {
		t.Errorf("without the middleware: %s", got)
	}
}

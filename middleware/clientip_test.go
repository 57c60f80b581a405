package middleware

import (
	"net/http/httptest"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted, err := ParseTrustedProxies([]string{"10.0.0.0/8", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		peer string
		xff  []string
		want string
	}{
		{"203.0.113.9:1234", nil, "203.0.113.9"},
		{"203.0.113.9:1234", []string{"1.2.3.4"}, "203.0.113.9"},                      // untrusted peer: header ignored
		{"127.0.0.1:80", []string{"198.51.100.7"}, "198.51.100.7"},                    // one trusted hop
		{"127.0.0.1:80", []string{"6.6.6.6, 198.51.100.7, 10.1.2.3"}, "198.51.100.7"}, // forged left entry ignored
		{"127.0.0.1:80", []string{"6.6.6.6", "198.51.100.7"}, "198.51.100.7"},         // several header lines
		{"127.0.0.1:80", []string{"not-an-ip"}, "127.0.0.1"},
		{"127.0.0.1:80", []string{"10.0.0.1"}, "10.0.0.1"}, // all trusted: the last hop
		{"[::ffff:127.0.0.1]:80", []string{"2001:db8::1"}, "2001:db8::1"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := clientIP(r, trusted).String(); got != c.want {
			t.Errorf("peer %s xff %v: got %s, want %s", c.peer, c.xff, got, c.want)
		}
	}
	if _, err := ParseTrustedProxies([]string{"nope"}); err == nil {
		t.Error("bad proxy accepted")
	}
}

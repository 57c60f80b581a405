package auth

import (
	"net/http/httptest"
	"testing"
)

func TestIPKeyGroupsIPv6By64(t *testing.T) {
	key := func(addr string) string {
		r := httptest.NewRequest("POST", "/login", nil)
		r.RemoteAddr = addr
		return ipKey(r)
	}
	if a, b := key("[2001:db8:1:2::1]:1"), key("[2001:db8:1:2:ffff::9]:2"); a != b || a != "2001:db8:1:2::/64" {
		t.Errorf("same /64: %q %q", a, b)
	}
	if key("[2001:db8:1:3::1]:1") == key("[2001:db8:1:2::1]:1") {
		t.Error("different /64s share a key")
	}
	if got := key("203.0.113.5:9"); got != "203.0.113.5" {
		t.Errorf("IPv4 key %q", got)
	}
}

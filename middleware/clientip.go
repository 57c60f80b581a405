package middleware

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies parses IPs and CIDRs ("10.0.0.0/8", "127.0.0.1").
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
				// Client addresses are unmapped, so unmap the prefix too.
				p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("middleware: trusted proxy %q is neither an IP nor a CIDR", s)
		}
		a = a.Unmap().WithZone("")
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ClientIP finds the client's address and stores it for [ClientIPFrom]. The
// peer address is the client unless it is a trusted proxy; then
// X-Forwarded-For is read from the right, skipping trusted proxies, and the
// first untrusted address is the client. Entries a client could have forged
// (left of the first untrusted one) are never used.
//
// Every X-Forwarded-For line counts, in order, as one list. Entries may be
// bare addresses, IPv6 addresses in brackets, or either with a port
// ("[2001:db8::1]:443", "192.0.2.1:8080"); zones ("fe80::1%eth0") are
// dropped and IPv4-mapped IPv6 addresses become IPv4. Empty entries are
// skipped. A malformed entry ("unknown", a host name) stops the walk: the
// nearest trusted hop is then the client, because nothing left of it can
// be believed.
func ClientIP(trusted []netip.Prefix) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ip := clientIP(r, trusted)
			if st := stateFrom(r.Context()); st != nil {
				st.ip = ip
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, &requestState{ip: ip})))
		})
	}
}

// ClientIPFrom returns the client address found by [ClientIP], or the peer
// address when that middleware did not run. It is the one place the rest of
// Trellis (access log, auth, rate-limit keys) gets a client address from.
// The result is invalid when the peer address cannot be parsed (a Unix
// socket, for instance).
func ClientIPFrom(r *http.Request) netip.Addr {
	if st := stateFrom(r.Context()); st != nil && st.ip.IsValid() {
		return st.ip
	}
	return peerAddr(r)
}

func peerAddr(r *http.Request) netip.Addr {
	a, _ := parseHop(r.RemoteAddr)
	return a
}

// clientIP is the derivation behind [ClientIP].
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := peerAddr(r)
	if !isTrusted(peer, trusted) {
		return peer
	}
	values := r.Header["X-Forwarded-For"]
	for i := len(values) - 1; i >= 0; i-- {
		hops := values[i]
		for hops != "" {
			var hop string
			if j := strings.LastIndexByte(hops, ','); j >= 0 {
				hops, hop = hops[:j], hops[j+1:]
			} else {
				hops, hop = "", hops
			}
			if strings.TrimSpace(hop) == "" {
				continue
			}
			a, ok := parseHop(hop)
			if !ok {
				return peer // malformed chain: do not guess
			}
			if !isTrusted(a, trusted) {
				return a
			}
			peer = a
		}
	}
	return peer
}

// parseHop parses one address as found in RemoteAddr or X-Forwarded-For:
// "192.0.2.1", "192.0.2.1:80", "2001:db8::1", "[2001:db8::1]",
// "[2001:db8::1]:80", with or without an IPv6 zone. The zone is dropped and
// an IPv4-mapped address is returned as IPv4.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		if ap, perr := netip.ParseAddrPort(s); perr == nil {
			a, err = ap.Addr(), nil
		} else if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
			a, err = netip.ParseAddr(s[1 : len(s)-1])
		}
	}
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header (the scheme is case-insensitive) and whether there was one.
func BearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

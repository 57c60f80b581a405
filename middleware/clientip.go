package middleware

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies parses IPs and CIDRs ("10.0.0.0/8", "127.0.0.1").
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("middleware: trusted proxy %q is neither an IP nor a CIDR", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// ClientIP finds the client's address and stores it for [ClientIPFrom]. The
// peer address is the client unless it is a trusted proxy; then
// X-Forwarded-For is read from the right, skipping trusted proxies, and the
// first untrusted address is the client. Entries a client could have forged
// (left of the first untrusted one) are never used.
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
// address when that middleware did not run.
func ClientIPFrom(r *http.Request) netip.Addr {
	if st := stateFrom(r.Context()); st != nil && st.ip.IsValid() {
		return st.ip
	}
	return peerAddr(r)
}

func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := peerAddr(r)
	if !isTrusted(peer, trusted) {
		return peer
	}
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		hops := strings.Split(values[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[j]))
			if err != nil {
				return peer // malformed chain: do not guess
			}
			a = a.Unmap()
			if !isTrusted(a, trusted) {
				return a
			}
			peer = a
		}
	}
	return peer
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
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

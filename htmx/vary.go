package htmx

import (
	"net/http"
	"strings"
)

// Vary adds to h's Vary header the request headers that decide
// [Request.WantsFullPage]: HX-Request, HX-Boosted,
// HX-History-Restore-Request and HX-Request-Type. Call it on every response
// whose content depends on that decision, whether full page or fragment, so
// that shared caches store the variants separately. It follows the rules of
// [AddVary].
func Vary(h http.Header) {
	if h != nil {
		// Fast paths for the common cases: nothing to merge with, or only
		// the Accept-Encoding a compressor put there.
		switch v := h["Vary"]; {
		case len(v) == 0:
			h["Vary"] = []string{varyDecision}
			return
		case len(v) == 1 && v[0] == "Accept-Encoding":
			v[0] = "Accept-Encoding, " + varyDecision
			return
		}
	}
	AddVary(h, HeaderRequest, HeaderBoosted, HeaderHistoryRestoreRequest, HeaderRequestType)
}

// varyDecision is the Vary value Vary sets on a response without one.
const varyDecision = HeaderRequest + ", " + HeaderBoosted + ", " + HeaderHistoryRestoreRequest + ", " + HeaderRequestType

// AddVary adds header names to h's Vary header, for request headers a
// handler reads beyond those covered by [Vary] (HX-Target, for instance).
//
// Names already listed, in any of the existing comma-separated Vary values
// and in any letter case, are not repeated. When something is added, the
// existing lines are merged with the new names into a single Vary value;
// when nothing is added, h is left untouched. If Vary already contains "*"
// nothing is added, and adding "*" replaces the list with "*". Names that
// are not valid HTTP tokens (including "") are ignored. A nil h is left
// alone.
func AddVary(h http.Header, names ...string) {
	if h == nil {
		return
	}
	var tokens []string
	for _, line := range h.Values("Vary") {
		for tok := range strings.SplitSeq(line, ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				tokens = append(tokens, tok)
			}
		}
	}
	if containsFold(tokens, "*") {
		return
	}
	added := false
	for _, name := range names {
		if !isToken(name) || containsFold(tokens, name) {
			continue
		}
		if name == "*" {
			h.Set("Vary", "*")
			return
		}
		tokens = append(tokens, name)
		added = true
	}
	if added {
		h.Set("Vary", strings.Join(tokens, ", "))
	}
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

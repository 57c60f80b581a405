// Package negotiate holds the content-coding rules that the compression
// middleware and the static file server share, so that both answer the same
// Accept-Encoding header the same way.
package negotiate

import (
	"net/http"
	"strings"
)

// AcceptsGzip reports whether the Accept-Encoding field lines in h allow a
// gzip-coded response (RFC 9110 §12.5.3):
//
//   - every Accept-Encoding line counts, as one comma-separated list;
//   - codings compare case-insensitively, and "x-gzip" is gzip;
//   - an entry naming gzip decides; without one, "*" decides; with neither
//     (or no header at all) gzip is not used;
//   - a missing weight means q=1; q=0 refuses; whitespace around ';' and
//     '=' is tolerated; other parameters are ignored wherever they stand;
//   - a malformed weight counts as q=0, so a header that cannot be read
//     gets the identity coding, which every client accepts;
//   - when gzip is named more than once, any positive entry accepts.
func AcceptsGzip(h http.Header) bool {
	const (
		unset = iota
		refused
		accepted
	)
	gz, star := unset, unset
	for _, line := range h["Accept-Encoding"] {
		for line != "" {
			var elem string
			elem, line, _ = strings.Cut(line, ",")
			coding, params, _ := strings.Cut(elem, ";")
			coding = strings.TrimSpace(coding)
			var target *int
			switch {
			case strings.EqualFold(coding, "gzip"), strings.EqualFold(coding, "x-gzip"):
				target = &gz
			case coding == "*":
				target = &star
			default:
				continue
			}
			if positiveWeight(params) {
				*target = accepted
			} else if *target == unset {
				*target = refused
			}
		}
	}
	if gz != unset {
		return gz == accepted
	}
	return star == accepted
}

// positiveWeight reports whether the parameters of one Accept-Encoding
// element (the text after its first ';') carry a weight above zero. A
// missing q parameter means q=1.
func positiveWeight(params string) bool {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		name, value, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		return qPositive(strings.TrimSpace(value))
	}
	return true
}

// qPositive parses an RFC 9110 qvalue ("0", "0.5", "1", "1.000") and
// reports whether it is above zero; anything outside the grammar is zero.
func qPositive(q string) bool {
	if q == "" || len(q) > 5 || (len(q) > 1 && q[1] != '.') {
		return false
	}
	switch q[0] {
	case '1':
		for i := 2; i < len(q); i++ {
			if q[i] != '0' {
				return false
			}
		}
		return true
	case '0':
		positive := false
		for i := 2; i < len(q); i++ {
			if q[i] < '0' || q[i] > '9' {
				return false
			}
			positive = positive || q[i] != '0'
		}
		return positive
	}
	return false
}

// Compressible reports whether a response of media type ct is worth
// compressing: text/* (except text/event-stream, which streams small
// events that must not wait in a compressor), and JSON, XML and JavaScript
// in any of their forms (application/json, application/ld+json,
// image/svg+xml, application/javascript, ...). Images, fonts, archives,
// WebAssembly and everything else are left alone. Parameters such as
// charset are ignored; the comparison is case-insensitive.
func Compressible(ct string) bool {
	t, _, _ := strings.Cut(ct, ";")
	t = strings.ToLower(strings.TrimSpace(t))
	switch {
	case t == "text/event-stream":
		return false
	case strings.HasPrefix(t, "text/"):
		return true
	}
	_, sub, ok := strings.Cut(t, "/")
	if !ok {
		return false
	}
	if i := strings.LastIndexByte(sub, '+'); i >= 0 {
		sub = sub[i+1:]
	}
	switch sub {
	case "json", "xml", "javascript", "x-javascript", "ecmascript":
		return true
	}
	return false
}

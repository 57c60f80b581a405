package htmx

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file turns values into safe, ASCII-only response header values. See
// the package documentation for why non-ASCII text is escaped.

const (
	hexUpper = "0123456789ABCDEF"
	hexLower = "0123456789abcdef"
)

func isCtl(c byte) bool { return c < 0x20 || c == 0x7f }

// stripControls removes ASCII control bytes (including CR and LF) from s.
func stripControls(s string) string {
	i := 0
	for i < len(s) && !isCtl(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if !isCtl(s[i]) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// headerURL makes a URL header value: control bytes are removed, bytes
// outside ASCII are percent-encoded and surrounding spaces are trimmed.
func headerURL(s string) string {
	s = strings.Trim(stripControls(s), " ")
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf {
			b.WriteByte('%')
			b.WriteByte(hexUpper[c>>4])
			b.WriteByte(hexUpper[c&0xf])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// headerSelector makes a CSS selector (or hx-swap value) header value:
// control bytes are removed, surrounding spaces trimmed, and each non-ASCII
// character becomes a six-digit CSS hex escape, which needs no terminating
// space. A backslash before a non-ASCII character (an escape of that
// character) is folded into the hex escape. Invalid UTF-8 bytes become
// U+FFFD, as a browser would decode them.
func headerSelector(s string) string {
	s = strings.Trim(stripControls(s), " ")
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			if s[i+1] < utf8.RuneSelf {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
				i += 2
				continue
			}
			i++ // escaped non-ASCII character: hex-escape it below
			c = s[i]
		}
		if c < utf8.RuneSelf {
			b.WriteByte(c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		writeHexEscape6(&b, r)
		// A white space after a hex escape would be swallowed by it.
		if i < len(s) && s[i] == ' ' {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// writeHexEscape6 writes r as a backslash and exactly six lower-case hex
// digits, a CSS escape that ends without a terminating white space.
func writeHexEscape6(b *strings.Builder, r rune) {
	b.WriteByte('\\')
	for shift := 20; shift >= 0; shift -= 4 {
		b.WriteByte(hexLower[(r>>shift)&0xf])
	}
}

// asciiJSON rewrites JSON text so that every non-ASCII character is a \uXXXX
// escape (a surrogate pair above U+FFFF). Outside strings, JSON text is
// ASCII, so every such character is inside a string, where the escape means
// the same character.
func asciiJSON(js []byte) string {
	var b strings.Builder
	b.Grow(len(js))
	for i := 0; i < len(js); {
		c := js[i]
		if c < utf8.RuneSelf {
			b.WriteByte(c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(js[i:])
		i += size
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			writeU(&b, r1)
			writeU(&b, r2)
		} else {
			writeU(&b, r)
		}
	}
	return b.String()
}

func writeU(b *strings.Builder, r rune) {
	b.WriteString(`\u`)
	for shift := 12; shift >= 0; shift -= 4 {
		b.WriteByte(hexLower[(r>>shift)&0xf])
	}
}

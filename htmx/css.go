package htmx

import (
	"strconv"
	"strings"
)

// CSSEscape escapes ident for use as a CSS identifier, following the
// CSS.escape() algorithm of the CSSOM specification, so that any element id
// or class name can be used in a selector:
//
//   - NUL becomes U+FFFD;
//   - U+0001 to U+001F and U+007F, a leading digit, and a digit following a
//     leading "-" become hex escapes with a terminating space ("1a" gives
//     `\31 a`, "-1" gives `-\31 `);
//   - a lone "-" becomes `\-`;
//   - "-", "_", ASCII letters and digits, and all characters from U+0080 up
//     are kept;
//   - any other character is escaped with a backslash (`a\ b`, `a\:b`).
//
// Go strings may hold invalid UTF-8: each invalid byte is treated as U+FFFD,
// as a browser decoding the page would. The empty string escapes to itself
// (and is not a valid identifier).
//
// The hex escapes end with a space, which is fine in attribute values,
// HX-Retarget and hx-swap-oob targets, but not in hx-swap modifiers;
// [Swap.Scroll] and [Swap.Show] rewrite them.
func CSSEscape(ident string) string {
	var b strings.Builder
	b.Grow(len(ident) + 4)
	var firstRune rune
	n := 0 // index of the current character, in characters
	for _, r := range ident {
		switch {
		case r == 0:
			b.WriteRune('\uFFFD')
		case r <= 0x1f || r == 0x7f,
			n == 0 && isDigitRune(r),
			n == 1 && isDigitRune(r) && firstRune == '-':
			b.WriteByte('\\')
			b.WriteString(strconv.FormatInt(int64(r), 16))
			b.WriteByte(' ')
		case n == 0 && r == '-' && len(ident) == 1:
			b.WriteString(`\-`)
		case r >= 0x80 || r == '-' || r == '_' || isDigitRune(r) ||
			'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z':
			b.WriteRune(r)
		default:
			b.WriteByte('\\')
			b.WriteRune(r)
		}
		if n == 0 {
			firstRune = r
		}
		n++
	}
	return b.String()
}

// IDSelector returns a CSS selector matching the element whose id is id:
// "#" followed by [CSSEscape](id). For example IDSelector("1 a") is
// `#\31 \ a`.
func IDSelector(id string) string {
	return "#" + CSSEscape(id)
}

func isDigitRune(r rune) bool { return '0' <= r && r <= '9' }

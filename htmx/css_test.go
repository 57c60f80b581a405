package htmx_test

import (
	"testing"

	"github.com/trellis-go/trellis/htmx"
)

func TestCSSEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a", "a"},
		{"main", "main"},
		{"item-1_b", "item-1_b"},
		{"A-Z", "A-Z"},
		// Leading digits.
		{"1a", `\31 a`},
		{"0", `\30 `},
		{"12", `\31 2`},
		{"9lives", `\39 lives`},
		{"a1", "a1"},
		// Leading hyphen.
		{"-", `\-`},
		{"-1a", `-\31 a`},
		{"-9", `-\39 `},
		{"-a", "-a"},
		{"--", "--"},
		{"--1", "--1"},
		{"-_", "-_"},
		{"_1", "_1"},
		{"a-1", "a-1"},
		// NUL and control characters.
		{"\x00", "\uFFFD"},
		{"a\x00b", "a\uFFFDb"},
		{"-\x00", "-\uFFFD"},
		{"\x01\x02\x1e\x1f", `\1 \2 \1e \1f `},
		{"a\tb", `a\9 b`},
		{"a\nb", `a\a b`},
		{"\x7f", `\7f `},
		{"1\x7f", `\31 \7f `},
		// Non-ASCII is kept, including C1 controls (>= U+0080).
		{"é", "é"},
		{"日本", "日本"},
		{"😀", "😀"},
		{"\u0080\u009f\u00a0", "\u0080\u009f\u00a0"},
		{"\u0080-_\u00a9", "\u0080-_\u00a9"},
		{"1é", `\31 é`},
		// Invalid UTF-8 bytes are U+FFFD.
		{"\xff", "\uFFFD"},
		{"a\xe9b", "a\uFFFDb"},
		// Other ASCII characters get a backslash.
		{"a b", `a\ b`},
		{`a"b`, `a\"b`},
		{"a'b", `a\'b`},
		{"a:b", `a\:b`},
		{"a.b", `a\.b`},
		{"#id", `\#id`},
		{`a\b`, `a\\b`},
		{"a,b", `a\,b`},
		{"a/b[c]", `a\/b\[c\]`},
		{"~!@$%^&*()+=", `\~\!\@\$\%\^\&\*\(\)\+\=`},
		{"{}|`<>?;", "\\{\\}\\|\\`\\<\\>\\?\\;"},
		{`"><script>`, `\"\>\<script\>`},
	}
	for _, tt := range tests {
		if got := htmx.CSSEscape(tt.in); got != tt.want {
			t.Errorf("CSSEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIDSelector(t *testing.T) {
	tests := []struct{ in, want string }{
		{"main", "#main"},
		{"1a", `#\31 a`},
		{"my id", `#my\ id`},
		{"a:b", `#a\:b`},
		{"3f2a9c1e-0b7d", `#\33 f2a9c1e-0b7d`},
		{"", "#"},
	}
	for _, tt := range tests {
		if got := htmx.IDSelector(tt.in); got != tt.want {
			t.Errorf("IDSelector(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

package htmx

import (
	"net/textproto"
	"testing"
)

// The unexported lookup keys must be the canonical forms of the exported
// header names, or ParseRequest would never find them.
func TestCanonicalKeys(t *testing.T) {
	pairs := []struct{ key, name string }{
		{keyRequest, HeaderRequest},
		{keyBoosted, HeaderBoosted},
		{keyTarget, HeaderTarget},
		{keyTrigger, HeaderTrigger},
		{keyTriggerName, HeaderTriggerName},
		{keyCurrentURL, HeaderCurrentURL},
		{keyPrompt, HeaderPrompt},
		{keyHistoryRestore, HeaderHistoryRestoreRequest},
		{keyRequestType, HeaderRequestType},
		{keyTarget + keyAutoEncoded, HeaderTarget + "-URI-AutoEncoded"},
		{keyHistoryRestore + keyAutoEncoded, HeaderHistoryRestoreRequest + "-URI-AutoEncoded"},
	}
	for _, p := range pairs {
		if want := textproto.CanonicalMIMEHeaderKey(p.name); p.key != want {
			t.Errorf("key for %s = %q, want %q", p.name, p.key, want)
		}
	}
}

func TestHeaderURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/a?b=c#d", "/a?b=c#d"},
		{"/a\r\nSet-Cookie: x=1", "/aSet-Cookie: x=1"},
		{"/a\x00\tb\x7f", "/ab"},
		{"/café", "/caf%C3%A9"},
		{"/caf\xe9", "/caf%E9"},
		{"  /a b  ", "/a b"},
		{"\r\n", ""},
	}
	for _, tt := range tests {
		if got := headerURL(tt.in); got != tt.want {
			t.Errorf("headerURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHeaderSelector(t *testing.T) {
	tests := []struct{ in, want string }{
		{"#main", "#main"},
		{"closest tr", "closest tr"},
		{"#a\r\n.b", "#a.b"},
		{"#café", `#caf\0000e9`},
		{"#é .x", `#\0000e9  .x`},
		{`#\é`, `#\0000e9`},
		{`#a\:b`, `#a\:b`},
		{"#😀", `#\01f600`},
		{"#\xff", `#\00fffd`},
		{" #a ", "#a"},
	}
	for _, tt := range tests {
		if got := headerSelector(tt.in); got != tt.want {
			t.Errorf("headerSelector(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestASCIIJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":1}`, `{"a":1}`},
		{`"é"`, `"\u00e9"`},
		{`"日本"`, `"\u65e5\u672c"`},
		{`"😀"`, `"\ud83d\ude00"`},
	}
	for _, tt := range tests {
		if got := asciiJSON([]byte(tt.in)); got != tt.want {
			t.Errorf("asciiJSON(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestCompactSelector(t *testing.T) {
	tests := []struct{ in, want string }{
		{"#log", "#log"},
		{`#\31 a`, `#\000031a`},
		{`#\000031 a`, `#\000031a`},
		{`#\31  .b`, `#\000031.b`},
		{`#my\ id`, `#my\000020id`},
		{"#a > .b", "#a>.b"},
		{"#a, #b", "#a,#b"},
		{`[title="a b"]`, `[title="a\000020b"]`},
		{`[x='it\'s a']`, `[x='it\'s\000020a']`},
		{`#a\"b c`, `#a\"bc`},
		{"#a\x01b", "#ab"},
		{"#a\tb", "#ab"},
		{`#a\	b`, `#a\000009b`},
		{"[x=\"a\\\nb\"] ", `[x="ab"]`},
		{`#a\`, `#a\`},
	}
	for _, tt := range tests {
		if got := compactSelector(tt.in); got != tt.want {
			t.Errorf("compactSelector(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

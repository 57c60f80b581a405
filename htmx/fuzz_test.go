package htmx

import (
	"net/http"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func FuzzParseRequest(f *testing.F) {
	f.Add("true", "true", "true", "partial", "main", "btn", "save", "https://example.com/", "yes", false)
	f.Add(" TRUE ", "false", "1", "FULL", "a\x00b", "\xff", "a\r\nb", "/\u2028", "%E6%97%A5%0A", true)
	f.Add("", "", "", "", "", "", "", "", "", false)
	f.Add("true", "", "", "full", "caf%C3%A9", "%zz", "a+b", "%FF", "\t%41\t", true)
	f.Add("true", "", "", "partial", "tr#note-7", "button#save", "", "/notes", "", false)
	f.Fuzz(func(t *testing.T, request, boosted, history, typ, target, trigger, triggerName, currentURL, prompt string, encoded bool) {
		h := http.Header{}
		set := func(key, v string) {
			// Direct map writes: any bytes, as a hostile client (or a
			// proxy) might deliver, not only what net/http accepts.
			h[key] = []string{v, "true"}
		}
		set(keyRequest, request)
		set(keyBoosted, boosted)
		set(keyHistoryRestore, history)
		set(keyRequestType, typ)
		set(keyTarget, target)
		set(keyTrigger, trigger)
		set(keyTriggerName, triggerName)
		set(keyCurrentURL, currentURL)
		set(keyPrompt, prompt)
		if encoded {
			for _, k := range []string{keyTarget, keyTrigger, keyTriggerName, keyCurrentURL, keyPrompt} {
				h[k+keyAutoEncoded] = []string{"true"}
			}
		}
		r := &http.Request{Header: h}
		got := ParseRequest(r)

		fields := []struct {
			name, v string
			limit   int
		}{
			{"Target", got.Target, MaxHeaderValueLen},
			{"Trigger", got.Trigger, MaxHeaderValueLen},
			{"TriggerName", got.TriggerName, MaxHeaderValueLen},
			{"CurrentURL", got.CurrentURL, MaxHeaderValueLen},
			{"Prompt", got.Prompt, MaxPromptLen},
			{"RequestType", got.RequestType, MaxHeaderValueLen},
		}
		for _, fl := range fields {
			if len(fl.v) > fl.limit {
				t.Errorf("%s: %d bytes, limit %d", fl.name, len(fl.v), fl.limit)
			}
			if !utf8.ValidString(fl.v) {
				t.Errorf("%s = %q: invalid UTF-8", fl.name, fl.v)
			}
			for _, c := range fl.v {
				if unicode.IsControl(c) || c == '\u2028' || c == '\u2029' {
					t.Errorf("%s = %q: contains %U", fl.name, fl.v, c)
				}
			}
			if fl.v != strings.Trim(fl.v, " \t") {
				t.Errorf("%s = %q: not trimmed", fl.name, fl.v)
			}
		}
		switch got.RequestType {
		case "", RequestTypePartial, RequestTypeFull:
		default:
			t.Errorf("RequestType = %q", got.RequestType)
		}
		if got.Enabled != IsRequest(r) {
			t.Errorf("Enabled = %v, IsRequest = %v", got.Enabled, IsRequest(r))
		}
		if got.Enabled != strings.EqualFold(strings.TrimSpace(request), "true") {
			t.Errorf("Enabled = %v for %q", got.Enabled, request)
		}
		full := !got.Enabled || got.Boosted || got.HistoryRestore || got.RequestType == RequestTypeFull
		if got.WantsFullPage() != full {
			t.Errorf("WantsFullPage = %v for %+v", got.WantsFullPage(), got)
		}
		// htmx 2: values that are already clean pass through unchanged.
		// htmx 4 (a typed request): Target is the id part of "tag#id",
		// and HX-Trigger-Name is not an htmx 4 header.
		if got.RequestType == "" {
			if !encoded && cleanValue(target, MaxHeaderValueLen) == target && got.Target != target {
				t.Errorf("Target = %q, want %q", got.Target, target)
			}
		} else {
			if got.TriggerName != "" {
				t.Errorf("htmx 4 request: TriggerName = %q", got.TriggerName)
			}
			if got.Target != "" && !strings.Contains(target, "#") {
				t.Errorf("htmx 4 request: Target = %q from %q, which names no id", got.Target, target)
			}
		}
	})
}

func FuzzCSSEscape(f *testing.F) {
	for _, s := range []string{"", "a", "1a", "-", "-1", "--", "\x00", "\x01\x7f", "é😀", "a b", `"><script>`, "\xff\xfe", "-\x00", "\u0080"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := CSSEscape(s)
		if !utf8.ValidString(got) {
			t.Fatalf("CSSEscape(%q) = %q: invalid UTF-8", s, got)
		}
		for _, c := range got {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("CSSEscape(%q) = %q: contains %U", s, got, c)
			}
		}
		if s == "" {
			if got != "" {
				t.Fatalf("CSSEscape(\"\") = %q", got)
			}
			return
		}
		if !isCSSIdent(got) {
			t.Fatalf("CSSEscape(%q) = %q: not a CSS identifier", s, got)
		}
		// Each invalid UTF-8 byte reads as U+FFFD, and so does NUL.
		var b strings.Builder
		for _, r := range s {
			b.WriteRune(r)
		}
		want := b.String()
		want = strings.ReplaceAll(want, "\x00", "\uFFFD")
		if dec := cssUnescape(got); dec != want {
			t.Fatalf("CSSEscape(%q) = %q decodes to %q, want %q", s, got, dec, want)
		}
		// The white-space-free form used in hx-swap means the same.
		compact := compactSelector(got)
		if strings.ContainsAny(compact, " \t\n\r\f") {
			t.Fatalf("compactSelector(%q) = %q has white space", got, compact)
		}
		if !isCSSIdent(compact) || cssUnescape(compact) != want {
			t.Fatalf("compactSelector(%q) = %q decodes to %q, want %q", got, compact, cssUnescape(compact), want)
		}
		// So does the ASCII-only form used in response headers.
		hs := headerSelector(compact)
		for i := 0; i < len(hs); i++ {
			if hs[i] < 0x20 || hs[i] >= 0x7f {
				t.Fatalf("headerSelector(%q) = %q has byte %#x", compact, hs, hs[i])
			}
		}
		if !isCSSIdent(hs) || cssUnescape(hs) != want {
			t.Fatalf("headerSelector(%q) = %q decodes to %q, want %q", compact, hs, cssUnescape(hs), want)
		}
	})
}

// cssUnescape decodes the escapes of a CSS identifier (CSS Syntax 3,
// "consume an escaped code point"). It assumes valid escapes.
func cssUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			r, size := utf8.DecodeRuneInString(s[i:])
			b.WriteRune(r)
			i += size
			continue
		}
		i++
		if i == len(s) {
			b.WriteRune('\uFFFD')
			break
		}
		if !isHex(s[i]) {
			r, size := utf8.DecodeRuneInString(s[i:])
			b.WriteRune(r)
			i += size
			continue
		}
		var r rune
		for k := 0; k < 6 && i < len(s) && isHex(s[i]); k++ {
			r = r<<4 | rune(unhex(s[i]))
			i++
		}
		if i < len(s) && isCSSSpace(s[i]) {
			i++
		}
		if r == 0 || r > unicode.MaxRune || (0xd800 <= r && r <= 0xdfff) {
			r = '\uFFFD'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isCSSIdent reports whether s is exactly one CSS ident token (CSS Syntax 3,
// "would start an ident sequence" followed by "consume an ident sequence").
func isCSSIdent(s string) bool {
	validEscape := func(i int) bool { return i+1 < len(s) && s[i] == '\\' && s[i+1] != '\n' }
	identStart := func(i int) bool {
		c := s[i]
		return c == '_' || c >= 0x80 || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	i := 0
	switch {
	case s == "":
		return false
	case s[0] == '-':
		if len(s) < 2 || !(s[1] == '-' || identStart(1) || validEscape(1)) {
			return false
		}
	case !identStart(0) && !validEscape(0):
		return false
	}
	for i < len(s) {
		c := s[i]
		switch {
		case identStart(i) || c == '-' || '0' <= c && c <= '9':
			i++
		case validEscape(i):
			i++
			if isHex(s[i]) {
				for k := 0; k < 6 && i < len(s) && isHex(s[i]); k++ {
					i++
				}
				if i < len(s) && isCSSSpace(s[i]) {
					i++
				}
			} else {
				_, size := utf8.DecodeRuneInString(s[i:])
				i += size
			}
		default:
			return false
		}
	}
	return true
}

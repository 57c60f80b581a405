package htmx

import (
	"strconv"
	"strings"
	"time"
)

// Swap is an htmx swap specification in hx-swap syntax: a swap style
// optionally followed by modifiers separated by spaces, for example
// "outerHTML transition:true swap:100ms". Use it as the value of an hx-swap
// attribute (via String) or with [Reswap].
//
// Start from one of the style constants and chain modifier methods; each
// returns a new Swap and leaves the receiver unchanged. Setting a modifier
// that is already present replaces it in place, so the last call wins:
//
//	htmx.SwapOuterHTML.Transition(true).Scroll("bottom", "#log")
//	// "outerHTML transition:true scroll:#log:bottom"
//
// Any string in hx-swap syntax can also be converted directly, e.g.
// Swap("innerHTML settle:0ms").
type Swap string

// Swap styles supported by htmx 2.
const (
	// SwapInnerHTML replaces the target's content.
	SwapInnerHTML Swap = "innerHTML"
	// SwapOuterHTML replaces the target element itself.
	SwapOuterHTML Swap = "outerHTML"
	// SwapTextContent replaces the target's text content, without parsing
	// the response as HTML.
	SwapTextContent Swap = "textContent"
	// SwapBeforeBegin inserts the response before the target.
	SwapBeforeBegin Swap = "beforebegin"
	// SwapAfterBegin inserts the response before the target's first child.
	SwapAfterBegin Swap = "afterbegin"
	// SwapBeforeEnd inserts the response after the target's last child.
	SwapBeforeEnd Swap = "beforeend"
	// SwapAfterEnd inserts the response after the target.
	SwapAfterEnd Swap = "afterend"
	// SwapDelete deletes the target, whatever the response.
	SwapDelete Swap = "delete"
	// SwapNone swaps nothing; out-of-band swaps still happen.
	SwapNone Swap = "none"
)

// String returns s in hx-swap syntax.
func (s Swap) String() string { return string(s) }

// Transition sets the transition modifier: whether the swap uses the View
// Transitions API.
func (s Swap) Transition(on bool) Swap {
	return s.with("transition", strconv.FormatBool(on))
}

// SwapDelay sets the swap modifier: how long htmx waits between receiving
// the response and swapping it in. See [Swap.SettleDelay] for the duration
// format.
func (s Swap) SwapDelay(d time.Duration) Swap {
	return s.with("swap", formatDuration(d))
}

// SettleDelay sets the settle modifier: how long htmx waits between the
// swap and the settle step. d is rounded to the nearest millisecond and
// written in whole seconds when it is a non-zero multiple of one ("2s"), in
// milliseconds otherwise ("1500ms", "0ms"); negative durations count as 0.
func (s Swap) SettleDelay(d time.Duration) Swap {
	return s.with("settle", formatDuration(d))
}

// IgnoreTitle sets the ignoreTitle modifier: whether a <title> in the
// response is left out of the document title.
func (s Swap) IgnoreTitle(on bool) Swap {
	return s.with("ignoreTitle", strconv.FormatBool(on))
}

// Scroll sets the scroll modifier, scrolling to the position ("top" or
// "bottom") of the target, or of the element matched by the optional
// selector (only the first is used): "scroll:top", "scroll:#log:bottom".
//
// htmx splits hx-swap on white space, so the selector is rewritten into a
// white-space-free equivalent: CSS escapes such as those from [CSSEscape]
// ("#\31 a") are normalised to a six-digit form ("#\000031a"), white space
// inside quoted strings is escaped, and other white space is removed. That
// last step is lossless around the combinators ">", "+", "~" and ",", but it
// means descendant combinators ("#a .b") cannot be expressed; use a single
// compound selector, such as an id. White space in position is removed.
func (s Swap) Scroll(position string, selector ...string) Swap {
	return s.with("scroll", scrollTarget(position, selector))
}

// Show sets the show modifier, scrolling the viewport to show the position
// ("top" or "bottom") of the target or of the element matched by the
// optional selector: "show:top", "show:window:top", "show:#item:bottom". The
// selector is handled as in [Swap.Scroll].
func (s Swap) Show(position string, selector ...string) Swap {
	return s.with("show", scrollTarget(position, selector))
}

// ShowNone sets "show:none", disabling the scroll htmx would otherwise do
// (for boosted links, for instance).
func (s Swap) ShowNone() Swap {
	return s.with("show", "none")
}

// FocusScroll sets the focus-scroll modifier: whether htmx scrolls to a
// focused input after the swap.
func (s Swap) FocusScroll(on bool) Swap {
	return s.with("focus-scroll", strconv.FormatBool(on))
}

// with returns s with modifier key set to value, replacing the first
// existing occurrence in place and dropping any further ones.
func (s Swap) with(key, value string) Swap {
	modifier := key + ":" + value
	tokens := strings.Fields(string(s))
	out := tokens[:0]
	replaced := false
	for _, tok := range tokens {
		if strings.HasPrefix(tok, key+":") {
			if replaced {
				continue
			}
			tok, replaced = modifier, true
		}
		out = append(out, tok)
	}
	if !replaced {
		out = append(out, modifier)
	}
	return Swap(strings.Join(out, " "))
}

func scrollTarget(position string, selector []string) string {
	position = strings.Join(strings.Fields(position), "")
	if len(selector) > 0 {
		if sel := compactSelector(selector[0]); sel != "" {
			return sel + ":" + position
		}
	}
	return position
}

func formatDuration(d time.Duration) string {
	d = d.Round(time.Millisecond)
	switch {
	case d <= 0:
		return "0ms"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	default:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	}
}

// compactSelector rewrites a CSS selector without white space, as described
// on [Swap.Scroll]. Control characters other than white space are dropped.
func compactSelector(sel string) string {
	if strings.IndexFunc(sel, isCSSSpaceOrCtl) < 0 {
		return sel
	}
	var b strings.Builder
	b.Grow(len(sel) + 8)
	var quote byte // the open string's quote character, or 0
	for i := 0; i < len(sel); {
		c := sel[i]
		switch {
		case c == '\\':
			i = compactEscape(&b, sel, i, quote != 0)
		case quote != 0 && c == quote:
			quote = 0
			b.WriteByte(c)
			i++
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
			b.WriteByte(c)
			i++
		case isCSSSpace(c):
			if quote != 0 {
				writeHexEscape6(&b, rune(c))
			}
			i++
		case isCtl(c):
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// compactEscape writes the CSS escape starting with the backslash at
// sel[i] without white space and returns the index after it.
func compactEscape(b *strings.Builder, sel string, i int, inString bool) int {
	j := i + 1
	if j == len(sel) {
		b.WriteByte('\\')
		return j
	}
	if isHex(sel[j]) {
		var r rune
		for k := 0; k < 6 && j < len(sel) && isHex(sel[j]); k++ {
			r = r<<4 | rune(unhex(sel[j]))
			j++
		}
		if j < len(sel) && isCSSSpace(sel[j]) {
			j++ // the escape's terminating white space
		}
		writeHexEscape6(b, r)
		return j
	}
	c := sel[j]
	switch {
	case inString && (c == '\n' || c == '\r' || c == '\f'):
		// A line continuation inside a string stands for no character.
		if c == '\r' && j+1 < len(sel) && sel[j+1] == '\n' {
			j++
		}
		return j + 1
	case c == ' ' || c == '\t':
		writeHexEscape6(b, rune(c))
		return j + 1
	case isCtl(c):
		return j + 1
	}
	// An escaped character, written as is. Copying it here keeps an
	// escaped quote from opening or closing a string.
	b.WriteByte('\\')
	b.WriteByte(c)
	return j + 1
}

func isCSSSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

func isCSSSpaceOrCtl(r rune) bool {
	return r < 0x80 && (isCSSSpace(byte(r)) || isCtl(byte(r)))
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

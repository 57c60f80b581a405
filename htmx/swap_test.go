package htmx_test

import (
	"testing"
	"time"

	"github.com/trellis-go/trellis/htmx"
)

func TestSwapStyles(t *testing.T) {
	tests := []struct {
		s    htmx.Swap
		want string
	}{
		{htmx.SwapInnerHTML, "innerHTML"},
		{htmx.SwapOuterHTML, "outerHTML"},
		{htmx.SwapTextContent, "textContent"},
		{htmx.SwapBeforeBegin, "beforebegin"},
		{htmx.SwapAfterBegin, "afterbegin"},
		{htmx.SwapBeforeEnd, "beforeend"},
		{htmx.SwapAfterEnd, "afterend"},
		{htmx.SwapDelete, "delete"},
		{htmx.SwapNone, "none"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestSwapModifiers(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		s    htmx.Swap
		want string
	}{
		{"transition true", htmx.SwapInnerHTML.Transition(true), "innerHTML transition:true"},
		{"transition false", htmx.SwapInnerHTML.Transition(false), "innerHTML transition:false"},
		{"swap delay ms", htmx.SwapInnerHTML.SwapDelay(100 * ms), "innerHTML swap:100ms"},
		{"swap delay whole seconds", htmx.SwapInnerHTML.SwapDelay(2 * time.Second), "innerHTML swap:2s"},
		{"swap delay minutes", htmx.SwapInnerHTML.SwapDelay(2 * time.Minute), "innerHTML swap:120s"},
		{"swap delay 1.5s", htmx.SwapInnerHTML.SwapDelay(1500 * ms), "innerHTML swap:1500ms"},
		{"swap delay zero", htmx.SwapInnerHTML.SwapDelay(0), "innerHTML swap:0ms"},
		{"swap delay negative", htmx.SwapInnerHTML.SwapDelay(-5 * ms), "innerHTML swap:0ms"},
		{"swap delay rounds down", htmx.SwapInnerHTML.SwapDelay(1400 * time.Microsecond), "innerHTML swap:1ms"},
		{"swap delay rounds up", htmx.SwapInnerHTML.SwapDelay(1500 * time.Microsecond), "innerHTML swap:2ms"},
		{"swap delay sub-ms", htmx.SwapInnerHTML.SwapDelay(400 * time.Microsecond), "innerHTML swap:0ms"},
		{"swap delay rounds to second", htmx.SwapInnerHTML.SwapDelay(time.Second + 300*time.Microsecond), "innerHTML swap:1s"},
		{"settle delay", htmx.SwapOuterHTML.SettleDelay(20 * ms), "outerHTML settle:20ms"},
		{"settle delay seconds", htmx.SwapOuterHTML.SettleDelay(time.Second), "outerHTML settle:1s"},
		{"ignore title", htmx.SwapInnerHTML.IgnoreTitle(true), "innerHTML ignoreTitle:true"},
		{"ignore title false", htmx.SwapInnerHTML.IgnoreTitle(false), "innerHTML ignoreTitle:false"},
		{"scroll top", htmx.SwapInnerHTML.Scroll("top"), "innerHTML scroll:top"},
		{"scroll selector", htmx.SwapBeforeEnd.Scroll("bottom", "#log"), "beforeend scroll:#log:bottom"},
		{"scroll empty selector", htmx.SwapBeforeEnd.Scroll("bottom", ""), "beforeend scroll:bottom"},
		{"scroll extra selectors ignored", htmx.SwapBeforeEnd.Scroll("bottom", "#a", "#b"), "beforeend scroll:#a:bottom"},
		{"scroll escaped id", htmx.SwapInnerHTML.Scroll("top", htmx.IDSelector("1a")), `innerHTML scroll:#\000031a:top`},
		{"scroll id with space", htmx.SwapInnerHTML.Scroll("top", htmx.IDSelector("my id")), `innerHTML scroll:#my\000020id:top`},
		{"scroll pseudo-class", htmx.SwapInnerHTML.Scroll("top", "li:last-child"), "innerHTML scroll:li:last-child:top"},
		{"scroll combinator", htmx.SwapInnerHTML.Scroll("top", "#list > li"), "innerHTML scroll:#list>li:top"},
		{"scroll padded position", htmx.SwapInnerHTML.Scroll(" bottom "), "innerHTML scroll:bottom"},
		{"show top", htmx.SwapInnerHTML.Show("top"), "innerHTML show:top"},
		{"show window", htmx.SwapInnerHTML.Show("top", "window"), "innerHTML show:window:top"},
		{"show selector", htmx.SwapAfterEnd.Show("bottom", "#item-3"), "afterend show:#item-3:bottom"},
		{"show none", htmx.SwapInnerHTML.ShowNone(), "innerHTML show:none"},
		{"focus scroll", htmx.SwapInnerHTML.FocusScroll(true), "innerHTML focus-scroll:true"},
		{"focus scroll false", htmx.SwapInnerHTML.FocusScroll(false), "innerHTML focus-scroll:false"},
		{
			"every modifier",
			htmx.SwapOuterHTML.Transition(true).SwapDelay(100*ms).SettleDelay(time.Second).
				IgnoreTitle(true).Scroll("bottom", "#log").Show("top").FocusScroll(true),
			"outerHTML transition:true swap:100ms settle:1s ignoreTitle:true scroll:#log:bottom show:top focus-scroll:true",
		},
		{"replace in place", htmx.SwapInnerHTML.Transition(true).SwapDelay(time.Second).Transition(false), "innerHTML transition:false swap:1s"},
		{"show none replaces show", htmx.SwapInnerHTML.Show("top").SettleDelay(0).ShowNone(), "innerHTML show:none settle:0ms"},
		{"show replaces show none", htmx.SwapInnerHTML.ShowNone().Show("bottom"), "innerHTML show:bottom"},
		{"scroll does not touch show", htmx.SwapInnerHTML.Show("top").Scroll("bottom"), "innerHTML show:top scroll:bottom"},
		{"swap vs settle keys", htmx.SwapInnerHTML.SwapDelay(ms).SettleDelay(2 * ms).SwapDelay(3 * ms), "innerHTML swap:3ms settle:2ms"},
		{"no style", htmx.Swap("").Transition(true), "transition:true"},
		{"raw string normalised", htmx.Swap("  innerHTML  transition:true   transition:false ").Transition(true), "innerHTML transition:true"},
		{"raw string keeps unknown", htmx.Swap("morph:outerHTML").SwapDelay(ms), "morph:outerHTML swap:1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if string(tt.s) != tt.want {
				t.Errorf("string(s) = %q, want %q", string(tt.s), tt.want)
			}
		})
	}
}

func TestSwapImmutable(t *testing.T) {
	base := htmx.SwapInnerHTML.Transition(true)
	a := base.SwapDelay(time.Second)
	b := base.SwapDelay(2 * time.Second)
	if base != "innerHTML transition:true" || a != "innerHTML transition:true swap:1s" || b != "innerHTML transition:true swap:2s" {
		t.Errorf("base=%q a=%q b=%q", base, a, b)
	}
}

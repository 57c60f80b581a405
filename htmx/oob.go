package htmx

import (
	"context"
	"fmt"
	"html"
	"io"
	"strings"
)

// Component is anything that renders HTML to a writer. Its method set is
// that of templ.Component, so templ components can be used wherever a
// Component is expected and the Components returned by this package can be
// used in templ templates (for example as @htmx.OOB(...)).
type Component interface {
	// Render writes the component's HTML to w.
	Render(ctx context.Context, w io.Writer) error
}

// ComponentFunc adapts a function to [Component].
type ComponentFunc func(ctx context.Context, w io.Writer) error

// Render calls f(ctx, w).
func (f ComponentFunc) Render(ctx context.Context, w io.Writer) error {
	return f(ctx, w)
}

// OOB returns a component rendering an out-of-band swap element:
//
//	<tag id="ID" hx-swap-oob="SWAP">children</tag>
//
// htmx removes such elements from the response and swaps each into the page
// on its own, wherever it appears in the response.
//
// swap is an hx-swap-oob value: "true" (the same as "outerHTML") replaces
// the element with the same id; a style ("innerHTML", "beforeend", ...)
// swaps into that element; "style:selector" swaps into the elements the
// selector matches (see [OOBSwapTarget] and [IDSelector]). swap is trimmed
// of surrounding white space, and an empty swap means "true". Both id and
// swap are HTML-escaped. id may be empty only when
// swap names a selector, in which case the id attribute is omitted.
//
// The elements tr, td, th, thead, tbody, tfoot, colgroup, caption, col and
// li cannot stand on their own where htmx 2 parses the response, so they
// are wrapped in a template that works with htmx 2 and htmx 4:
//
//	<template hx type="partial" hx-target="#ID" hx-swap="outerHTML"><tr id="ID" hx-swap-oob="true">…</tr></template>
//
// htmx 2 takes out-of-band elements out of templates and discards the
// templates. htmx 4 does not look into templates for hx-swap-oob; it reads
// the template as an htmx 4 partial with the same target and swap style
// (with strip:true for styles other than outer*, so that the children are
// swapped, as htmx 2 does for such out-of-band swaps).
//
// Void elements (input, img, br, ...) are rendered without children or an
// end tag. A nil children renders an empty element.
//
// Render fails, writing nothing, if tag is not a lower-case element name of
// ASCII letters and digits starting with a letter, if id is empty while
// swap names no selector, or if a void element is given children. Errors
// from writing or from children are returned wrapped.
func OOB(tag, id, swap string, children Component) Component {
	return oobElement{tag: tag, id: id, swap: swap, children: children}
}

// OOBSwapTarget returns the hx-swap-oob value that swaps with style into
// the elements matched by selector: style + ":" + selector, for example
// OOBSwapTarget(SwapBeforeEnd, IDSelector("list")) is "beforeend:#list". An
// empty style means [SwapOuterHTML]. Modifiers in style are dropped, as
// hx-swap-oob does not support them in this form.
func OOBSwapTarget(style Swap, selector string) string {
	s := string(style)
	if i := strings.IndexAny(s, " \t\n\r\f"); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		s = string(SwapOuterHTML)
	}
	return s + ":" + selector
}

type oobElement struct {
	tag, id, swap string
	children      Component
}

// Render implements [Component].
func (e oobElement) Render(ctx context.Context, w io.Writer) error {
	if !validTag(e.tag) {
		return fmt.Errorf("htmx: OOB: invalid tag %q: want a lower-case element name of ASCII letters and digits", e.tag)
	}
	swap := strings.TrimSpace(e.swap)
	if swap == "" {
		swap = "true"
	}
	if e.id == "" && strings.IndexByte(swap, ':') <= 0 {
		return fmt.Errorf("htmx: OOB <%s hx-swap-oob=%q>: empty id and no target selector", e.tag, swap)
	}
	void := isVoidElement(e.tag)
	if void && e.children != nil {
		return fmt.Errorf("htmx: OOB <%s id=%q>: void element cannot have children", e.tag, e.id)
	}
	wrap := needsTemplate(e.tag)

	var b strings.Builder
	if wrap {
		target, style := partialOf(e.id, swap)
		b.WriteString(`<template hx type="partial" hx-target="`)
		b.WriteString(html.EscapeString(target))
		b.WriteString(`" hx-swap="`)
		b.WriteString(html.EscapeString(style))
		b.WriteString(`">`)
	}
	b.WriteString("<")
	b.WriteString(e.tag)
	if e.id != "" {
		b.WriteString(` id="`)
		b.WriteString(html.EscapeString(e.id))
		b.WriteString(`"`)
	}
	b.WriteString(` hx-swap-oob="`)
	b.WriteString(html.EscapeString(swap))
	b.WriteString(`">`)
	if !void {
		if e.children != nil {
			if _, err := io.WriteString(w, b.String()); err != nil {
				return fmt.Errorf("htmx: OOB <%s id=%q>: %w", e.tag, e.id, err)
			}
			b.Reset()
			if err := e.children.Render(ctx, w); err != nil {
				return fmt.Errorf("htmx: OOB <%s id=%q>: rendering children: %w", e.tag, e.id, err)
			}
		}
		b.WriteString("</")
		b.WriteString(e.tag)
		b.WriteString(">")
	}
	if wrap {
		b.WriteString("</template>")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("htmx: OOB <%s id=%q>: %w", e.tag, e.id, err)
	}
	return nil
}

// partialOf returns the htmx 4 partial target and hx-swap value that do
// what hx-swap-oob="swap" on an element with this id does: "true" is
// outerHTML on #id, "style:selector" is style on selector, and any other
// value is that style on #id. Styles other than outer* get strip:true.
func partialOf(id, swap string) (target, style string) {
	target, style = IDSelector(id), swap
	if i := strings.IndexByte(swap, ':'); i > 0 && !strings.ContainsAny(swap[:i], " \t\n\r\f") {
		style, target = swap[:i], swap[i+1:]
	}
	if style == "true" {
		style = string(SwapOuterHTML)
	}
	if !strings.HasPrefix(style, "outer") {
		style += " strip:true"
	}
	return target, style
}

func validTag(tag string) bool {
	if tag == "" || tag[0] < 'a' || tag[0] > 'z' {
		return false
	}
	for i := 1; i < len(tag); i++ {
		if c := tag[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// needsTemplate reports whether an element must be wrapped in <template> to
// survive parsing outside its usual parent.
func needsTemplate(tag string) bool {
	switch tag {
	case "tr", "td", "th", "thead", "tbody", "tfoot", "colgroup", "caption", "col", "li":
		return true
	}
	return false
}

func isVoidElement(tag string) bool {
	switch tag {
	case "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr":
		return true
	}
	return false
}

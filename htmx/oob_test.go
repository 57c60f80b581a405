package htmx_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/trellis-go/trellis/htmx"
)

// text renders s verbatim.
func text(s string) htmx.Component {
	return htmx.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	})
}

func render(c htmx.Component) (string, error) {
	var b strings.Builder
	err := c.Render(context.Background(), &b)
	return b.String(), err
}

func TestOOB(t *testing.T) {
	tests := []struct {
		name string
		c    htmx.Component
		want string
	}{
		{"div", htmx.OOB("div", "count", "", text("5")), `<div id="count" hx-swap-oob="true">5</div>`},
		{"explicit true", htmx.OOB("span", "n", "true", text("x")), `<span id="n" hx-swap-oob="true">x</span>`},
		{"blank swap", htmx.OOB("span", "n", "  ", text("x")), `<span id="n" hx-swap-oob="true">x</span>`},
		{"padded swap", htmx.OOB("span", "n", " innerHTML\n", text("x")), `<span id="n" hx-swap-oob="innerHTML">x</span>`},
		{"style", htmx.OOB("div", "msgs", "innerHTML", text("<p>hi</p>")), `<div id="msgs" hx-swap-oob="innerHTML"><p>hi</p></div>`},
		{"digits in tag", htmx.OOB("h1", "title", "", text("T")), `<h1 id="title" hx-swap-oob="true">T</h1>`},
		{
			"selector target",
			htmx.OOB("div", "", htmx.OOBSwapTarget(htmx.SwapBeforeEnd, htmx.IDSelector("list")), text("<p>new</p>")),
			`<div hx-swap-oob="beforeend:#list"><p>new</p></div>`,
		},
		{
			"selector target with id",
			htmx.OOB("div", "n1", "beforeend:"+htmx.IDSelector("1 list"), text("x")),
			`<div id="n1" hx-swap-oob="beforeend:#\31 \ list">x</div>`,
		},
		{"nil children", htmx.OOB("div", "x", "", nil), `<div id="x" hx-swap-oob="true"></div>`},
		{"tr wrapped", htmx.OOB("tr", "row-1", "", text("<td>a</td>")), `<template hx type="partial" hx-target="#row-1" hx-swap="outerHTML"><tr id="row-1" hx-swap-oob="true"><td>a</td></tr></template>`},
		{"li wrapped", htmx.OOB("li", "item-2", "outerHTML", text("two")), `<template hx type="partial" hx-target="#item-2" hx-swap="outerHTML"><li id="item-2" hx-swap-oob="outerHTML">two</li></template>`},
		{"tbody wrapped nil children", htmx.OOB("tbody", "rows", "beforeend", nil), `<template hx type="partial" hx-target="#rows" hx-swap="beforeend strip:true"><tbody id="rows" hx-swap-oob="beforeend"></tbody></template>`},
		{"col wrapped void", htmx.OOB("col", "c", "", nil), `<template hx type="partial" hx-target="#c" hx-swap="outerHTML"><col id="c" hx-swap-oob="true"></template>`},
		{
			"tr wrapped selector target",
			htmx.OOB("tr", "", htmx.OOBSwapTarget(htmx.SwapAfterEnd, htmx.IDSelector("1 row")), text("<td>b</td>")),
			`<template hx type="partial" hx-target="#\31 \ row" hx-swap="afterend strip:true"><tr hx-swap-oob="afterend:#\31 \ row"><td>b</td></tr></template>`,
		},
		{
			"tr wrapped hostile swap",
			htmx.OOB("tr", "a", `innerHTML:#x" onmouseover='alert(1)'`, nil),
			`<template hx type="partial" hx-target="#x&#34; onmouseover=&#39;alert(1)&#39;" hx-swap="innerHTML strip:true"><tr id="a" hx-swap-oob="innerHTML:#x&#34; onmouseover=&#39;alert(1)&#39;"></tr></template>`,
		},
		{"void input", htmx.OOB("input", "q", "", nil), `<input id="q" hx-swap-oob="true">`},
		{
			"hostile id",
			htmx.OOB("div", `"><script>alert(1)</script>`, "", text("x")),
			`<div id="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" hx-swap-oob="true">x</div>`,
		},
		{
			"hostile swap",
			htmx.OOB("div", "a", `beforeend:#x" onmouseover='alert(1)' &`, text("x")),
			`<div id="a" hx-swap-oob="beforeend:#x&#34; onmouseover=&#39;alert(1)&#39; &amp;">x</div>`,
		},
		{"nested OOB", htmx.OOB("div", "outer", "", htmx.OOB("span", "inner", "", text("i"))), `<div id="outer" hx-swap-oob="true"><span id="inner" hx-swap-oob="true">i</span></div>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := render(tt.c)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got != tt.want {
				t.Errorf("Render =\n %s\nwant\n %s", got, tt.want)
			}
		})
	}
}

func TestOOBTemplateWrappedTags(t *testing.T) {
	wrapped := map[string]bool{
		"tr": true, "td": true, "th": true, "thead": true, "tbody": true, "tfoot": true,
		"colgroup": true, "caption": true, "col": true, "li": true,
	}
	for _, tag := range []string{"tr", "td", "th", "thead", "tbody", "tfoot", "colgroup", "caption", "col", "li", "div", "span", "table", "ul", "p", "section", "template", "option"} {
		got, err := render(htmx.OOB(tag, "x", "", nil))
		if err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
		if has := strings.HasPrefix(got, `<template hx type="partial" hx-target="#x" hx-swap="outerHTML"><`+tag+" ") && strings.HasSuffix(got, "</template>"); has != wrapped[tag] {
			t.Errorf("%s: %s (wrapped=%v, want %v)", tag, got, has, wrapped[tag])
		}
	}
}

func TestOOBErrors(t *testing.T) {
	tests := []struct {
		name string
		c    htmx.Component
		want string // substring of the error
	}{
		{"empty tag", htmx.OOB("", "x", "", nil), "invalid tag"},
		{"upper case tag", htmx.OOB("Div", "x", "", nil), "invalid tag"},
		{"custom element", htmx.OOB("my-el", "x", "", nil), "invalid tag"},
		{"leading digit", htmx.OOB("1div", "x", "", nil), "invalid tag"},
		{"space", htmx.OOB("div ", "x", "", nil), "invalid tag"},
		{"markup", htmx.OOB("div><script", "x", "", nil), "invalid tag"},
		{"non-ASCII", htmx.OOB("dív", "x", "", nil), "invalid tag"},
		{"attribute injection", htmx.OOB(`div onclick="x"`, "x", "", nil), "invalid tag"},
		{"empty id, true", htmx.OOB("div", "", "true", nil), "empty id"},
		{"empty id, style only", htmx.OOB("div", "", "innerHTML", nil), "empty id"},
		{"empty id, leading colon", htmx.OOB("div", "", ":#x", nil), "empty id"},
		{"void with children", htmx.OOB("img", "x", "", text("no")), "void element"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := render(tt.c)
			if err == nil {
				t.Fatalf("Render: no error, wrote %q", got)
			}
			if !strings.HasPrefix(err.Error(), "htmx: OOB") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
			if got != "" {
				t.Errorf("wrote %q before failing", got)
			}
		})
	}
}

var errChild = errors.New("child failed")

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestOOBPropagatesErrors(t *testing.T) {
	failing := htmx.ComponentFunc(func(context.Context, io.Writer) error { return errChild })
	if _, err := render(htmx.OOB("div", "x", "", failing)); !errors.Is(err, errChild) {
		t.Errorf("children error: got %v", err)
	}
	errWrite := errors.New("write failed")
	for _, c := range []htmx.Component{htmx.OOB("div", "x", "", nil), htmx.OOB("div", "x", "", text("a"))} {
		if err := c.Render(context.Background(), failWriter{errWrite}); !errors.Is(err, errWrite) {
			t.Errorf("write error: got %v", err)
		}
	}
}

type ctxKey struct{}

func TestOOBPassesContext(t *testing.T) {
	ctx := context.WithValue(context.Background(), ctxKey{}, "v")
	child := htmx.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		_, err := io.WriteString(w, ctx.Value(ctxKey{}).(string))
		return err
	})
	var b strings.Builder
	if err := htmx.OOB("p", "x", "", child).Render(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if want := `<p id="x" hx-swap-oob="true">v</p>`; b.String() != want {
		t.Errorf("got %s, want %s", b.String(), want)
	}
}

func TestOOBSwapTarget(t *testing.T) {
	tests := []struct {
		style    htmx.Swap
		selector string
		want     string
	}{
		{htmx.SwapBeforeEnd, "#list", "beforeend:#list"},
		{htmx.SwapInnerHTML, htmx.IDSelector("1a"), `innerHTML:#\31 a`},
		{"", "#a", "outerHTML:#a"},
		{htmx.SwapInnerHTML.Transition(true), "#x", "innerHTML:#x"},
		{"afterbegin", "closest ul", "afterbegin:closest ul"},
	}
	for _, tt := range tests {
		if got := htmx.OOBSwapTarget(tt.style, tt.selector); got != tt.want {
			t.Errorf("OOBSwapTarget(%q, %q) = %q, want %q", tt.style, tt.selector, got, tt.want)
		}
	}
}

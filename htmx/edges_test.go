package htmx_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/trellis-go/trellis/htmx"
)

// Every HTML void element renders without an end tag, and refuses children.
func TestOOBVoidElements(t *testing.T) {
	for _, tag := range []string{"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"} {
		var b strings.Builder
		if err := htmx.OOB(tag, "x", "", nil).Render(context.Background(), &b); err != nil {
			t.Errorf("%s: %v", tag, err)
			continue
		}
		want := "<" + tag + ` id="x" hx-swap-oob="true">`
		if tag == "col" {
			want = `<template hx type="partial" hx-target="#x" hx-swap="outerHTML">` + want + "</template>"
		}
		if b.String() != want {
			t.Errorf("%s: %q, want %q", tag, b.String(), want)
		}
		if err := htmx.OOB(tag, "x", "", text("child")).Render(context.Background(), &strings.Builder{}); err == nil {
			t.Errorf("%s accepted children", tag)
		}
	}
}

// A line continuation inside a selector's string stands for nothing,
// whether the line ends in LF, CR LF, CR or FF.
func TestSwapSelectorLineContinuations(t *testing.T) {
	for _, eol := range []string{"\n", "\r\n", "\r", "\f"} {
		got := htmx.Swap("innerHTML").Show("top", `[title="a\`+eol+`b"]`).String()
		if want := `innerHTML show:[title="ab"]:top`; got != want {
			t.Errorf("%q: %q, want %q", eol, got, want)
		}
	}
}

// Vary after a compressor's Accept-Encoding keeps both, in one value.
func TestVaryAfterAcceptEncoding(t *testing.T) {
	h := http.Header{}
	h["Vary"] = []string{"Accept-Encoding"}
	htmx.Vary(h)
	want := "Accept-Encoding, HX-Request, HX-Boosted, HX-History-Restore-Request, HX-Request-Type"
	if got := h.Values("Vary"); len(got) != 1 || got[0] != want {
		t.Errorf("Vary: %q, want %q", got, want)
	}
}

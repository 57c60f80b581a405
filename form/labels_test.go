package form

import (
	"bytes"
	"context"
	"net/url"
	"slices"
	"testing"

	"github.com/trellis-go/trellis/render"
)

type stop struct {
	City string `form:"city" validate:"required" label:"Town"`
}

type trip struct {
	Title string   `validate:"required" label:"Headline"`
	Codes []string `form:"codes" validate:"dive,min=2" label:"Code"`
	Stops []stop   `form:"stops" validate:"dive"`
	Note  string   `form:"note" validate:"max=3"`
}

// Field errors use the declared labels and order for untagged fields,
// indexed slice elements and structs inside slices.
func TestLabelsForUntaggedIndexedAndNestedFields(t *testing.T) {
	var tr trip
	f, err := New(render.New(render.Options{})).Decode(post(url.Values{
		"codes": {"ok", "x"}, "stops[0].city": {"Oslo"}, "stops[1].city": {""}, "note": {"long"},
	}), &tr)
	if err != nil {
		t.Fatal(err)
	}
	want := []FieldError{
		{"Title", "Headline is required."},
		{"codes[1]", "Code must be at least 2 characters."},
		{"stops[1].city", "Town is required."},
		{"note", "Note must be at most 3 characters."},
	}
	if !slices.Equal(f.Errors, want) {
		t.Errorf("errors %+v\nwant   %+v", f.Errors, want)
	}
	if !slices.Equal(tr.Codes, []string{"ok", "x"}) || len(tr.Stops) != 2 || tr.Stops[0].City != "Oslo" {
		t.Errorf("decoded %+v", tr)
	}
}

func TestInputConstraintAttributes(t *testing.T) {
	var buf bytes.Buffer
	_ = Input(NewForm(nil), Field{Name: "n", Label: "N", Type: "number", Required: true, Min: "1", Max: "9"}).Render(context.Background(), &buf)
	want := `<input type="number" value="" id="field-n" max="9" min="1" name="n" required>`
	if got := buf.String(); !bytes.Contains([]byte(got), []byte(want)) {
		t.Errorf("input:\n%s\nwant %s", got, want)
	}
}

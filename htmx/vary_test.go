package htmx_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/trellis-go/trellis/htmx"
)

func TestVary(t *testing.T) {
	const all = "HX-Request, HX-Boosted, HX-History-Restore-Request, HX-Request-Type"
	tests := []struct {
		name     string
		existing []string // Vary lines present before the call
		want     []string // Vary lines after the call
	}{
		{"empty", nil, []string{all}},
		{"existing other", []string{"Accept-Encoding"}, []string{"Accept-Encoding, " + all}},
		{
			"existing overlap in other case",
			[]string{"hx-request, Accept-Encoding"},
			[]string{"hx-request, Accept-Encoding, HX-Boosted, HX-History-Restore-Request, HX-Request-Type"},
		},
		{
			"several lines merged",
			[]string{"Accept", "Origin, HX-BOOSTED"},
			[]string{"Accept, Origin, HX-BOOSTED, HX-Request, HX-History-Restore-Request, HX-Request-Type"},
		},
		{
			"empty elements dropped",
			[]string{" , Accept,, "},
			[]string{"Accept, " + all},
		},
		{
			"all present, untouched",
			[]string{"HX-Request,HX-Boosted ", "  hx-history-restore-request,HX-REQUEST-TYPE"},
			[]string{"HX-Request,HX-Boosted ", "  hx-history-restore-request,HX-REQUEST-TYPE"},
		},
		{"star", []string{"*"}, []string{"*"}},
		{"star among others", []string{"Accept, *"}, []string{"Accept, *"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.existing {
				h.Add("Vary", v)
			}
			htmx.Vary(h)
			if got := h.Values("Vary"); !slices.Equal(got, tt.want) {
				t.Errorf("Vary = %q, want %q", got, tt.want)
			}
			// Idempotent.
			htmx.Vary(h)
			if got := h.Values("Vary"); !slices.Equal(got, tt.want) {
				t.Errorf("after second call Vary = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAddVary(t *testing.T) {
	tests := []struct {
		name     string
		existing []string
		names    []string
		want     []string
	}{
		{"one", nil, []string{"HX-Target"}, []string{"HX-Target"}},
		{"dedupe within call", nil, []string{"HX-Target", "hx-target"}, []string{"HX-Target"}},
		{"invalid names ignored", nil, []string{"", "bad name", "a,b", "a\r\nb", "HX-Trigger"}, []string{"HX-Trigger"}},
		{"nothing valid leaves header absent", nil, []string{"", "x y"}, nil},
		{"no names", []string{"Accept"}, nil, []string{"Accept"}},
		{"merge with existing", []string{"Accept-Encoding"}, []string{"HX-Target", "accept-encoding"}, []string{"Accept-Encoding, HX-Target"}},
		{"add star", []string{"Accept"}, []string{"HX-Target", "*"}, []string{"*"}},
		{"existing star", []string{"*"}, []string{"HX-Target"}, []string{"*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.existing {
				h.Add("Vary", v)
			}
			htmx.AddVary(h, tt.names...)
			if got := h.Values("Vary"); !slices.Equal(got, tt.want) {
				t.Errorf("Vary = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAddVaryNilHeader(t *testing.T) {
	htmx.AddVary(nil, "HX-Target") // must not panic
	htmx.Vary(nil)
}

func TestVaryThenAddVary(t *testing.T) {
	h := http.Header{}
	htmx.Vary(h)
	htmx.AddVary(h, htmx.HeaderTarget)
	want := "HX-Request, HX-Boosted, HX-History-Restore-Request, HX-Request-Type, HX-Target"
	if got := h.Get("Vary"); got != want {
		t.Errorf("Vary = %q, want %q", got, want)
	}
}

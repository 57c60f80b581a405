package htmx_test

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trellis-go/trellis/htmx"
)

var errMarshal = errors.New("marshal failed")

type failingMarshaler struct{}

func (failingMarshaler) MarshalJSON() ([]byte, error) { return nil, errMarshal }

type trigger struct {
	event  string
	detail any
}

func TestTriggerMerging(t *testing.T) {
	tests := []struct {
		name     string
		existing []string // HX-Trigger lines set by other code
		calls    []trigger
		want     string
	}{
		{"nil detail", nil, []trigger{{"saved", nil}}, `{"saved":null}`},
		{"scalar detail", nil, []trigger{{"count", 3}}, `{"count":3}`},
		{"object detail", nil, []trigger{{"saved", map[string]any{"id": 7, "name": "x"}}}, `{"saved":{"id":7,"name":"x"}}`},
		{"struct detail", nil, []trigger{{"saved", struct {
			ID int `json:"id"`
		}{7}}}, `{"saved":{"id":7}}`},
		{"raw JSON detail", nil, []trigger{{"e", json.RawMessage(`{ "a" : [1, 2] }`)}}, `{"e":{"a":[1,2]}}`},
		{"two calls", nil, []trigger{{"a", 1}, {"b", "two"}}, `{"a":1,"b":"two"}`},
		{"three calls sorted", nil, []trigger{{"c", 3}, {"a", 1}, {"b", 2}}, `{"a":1,"b":2,"c":3}`},
		{"same name replaces", nil, []trigger{{"a", 1}, {"b", 2}, {"a", map[string]int{"v": 9}}}, `{"a":{"v":9},"b":2}`},
		{"plain single", []string{"ev1"}, []trigger{{"b", true}}, `{"b":true,"ev1":null}`},
		{"plain list", []string{"ev1, ev2"}, []trigger{{"b", true}}, `{"b":true,"ev1":null,"ev2":null}`},
		{"plain list messy", []string{" ev2 ,,ev1 , "}, []trigger{{"a", 1}}, `{"a":1,"ev1":null,"ev2":null}`},
		{"plain replaced by call", []string{"a, b"}, []trigger{{"a", "x"}}, `{"a":"x","b":null}`},
		{"existing JSON", []string{`{"x": {"k": 1}, "y": null}`}, []trigger{{"z", 2}}, `{"x":{"k":1},"y":null,"z":2}`},
		{"several existing lines", []string{"a", `{"b":1}`, "c"}, []trigger{{"d", nil}}, `{"a":null,"b":1,"c":null,"d":null}`},
		{"later existing line wins", []string{`{"a":1}`, `{"a":2}`}, []trigger{{"b", nil}}, `{"a":2,"b":null}`},
		{"empty existing", []string{""}, []trigger{{"a", nil}}, `{"a":null}`},
		{"non-ASCII", nil, []trigger{{"évènement", "héllo 😀"}}, `{"\u00e9v\u00e8nement":"h\u00e9llo \ud83d\ude00"}`},
		{"HTML and controls escaped", nil, []trigger{{"a", "<script>\r\n"}}, `{"a":"\u003cscript\u003e\r\n"}`},
		{"quotes in name", nil, []trigger{{`a"b`, nil}}, `{"a\"b":null}`},
	}
	setters := []struct {
		header string
		fn     func(http.ResponseWriter, string, any) error
	}{
		{"HX-Trigger", htmx.Trigger},
		{"HX-Trigger-After-Settle", htmx.TriggerAfterSettle},
		{"HX-Trigger-After-Swap", htmx.TriggerAfterSwap},
	}
	for _, s := range setters {
		for _, tt := range tests {
			t.Run(s.header+"/"+tt.name, func(t *testing.T) {
				rec := httptest.NewRecorder()
				for _, v := range tt.existing {
					rec.Header().Add(s.header, v)
				}
				for _, c := range tt.calls {
					if err := s.fn(rec, c.event, c.detail); err != nil {
						t.Fatalf("%s(%q): %v", s.header, c.event, err)
					}
				}
				if got := rec.Header().Values(s.header); len(got) != 1 || got[0] != tt.want {
					t.Errorf("%s = %q, want [%s]", s.header, got, tt.want)
				}
				assertCleanHeaders(t, rec.Header())
			})
		}
	}
}

func TestTriggerHeadersIndependent(t *testing.T) {
	rec := httptest.NewRecorder()
	must(t, htmx.Trigger(rec, "a", 1))
	must(t, htmx.TriggerAfterSwap(rec, "b", 2))
	must(t, htmx.TriggerAfterSettle(rec, "c", 3))
	must(t, htmx.Trigger(rec, "d", 4))
	want := map[string]string{
		"HX-Trigger":              `{"a":1,"d":4}`,
		"HX-Trigger-After-Swap":   `{"b":2}`,
		"HX-Trigger-After-Settle": `{"c":3}`,
	}
	for name, w := range want {
		if got := rec.Header().Get(name); got != w {
			t.Errorf("%s = %s, want %s", name, got, w)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestTriggerErrors(t *testing.T) {
	tests := []struct {
		name     string
		existing string
		event    string
		detail   any
		wantErr  error // checked with errors.Is when non-nil
		wantType any   // checked with errors.As when non-nil
	}{
		{name: "empty name", event: ""},
		{name: "blank name", event: " \t"},
		{name: "channel detail", event: "a", detail: make(chan int), wantType: new(*json.UnsupportedTypeError)},
		{name: "func detail", event: "a", detail: func() {}, wantType: new(*json.UnsupportedTypeError)},
		{name: "NaN detail", event: "a", detail: math.NaN(), wantType: new(*json.UnsupportedValueError)},
		{name: "marshaler error", event: "a", detail: failingMarshaler{}, wantErr: errMarshal},
		{name: "invalid existing JSON", existing: `{"a":`, event: "b", wantType: new(*json.SyntaxError)},
		{name: "existing JSON not an object", existing: `{"a":1} x`, event: "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			before := tt.existing
			if before == "" {
				before = `{"keep":1}`
			}
			rec.Header().Set("HX-Trigger", before)
			err := htmx.Trigger(rec, tt.event, tt.detail)
			if err == nil {
				t.Fatal("Trigger: no error")
			}
			if !strings.HasPrefix(err.Error(), "htmx: HX-Trigger: ") {
				t.Errorf("error %q lacks context", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
			if tt.wantType != nil && !errors.As(err, tt.wantType) {
				t.Errorf("error %v (%T) does not wrap %T", err, err, tt.wantType)
			}
			if got := rec.Header().Get("HX-Trigger"); got != before {
				t.Errorf("HX-Trigger changed to %q, want %q", got, before)
			}
		})
	}
}

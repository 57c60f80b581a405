package htmx_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trellis-go/trellis/htmx"
)

// newRequest returns a GET request with the given header name/value pairs
// added in order (so a repeated name yields several values).
func newRequest(kv ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Add(kv[i], kv[i+1])
	}
	return r
}

func TestParseRequest(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name    string
		headers []string
		want    htmx.Request
	}{
		{"no headers", nil, htmx.Request{}},
		{
			"every header",
			[]string{
				"HX-Request", "true",
				"HX-Boosted", "true",
				"HX-History-Restore-Request", "true",
				"HX-Target", "main",
				"HX-Trigger", "save-btn",
				"HX-Trigger-Name", "save",
				"HX-Current-URL", "https://example.com/items?page=2",
				"HX-Prompt", "yes, please",
			},
			htmx.Request{
				Enabled: true, Boosted: true, HistoryRestore: true,
				Target: "main", Trigger: "save-btn", TriggerName: "save",
				CurrentURL: "https://example.com/items?page=2", Prompt: "yes, please",
			},
		},
		{
			// What htmx 4.0.1 sends for <button id="save-btn" hx-post hx-target="#note-7">.
			"every htmx 4 header",
			[]string{
				"HX-Request", "true",
				"HX-Source", "button#save-btn",
				"HX-Target", "tr#note-7",
				"HX-Current-URL", "https://example.com/notes",
				"HX-Request-Type", "partial",
				"HX-Trigger", "ignored",
				"HX-Trigger-Name", "ignored",
			},
			htmx.Request{
				Enabled: true, Target: "note-7", Trigger: "save-btn",
				CurrentURL: "https://example.com/notes", RequestType: "partial",
			},
		},
		{"htmx 4 boosted", []string{"HX-Request", "true", "HX-Boosted", "true", "HX-Source", "a", "HX-Target", "body", "HX-Request-Type", "full"},
			htmx.Request{Enabled: true, Boosted: true, RequestType: "full"}},
		{"htmx 4 encoded id", []string{"HX-Request-Type", "partial", "HX-Target", "div#caf%C3%A9%20list#2"}, htmx.Request{RequestType: "partial", Target: "café list#2"}},
		{"htmx 4 bad escape", []string{"HX-Request-Type", "partial", "HX-Target", "div#a%zz"}, htmx.Request{RequestType: "partial"}},
		{"htmx 4 encoded control", []string{"HX-Request-Type", "partial", "HX-Target", "div#a%0Ab"}, htmx.Request{RequestType: "partial"}},
		{"htmx 4 empty id", []string{"HX-Request-Type", "partial", "HX-Source", "div#"}, htmx.Request{RequestType: "partial"}},
		{"lower-case header names", []string{"hx-request", "true", "hx-target", "t"}, htmx.Request{Enabled: true, Target: "t"}},

		// Booleans.
		{"bool upper case", []string{"HX-Request", "TRUE"}, htmx.Request{Enabled: true}},
		{"bool mixed case padded", []string{"HX-Boosted", " True\t"}, htmx.Request{Boosted: true}},
		{"bool history", []string{"HX-History-Restore-Request", "tRuE"}, htmx.Request{HistoryRestore: true}},
		{"bool false", []string{"HX-Request", "false"}, htmx.Request{}},
		{"bool 1", []string{"HX-Request", "1"}, htmx.Request{}},
		{"bool yes", []string{"HX-Boosted", "yes"}, htmx.Request{}},
		{"bool truee", []string{"HX-Boosted", "truee"}, htmx.Request{}},
		{"bool empty", []string{"HX-Request", ""}, htmx.Request{}},
		{"bool inner space", []string{"HX-Request", "tr ue"}, htmx.Request{}},

		// Strings: trimming, UTF-8, limits, control characters.
		{"string trimmed", []string{"HX-Target", " \tmain \t"}, htmx.Request{Target: "main"}},
		{"string non-ASCII", []string{"HX-Prompt", "café 日本 😀"}, htmx.Request{Prompt: "café 日本 😀"}},
		{"string zero-width joiner kept", []string{"HX-Prompt", "👩\u200d💻"}, htmx.Request{Prompt: "👩\u200d💻"}},
		{"target at limit", []string{"HX-Target", long(1024)}, htmx.Request{Target: long(1024)}},
		{"target over limit", []string{"HX-Target", long(1025)}, htmx.Request{}},
		{"trigger over limit", []string{"HX-Trigger", long(1025)}, htmx.Request{}},
		{"trigger name over limit", []string{"HX-Trigger-Name", long(1025)}, htmx.Request{}},
		{"current URL over limit", []string{"HX-Current-URL", "https://x/" + long(1015)}, htmx.Request{}},
		{"prompt above general limit", []string{"HX-Prompt", long(2000)}, htmx.Request{Prompt: long(2000)}},
		{"prompt at limit", []string{"HX-Prompt", long(4096)}, htmx.Request{Prompt: long(4096)}},
		{"prompt over limit", []string{"HX-Prompt", long(4097)}, htmx.Request{}},
		{"over limit counting padding", []string{"HX-Target", " " + long(1024)}, htmx.Request{}},
		{"NUL", []string{"HX-Target", "a\x00b"}, htmx.Request{}},
		{"CR LF", []string{"HX-Trigger", "a\r\nX-Evil: 1"}, htmx.Request{}},
		{"inner tab", []string{"HX-Prompt", "a\tb"}, htmx.Request{}},
		{"DEL", []string{"HX-Trigger-Name", "a\x7fb"}, htmx.Request{}},
		{"escape", []string{"HX-Prompt", "\x1b[31mred"}, htmx.Request{}},
		{"C1 control", []string{"HX-Prompt", "a\u0085b"}, htmx.Request{}},
		{"line separator", []string{"HX-Prompt", "a\u2028b"}, htmx.Request{}},
		{"paragraph separator", []string{"HX-Current-URL", "/a\u2029"}, htmx.Request{}},
		{"invalid UTF-8 (Latin-1)", []string{"HX-Target", "caf\xe9"}, htmx.Request{}},
		{"invalid UTF-8 prompt", []string{"HX-Prompt", "\xff\xfe"}, htmx.Request{}},
		{"invalid does not affect others", []string{"HX-Request", "true", "HX-Target", "a\x01", "HX-Trigger", "ok"}, htmx.Request{Enabled: true, Trigger: "ok"}},

		// RequestType.
		{"type full", []string{"HX-Request-Type", "full"}, htmx.Request{RequestType: "full"}},
		{"type FULL", []string{"HX-Request-Type", "FULL"}, htmx.Request{RequestType: "full"}},
		{"type padded Partial", []string{"HX-Request-Type", " Partial "}, htmx.Request{RequestType: "partial"}},
		{"type unknown", []string{"HX-Request-Type", "fragment"}, htmx.Request{}},
		{"type prefix", []string{"HX-Request-Type", "fullpage"}, htmx.Request{}},
		{"type empty", []string{"HX-Request-Type", ""}, htmx.Request{}},

		// Duplicates: the first value wins, even when it is invalid.
		{"duplicate string", []string{"HX-Target", "a", "HX-Target", "b"}, htmx.Request{Target: "a"}},
		{"duplicate invalid first", []string{"HX-Target", "bad\x01", "HX-Target", "good"}, htmx.Request{}},
		{"duplicate bool false first", []string{"HX-Request", "false", "HX-Request", "true"}, htmx.Request{}},
		{"duplicate bool true first", []string{"HX-Request", "true", "HX-Request", "false"}, htmx.Request{Enabled: true}},
		{"duplicate type", []string{"HX-Request-Type", "partial", "HX-Request-Type", "full"}, htmx.Request{RequestType: "partial"}},

		// htmx's -URI-AutoEncoded fallback.
		{
			"auto-encoded prompt",
			[]string{"HX-Prompt", "%E6%97%A5%E6%9C%AC%20%2B%20%C3%BC%2F%3F", "HX-Prompt-URI-AutoEncoded", "true"},
			htmx.Request{Prompt: "日本 + ü/?"},
		},
		{
			"auto-encoded target",
			[]string{"HX-Target", "caf%C3%A9", "HX-Target-URI-AutoEncoded", "true"},
			htmx.Request{Target: "café"},
		},
		{
			"auto-encoded keeps plus",
			[]string{"HX-Trigger", "a+b", "HX-Trigger-URI-AutoEncoded", "true"},
			htmx.Request{Trigger: "a+b"},
		},
		{
			"auto-encoded line break",
			[]string{"HX-Prompt", "a%0Ab", "HX-Prompt-URI-AutoEncoded", "true"},
			htmx.Request{},
		},
		{
			"auto-encoded bad escape",
			[]string{"HX-Trigger-Name", "a%zz", "HX-Trigger-Name-URI-AutoEncoded", "true"},
			htmx.Request{},
		},
		{
			"auto-encoded invalid UTF-8",
			[]string{"HX-Current-URL", "%FF", "HX-Current-URL-URI-AutoEncoded", "true"},
			htmx.Request{},
		},
		{
			"auto-encoded decodes over limit",
			[]string{"HX-Target", long(1025), "HX-Target-URI-AutoEncoded", "true"},
			htmx.Request{},
		},
		{
			"auto-encoded raw over three times the limit",
			[]string{"HX-Target", strings.Repeat("%61", 1025), "HX-Target-URI-AutoEncoded", "true"},
			htmx.Request{},
		},
		{
			"auto-encoded within limits",
			[]string{"HX-Target", strings.Repeat("%61", 1024), "HX-Target-URI-AutoEncoded", "true"},
			htmx.Request{Target: long(1024)},
		},
		{
			"not flagged stays encoded",
			[]string{"HX-Prompt", "100%25", "HX-Prompt-URI-AutoEncoded", "false"},
			htmx.Request{Prompt: "100%25"},
		},
		{
			"flag on another header",
			[]string{"HX-Prompt", "%41", "HX-Target-URI-AutoEncoded", "true"},
			htmx.Request{Prompt: "%41"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := htmx.ParseRequest(newRequest(tt.headers...))
			if got != tt.want {
				t.Errorf("ParseRequest:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseRequestNil(t *testing.T) {
	if got := htmx.ParseRequest(nil); got != (htmx.Request{}) {
		t.Errorf("ParseRequest(nil) = %+v, want zero", got)
	}
	if htmx.IsRequest(nil) {
		t.Error("IsRequest(nil) = true")
	}
}

func TestIsRequest(t *testing.T) {
	tests := []struct {
		headers []string
		want    bool
	}{
		{nil, false},
		{[]string{"HX-Request", "true"}, true},
		{[]string{"HX-Request", " TRUE "}, true},
		{[]string{"HX-Request", "false"}, false},
		{[]string{"HX-Request", "1"}, false},
		{[]string{"HX-Request", "false", "HX-Request", "true"}, false},
		{[]string{"HX-Boosted", "true"}, false},
	}
	for _, tt := range tests {
		r := newRequest(tt.headers...)
		if got := htmx.IsRequest(r); got != tt.want {
			t.Errorf("IsRequest(%q) = %v, want %v", tt.headers, got, tt.want)
		}
		if got := htmx.ParseRequest(r).Enabled; got != tt.want {
			t.Errorf("ParseRequest(%q).Enabled = %v, want %v", tt.headers, got, tt.want)
		}
	}
}

func TestIsRequestDoesNotAllocate(t *testing.T) {
	r := newRequest("HX-Request", "True")
	allocs := testing.AllocsPerRun(100, func() {
		if !htmx.IsRequest(r) {
			t.Fatal("IsRequest = false")
		}
	})
	if allocs != 0 {
		t.Errorf("IsRequest allocates %v times, want 0", allocs)
	}
}

func TestWantsFullPageNamedCases(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		want    bool
	}{
		{"plain browser request", nil, true},
		{"htmx request", []string{"HX-Request", "true"}, false},
		{"htmx partial", []string{"HX-Request", "true", "HX-Request-Type", "partial"}, false},
		{"htmx full", []string{"HX-Request", "true", "HX-Request-Type", "full"}, true},
		{"boosted", []string{"HX-Request", "true", "HX-Boosted", "true"}, true},
		{"boosted partial", []string{"HX-Request", "true", "HX-Boosted", "true", "HX-Request-Type", "partial"}, true},
		{"history restore", []string{"HX-Request", "true", "HX-History-Restore-Request", "true"}, true},
		{"htmx with target", []string{"HX-Request", "true", "HX-Target", "main"}, false},
		{"htmx with unknown type", []string{"HX-Request", "true", "HX-Request-Type", "bogus"}, false},
		{"HX-Request false", []string{"HX-Request", "false", "HX-Request-Type", "partial"}, true},
		{"malformed HX-Request", []string{"HX-Request", "yes"}, true},
		// Header sets htmx 4.0.1 sends (see its #createCoreHeaders,
		// #issueRequest and #restoreHistory).
		{"htmx 4 partial", []string{"HX-Request", "true", "HX-Source", "a", "HX-Target", "main#main", "HX-Current-URL", "http://x/", "HX-Request-Type", "partial"}, false},
		{"htmx 4 hx-select", []string{"HX-Request", "true", "HX-Source", "a", "HX-Target", "main#main", "HX-Request-Type", "full"}, true},
		{"htmx 4 boosted", []string{"HX-Request", "true", "HX-Boosted", "true", "HX-Source", "a", "HX-Target", "body", "HX-Request-Type", "full"}, true},
		{"htmx 4 history restore", []string{"HX-History-Restore-Request", "true", "HX-Request-Type", "full"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := htmx.ParseRequest(newRequest(tt.headers...)).WantsFullPage(); got != tt.want {
				t.Errorf("WantsFullPage = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWantsFullPageAllCombinations(t *testing.T) {
	bools := []bool{false, true}
	for _, enabled := range bools {
		for _, boosted := range bools {
			for _, history := range bools {
				for _, typ := range []string{"", htmx.RequestTypePartial, htmx.RequestTypeFull} {
					var h []string
					if enabled {
						h = append(h, "HX-Request", "true")
					}
					if boosted {
						h = append(h, "HX-Boosted", "true")
					}
					if history {
						h = append(h, "HX-History-Restore-Request", "true")
					}
					if typ != "" {
						h = append(h, "HX-Request-Type", typ)
					}
					// Partial only for an htmx request that is neither
					// boosted, nor a history restore, nor typed "full".
					want := !(enabled && !boosted && !history && typ != htmx.RequestTypeFull)
					req := htmx.ParseRequest(newRequest(h...))
					if got := req.WantsFullPage(); got != want {
						t.Errorf("%+v: WantsFullPage = %v, want %v", req, got, want)
					}
				}
			}
		}
	}
}

func TestRequestHeaderNames(t *testing.T) {
	got := []string{
		htmx.HeaderRequest, htmx.HeaderBoosted, htmx.HeaderTarget, htmx.HeaderTrigger,
		htmx.HeaderTriggerName, htmx.HeaderCurrentURL, htmx.HeaderPrompt,
		htmx.HeaderHistoryRestoreRequest, htmx.HeaderRequestType,
	}
	want := []string{
		"HX-Request", "HX-Boosted", "HX-Target", "HX-Trigger",
		"HX-Trigger-Name", "HX-Current-URL", "HX-Prompt",
		"HX-History-Restore-Request", "HX-Request-Type",
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("header names = %q, want %q", got, want)
	}
	if htmx.RequestTypePartial != "partial" || htmx.RequestTypeFull != "full" {
		t.Errorf("request types = %q, %q", htmx.RequestTypePartial, htmx.RequestTypeFull)
	}
}

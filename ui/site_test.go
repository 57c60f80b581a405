package ui_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/static"
	"github.com/trellis-go/trellis/ui"
)

func decodeConfig(t *testing.T, c config.HTMX) map[string]any {
	t.Helper()
	s, err := ui.HTMXConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("htmx config is not JSON: %v: %s", err, s)
	}
	return m
}

func TestHTMXConfigPerVersion(t *testing.T) {
	c := config.Default(config.Development).HTMX
	c.Timeout = 1500 * time.Millisecond
	c.DefaultSwapStyle = "outerHTML"

	v2 := decodeConfig(t, c)
	if v2["defaultSwapStyle"] != "outerHTML" || v2["timeout"] != float64(1500) || v2["selfRequestsOnly"] != true ||
		v2["includeIndicatorStyles"] != false || v2["allowScriptTags"] != false || v2["historyCacheSize"] != float64(10) {
		t.Errorf("htmx 2 config = %v", v2)
	}
	rules, _ := json.Marshal(v2["responseHandling"])
	for _, want := range []string{`{"code":"204","swap":false}`, `{"code":"422","swap":true}`, `{"code":"[45]..","error":true,"swap":true}`} {
		if !strings.Contains(string(rules), want) {
			t.Errorf("htmx 2 responseHandling %s lacks %s", rules, want)
		}
	}

	c.Version = 4
	v4 := decodeConfig(t, c)
	want := map[string]any{
		"defaultSwap": "outerHTML", "defaultTimeout": float64(1500), "mode": "same-origin",
		"includeIndicatorCSS": false, "transitions": false, "noSwap": []any{float64(204), float64(304)},
		"allowEmptySwapAfterOOB": true,
		"trellis":                map[string]any{"allowScriptTags": false},
	}
	got, _ := json.Marshal(v4)
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) {
		t.Errorf("htmx 4 config = %s, want %s", got, wantJSON)
	}

	c.SelfRequestsOnly, c.AllowScriptTags, c.GlobalViewTransitions = false, true, true
	v4 = decodeConfig(t, c)
	if v4["mode"] != "cors" || v4["transitions"] != true || v4["trellis"].(map[string]any)["allowScriptTags"] != true {
		t.Errorf("htmx 4 config = %v", v4)
	}
}

func TestHeadLoadsTheConfiguredHTMX(t *testing.T) {
	assets, err := static.New(static.FrameworkFS())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		version int
		script  *regexp.Regexp
		meta    string
	}{
		{2, regexp.MustCompile(`<script src="/static/htmx\.min\.[0-9a-f]{12}\.js"`), "defaultSwapStyle"},
		{4, regexp.MustCompile(`<script src="/static/htmx4/htmx\.min\.[0-9a-f]{12}\.js"`), "defaultSwap&#34;"},
	} {
		c := config.Default(config.Development).HTMX
		c.Version = tc.version
		site, err := ui.NewSite("Test", assets, c)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := ui.Head(site).Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		head := b.String()
		if !tc.script.MatchString(head) {
			t.Errorf("htmx %d: head does not load %s:\n%s", tc.version, tc.script, head)
		}
		if !strings.Contains(head, tc.meta) {
			t.Errorf("htmx %d: htmx-config meta lacks %s:\n%s", tc.version, tc.meta, head)
		}
		if i, j := strings.Index(head, "htmx.min."), regexp.MustCompile(`/static/trellis\.[0-9a-f]{12}\.js`).FindStringIndex(head); j == nil || j[0] < i {
			t.Errorf("htmx %d: trellis.js loads before htmx", tc.version)
		}
		if n := strings.Count(head, "htmx.min."); n != 1 {
			t.Errorf("htmx %d: %d htmx scripts in head", tc.version, n)
		}
	}
}

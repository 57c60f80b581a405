// Package ui holds Trellis's default templ components: the page layout, the
// head tags every page needs (htmx 2 or htmx 4 as configured, its
// configuration, the stylesheet and the CSP nonce) and the error pages. Apps can use them as they are or
// build their own layout around [Head] and [Regions].
package ui

import (
	"encoding/json"
	"fmt"
	"html"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/static"
)

// Site is the request-independent data layouts need. Build it with
// [NewSite], which prepares the markup that is the same on every page.
type Site struct {
	// Name appears in the header and page titles.
	Name string
	// Assets resolves fingerprinted asset URLs.
	Assets *static.Assets
	// HTMXConfig is the JSON rendered into <meta name="htmx-config">.
	HTMXConfig string
	// HTMXVersion is the htmx major version Head loads: 2 or 4. Zero means
	// 2.
	HTMXVersion int
	// Nav is rendered in the header after the site name; it may read the
	// current user from the context. Nil renders nothing.
	Nav templ.Component
	// Head is extra markup for <head> (app stylesheets, icons). Nil
	// renders nothing.
	Head templ.Component

	htmxMeta string // escaped <meta name="htmx-config"> tag
}

// NewSite returns a Site serving the htmx version c selects, with the htmx
// configuration built from c.
func NewSite(name string, assets *static.Assets, c config.HTMX) (*Site, error) {
	cfg, err := HTMXConfig(c)
	if err != nil {
		return nil, err
	}
	s := &Site{Name: name, Assets: assets, HTMXConfig: cfg, HTMXVersion: c.Version}
	s.htmxMeta = s.metaTag()
	return s, nil
}

// HTMXScript returns the asset name of the htmx build Head loads:
// "htmx.min.js" (htmx 2) or "htmx4/htmx.min.js" (htmx 4).
func (s *Site) HTMXScript() string {
	if s.HTMXVersion == 4 {
		return "htmx4/htmx.min.js"
	}
	return "htmx.min.js"
}

// metaTag renders the htmx-config meta tag, escaped.
func (s *Site) metaTag() string {
	if s.htmxMeta != "" {
		return s.htmxMeta
	}
	return `<meta name="htmx-config" content="` + html.EscapeString(s.HTMXConfig) + `">`
}

// HTMXConfig builds the htmx client configuration from the [htmx] config
// section, for the htmx version c.Version selects (0 means 2). The result
// behaves the same under both versions:
//
//   - 422 responses are swapped (forms re-render with their errors), and so
//     are other error responses: the server retargets error fragments to
//     the error region, and trellis.js refuses to swap the rest;
//   - 204 responses are never swapped;
//   - a response with only out-of-band elements swaps its empty main
//     content into the target, as htmx 2 does (htmx 4 would skip it);
//   - htmx's inline indicator styles are off (the CSP forbids them;
//     trellis.css provides them);
//   - scripts in swapped content run only with allow_script_tags (htmx 4
//     has no such option: trellis.js enforces it, reading
//     "trellis.allowScriptTags").
//
// htmx 4 renamed or dropped several options: default_swap_style becomes
// defaultSwap, timeout defaultTimeout, global_view_transitions transitions
// and self_requests_only the fetch mode ("same-origin" or "cors");
// history_cache_size has no htmx 4 equivalent (htmx 4 keeps no history
// cache) and allow_eval only matters through the CSP, since htmx 4 always
// compiles hx-on handlers and js: values. Attribute inheritance is explicit
// under htmx 4 (hx-target:inherited), as htmx 4 intends.
func HTMXConfig(c config.HTMX) (string, error) {
	var cfg any
	if c.Version == 4 {
		cfg = htmx4Config(c)
	} else {
		cfg = htmx2Config(c)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("ui: encoding htmx config: %w", err)
	}
	return string(b), nil
}

// htmx2Config is the htmx 2 configuration.
func htmx2Config(c config.HTMX) map[string]any {
	type rule struct {
		Code  string `json:"code"`
		Swap  bool   `json:"swap"`
		Error bool   `json:"error,omitempty"`
	}
	return map[string]any{
		"allowEval":              c.AllowEval,
		"allowScriptTags":        c.AllowScriptTags,
		"selfRequestsOnly":       c.SelfRequestsOnly,
		"historyCacheSize":       c.HistoryCacheSize,
		"defaultSwapStyle":       c.DefaultSwapStyle,
		"timeout":                c.Timeout.Milliseconds(),
		"globalViewTransitions":  c.GlobalViewTransitions,
		"includeIndicatorStyles": false,
		"responseHandling": []rule{
			{Code: "204", Swap: false},
			{Code: "[23]..", Swap: true},
			{Code: "422", Swap: true},
			{Code: "[45]..", Swap: true, Error: true},
			{Code: "...", Swap: false},
		},
	}
}

// htmx4Config is the htmx 4 configuration. htmx 4 swaps every status but
// those in noSwap, so 422 and error responses need no rule of their own.
func htmx4Config(c config.HTMX) map[string]any {
	mode := "cors"
	if c.SelfRequestsOnly {
		mode = "same-origin"
	}
	return map[string]any{
		"mode":                mode,
		"defaultSwap":         c.DefaultSwapStyle,
		"defaultTimeout":      c.Timeout.Milliseconds(),
		"transitions":         c.GlobalViewTransitions,
		"includeIndicatorCSS": false,
		"noSwap":              []int{204, 304},
		// As in htmx 2, a response holding only out-of-band elements still
		// swaps its (empty) main content: deleting a row is an empty body
		// plus an out-of-band count.
		"allowEmptySwapAfterOOB": true,
		"trellis":                map[string]any{"allowScriptTags": c.AllowScriptTags},
	}
}

func pageTitle(site *Site, title string) string {
	switch {
	case title == "":
		return site.Name
	case site.Name == "" || title == site.Name:
		return title
	}
	return title + " · " + site.Name
}

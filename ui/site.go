// Package ui holds Trellis's default templ components: the page layout, the
// head tags every page needs (htmx, its configuration, the stylesheet and
// the CSP nonce) and the error pages. Apps can use them as they are or
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
	// Nav is rendered in the header after the site name; it may read the
	// current user from the context. Nil renders nothing.
	Nav templ.Component
	// Head is extra markup for <head> (app stylesheets, icons). Nil
	// renders nothing.
	Head templ.Component

	htmxMeta string // escaped <meta name="htmx-config"> tag
}

// NewSite returns a Site with the htmx configuration built from c.
func NewSite(name string, assets *static.Assets, c config.HTMX) (*Site, error) {
	cfg, err := HTMXConfig(c)
	if err != nil {
		return nil, err
	}
	s := &Site{Name: name, Assets: assets, HTMXConfig: cfg}
	s.htmxMeta = s.metaTag()
	return s, nil
}

// metaTag renders the htmx-config meta tag, escaped.
func (s *Site) metaTag() string {
	if s.htmxMeta != "" {
		return s.htmxMeta
	}
	return `<meta name="htmx-config" content="` + html.EscapeString(s.HTMXConfig) + `">`
}

// HTMXConfig builds the htmx client configuration from the [htmx] config
// section. Beyond the configured keys it: swaps 422 responses (forms re-render
// with their errors) and error responses (error fragments are retargeted to
// the error region), turns off htmx's inline indicator styles (the CSP
// forbids them; trellis.css provides them), and never swaps 204.
func HTMXConfig(c config.HTMX) (string, error) {
	type rule struct {
		Code  string `json:"code"`
		Swap  bool   `json:"swap"`
		Error bool   `json:"error,omitempty"`
	}
	cfg := map[string]any{
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
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("ui: encoding htmx config: %w", err)
	}
	return string(b), nil
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

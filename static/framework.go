package static

import (
	"embed"
	"io/fs"
)

// frameworkAssets holds the framework's own assets (vendored htmx, ...).
// embed.FS is read-only, so this is not mutable global state.
//
//go:embed assets
var frameworkAssets embed.FS

// FrameworkFS returns the framework's built-in assets, rooted at the
// static/assets directory (so "htmx.min.js" is a top-level name). Pass it as
// the last layer to New so that application layers can override its files:
//
//	assets, err := static.New(appFS, static.FrameworkFS())
//
// The vendored htmx files are maintained with scripts/update-htmx.sh.
func FrameworkFS() fs.FS {
	sub, err := fs.Sub(frameworkAssets, "assets")
	if err != nil {
		// Unreachable: "assets" is a valid, embedded directory name.
		panic("static: " + err.Error())
	}
	return sub
}

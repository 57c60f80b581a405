package main

import "github.com/trellis-go/trellis"

// routes mounts the app's pages.
func routes(app *trellis.App) {
	app.Get("/", home(app))
	// trellis:routes
}

package main

import (
	"net/http"

	"github.com/trellis-go/trellis"

	"example.com/shop/views"
)

func home(app *trellis.App) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		app.Render.Page(w, r, "Home", views.Home())
	}
}

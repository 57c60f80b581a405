package trellis_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/ui"
)

// The app owns composition: its layout renders every page, and routes and
// middleware go in in any order until the app serves its first request.
func Example() {
	cfg := config.Default(config.Test)
	dir, err := os.MkdirTemp("", "trellis-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	cfg.App.DataDir = dir

	// A layout is a templ component; this one is written in Go for brevity.
	layout := func(site *ui.Site, title string) templ.Component {
		return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
			fmt.Fprintf(w, "<!DOCTYPE html><html><head><title>%s</title>", templ.EscapeString(title))
			if err := ui.Head(site).Render(ctx, w); err != nil {
				return err
			}
			io.WriteString(w, `</head><body class="mine">`)
			if err := ui.Regions().Render(ctx, w); err != nil {
				return err
			}
			if err := templ.GetChildren(ctx).Render(ctx, w); err != nil {
				return err
			}
			_, err := io.WriteString(w, "</body></html>")
			return err
		})
	}
	app, err := trellis.New(context.Background(), cfg, trellis.WithLayout(layout), trellis.WithLogOutput(io.Discard))
	if err != nil {
		panic(err)
	}
	defer app.Close(context.Background())

	app.Get("/", func(w http.ResponseWriter, r *http.Request) {
		app.Render.Page(w, r, "Home", templ.Raw("<h1>Hello</h1>"))
	})
	app.Use(func(next http.Handler) http.Handler { // after the route: still wraps it
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Served-By", "example")
			next.ServeHTTP(w, r)
		})
	})

	for _, path := range []string{"/", "/login", "/missing"} {
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, rec.Code, rec.Header().Get("X-Served-By"), strings.Contains(rec.Body.String(), `<body class="mine">`))
	}
	// Output:
	// / 200 example true
	// /login 200 example true
	// /missing 404 example true
}

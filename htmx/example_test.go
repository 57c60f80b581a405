package htmx_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/trellis-go/trellis/htmx"
)

// A handler that serves a whole page to browsers and boosted links, and a
// fragment plus an out-of-band counter update to other htmx requests.
func Example_handler() {
	handler := func(w http.ResponseWriter, r *http.Request) {
		hx := htmx.ParseRequest(r)
		htmx.Vary(w.Header()) // the response depends on the headers WantsFullPage reads

		list := "<li>milk</li><li>eggs</li>"
		if hx.WantsFullPage() {
			fmt.Fprintf(w, "<html><body><ul id=\"items\">%s</ul><span id=\"count\">2</span></body></html>", list)
			return
		}

		if err := htmx.Trigger(w, "itemsLoaded", map[string]int{"count": 2}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		htmx.PushURL(w, "/items?page=1")
		htmx.Reswap(w, htmx.SwapInnerHTML.Transition(true))

		io.WriteString(w, list)
		count := htmx.OOB("span", "count", "", htmx.ComponentFunc(func(ctx context.Context, w io.Writer) error {
			_, err := io.WriteString(w, "2")
			return err
		}))
		if err := count.Render(r.Context(), w); err != nil {
			// Headers are already sent; log in real code.
			return
		}
	}

	req := httptest.NewRequest(http.MethodGet, "/items", nil)
	req.Header.Set(htmx.HeaderRequest, "true")
	req.Header.Set(htmx.HeaderTarget, "items")
	rec := httptest.NewRecorder()
	handler(rec, req)

	fmt.Println("Vary:", rec.Header().Get("Vary"))
	fmt.Println("HX-Trigger:", rec.Header().Get(htmx.HeaderTrigger))
	fmt.Println("HX-Push-Url:", rec.Header().Get(htmx.HeaderPushURL))
	fmt.Println("HX-Reswap:", rec.Header().Get(htmx.HeaderReswap))
	fmt.Println(rec.Body.String())
	// Output:
	// Vary: HX-Request, HX-Boosted, HX-History-Restore-Request, HX-Request-Type
	// HX-Trigger: {"itemsLoaded":{"count":2}}
	// HX-Push-Url: /items?page=1
	// HX-Reswap: innerHTML transition:true
	// <li>milk</li><li>eggs</li><span id="count" hx-swap-oob="true">2</span>
}

// Appending to a list whose id is not a valid CSS identifier as written.
func ExampleOOB() {
	id := "42-todo" // starts with a digit
	item := htmx.OOB("li", "", htmx.OOBSwapTarget(htmx.SwapBeforeEnd, htmx.IDSelector(id)), htmx.ComponentFunc(
		func(ctx context.Context, w io.Writer) error {
			_, err := io.WriteString(w, "buy bread")
			return err
		}))
	var b strings.Builder
	if err := item.Render(context.Background(), &b); err != nil {
		fmt.Println(err)
	}
	fmt.Println(b.String())
	// Output:
	// <template hx type="partial" hx-target="#\34 2-todo" hx-swap="beforeend strip:true"><li hx-swap-oob="beforeend:#\34 2-todo">buy bread</li></template>
}

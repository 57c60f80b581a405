package devserver_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/trellis-go/trellis/internal/browsertest"
)

// TestBrowserLiveReload opens the fixture app through the dev server in
// chromium, then edits a templ file several times and a stylesheet once:
// the open tab shows each change without being reloaded by the test, the
// injected script runs under the app's strict CSP, and the page reports no
// errors. It logs the time from save to the changed page.
func TestBrowserLiveReload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an app; skipped in -short mode")
	}
	browser := browsertest.Start(t)
	d := startDev(t)
	d.waitFor("first build", 200, "Hello v1")
	p := browser.NewPage(t)
	p.Run("open the app", chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.CSS("#note")))
	// No waiting for the script to connect: the page knows its build's
	// generation, so a reload announced before it listens is not missed.

	var took []time.Duration
	for i := 1; i <= 5; i++ {
		want := fmt.Sprintf("Edit number %d.", i)
		before := d.text(p, "#note")
		saved := time.Now()
		d.edit("views/home.templ", before, want)
		took = append(took, d.waitText(p, fmt.Sprintf("templ edit %d", i), "#note", want, saved))
	}
	slices.Sort(took)
	t.Logf("save → reloaded page over %d templ edits: p50 %v, max %v (all: %v)", len(took), took[len(took)/2], took[len(took)-1], took)

	saved := time.Now()
	d.edit("static/app.css", "color: #225;", "color: rgb(200, 10, 20);")
	css := d.waitText(p, "stylesheet edit", "#greeting@color", "rgb(200, 10, 20)", saved)
	t.Logf("save → restyled page after a CSS edit: %v", css)
	p.CheckNoErrors("live reloads")
}

// text reads an element's text, or with "selector@property" its computed
// style property; "" while the page is reloading.
func (d *devApp) text(p *browsertest.Page, selector string) string {
	js := `(() => { const el = document.querySelector(%q); return el ? el.textContent.trim() : ""; })()`
	if sel, prop, ok := strings.Cut(selector, "@"); ok {
		js = fmt.Sprintf(`(() => { const el = document.querySelector(%q); return el ? getComputedStyle(el)[%q] : ""; })()`, sel, prop)
	} else {
		js = fmt.Sprintf(js, selector)
	}
	ctx, cancel := context.WithTimeout(p.Ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		return "" // the page is navigating
	}
	return s
}

// waitText waits until the page shows want in selector, without the test
// reloading it, and returns the time since saved.
func (d *devApp) waitText(p *browsertest.Page, step, selector, want string, saved time.Time) time.Duration {
	d.t.Helper()
	deadline := saved.Add(60 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		if got = d.text(p, selector); strings.Contains(got, want) {
			return time.Since(saved)
		}
		time.Sleep(10 * time.Millisecond)
	}
	d.t.Fatalf("%s: %s shows %q, want %q (screenshot: %s)", step, selector, got, want, p.Screenshot(step))
	return 0
}

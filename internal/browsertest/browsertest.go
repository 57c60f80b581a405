// Package browsertest drives Debian's chromium through chromedp for
// end-to-end tests: one headless browser per suite, a tab per flow, every
// console error, uncaught exception and CSP violation recorded, and a
// screenshot saved when a step fails.
package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/trellis-go/trellis/trellistest"
)

// Browser is a running headless chromium.
type Browser struct {
	ctx context.Context
}

// Start launches chromium for the test and closes it at the end. Without a
// chromium binary the test is skipped (or fails under
// TRELLIS_REQUIRE_SERVICES=1).
func Start(t *testing.T) *Browser {
	t.Helper()
	path := os.Getenv("TRELLIS_CHROMIUM")
	if path == "" {
		var err error
		if path, err = exec.LookPath("chromium"); err != nil {
			trellistest.Unavailable(t, "chromium (apt-get install chromium)", err)
		}
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		trellistest.Unavailable(t, "chromium at "+path, err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return &Browser{ctx: ctx}
}

// Page is one browser tab.
type Page struct {
	// Ctx runs chromedp actions in this tab.
	Ctx context.Context
	t   *testing.T

	mu       sync.Mutex
	errors   []string
	expected []expectation
}

// expectation drops errors matching re that arrive before until: the
// browser reports a failed request in more than one message, which reach
// the test at their own pace.
type expectation struct {
	re    *regexp.Regexp
	until time.Time
}

// expectGrace is how long after Expect late errors matching it are still
// dropped.
const expectGrace = 3 * time.Second

// NewPage opens a tab that records console errors, uncaught exceptions and
// CSP violations. It closes at the end of the test. Each tab has its own
// browser context (cookies, storage), so tabs of tests running in parallel
// do not share sessions: cookies ignore ports, and every test server
// listens on 127.0.0.1.
func (b *Browser) NewPage(t *testing.T) *Page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	p := &Page{Ctx: ctx, t: t}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() || m.Source == "security" {
				p.record(m.String())
			}
		}
	}()
	return p
}

func (p *Page) record(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.expected {
		if time.Now().Before(e.until) && e.re.MatchString(msg) {
			return
		}
	}
	p.errors = append(p.errors, msg)
}

// Errors returns what the page reported so far.
func (p *Page) Errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errors...)
}

// Expect forgets recorded errors matching re, and those that arrive in the
// next few seconds, for steps that provoke an error on purpose (a 404
// logged by htmx, say).
func (p *Page) Expect(re *regexp.Regexp) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expected = append(p.expected, expectation{re: re, until: time.Now().Add(expectGrace)})
	kept := p.errors[:0]
	for _, e := range p.errors {
		if !re.MatchString(e) {
			kept = append(kept, e)
		}
	}
	p.errors = kept
}

// Run performs a named step with a 15-second limit. On failure it saves a
// screenshot and fails the test.
func (p *Page) Run(step string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v (screenshot: %s)", step, err, p.Screenshot(step))
	}
}

// CheckNoErrors fails the test if the page reported any error.
func (p *Page) CheckNoErrors(step string) {
	p.t.Helper()
	if errs := p.Errors(); len(errs) > 0 {
		p.t.Fatalf("%s: browser reported errors (screenshot: %s):\n  %s", step, p.Screenshot(step), strings.Join(errs, "\n  "))
	}
}

// Screenshot saves a full-page PNG to the artefact directory
// (TRELLIS_ARTIFACTS, default <tmp>/trellis-artifacts) and returns its path.
func (p *Page) Screenshot(step string) string {
	dir := os.Getenv("TRELLIS_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "trellis-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "not saved: " + err.Error()
	}
	name := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(p.t.Name()+"-"+step, "_") + ".png"
	ctx, cancel := context.WithTimeout(p.Ctx, 5*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return "not saved: " + err.Error()
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return "not saved: " + err.Error()
	}
	return path
}

// Text returns the text content of the first element matching selector,
// or "" when there is none.
func (p *Page) Text(selector string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, 5*time.Second)
	defer cancel()
	js := `(() => { const el = document.querySelector(` + jsString(selector) + `); return el ? el.textContent : ""; })()`
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		p.t.Fatalf("reading %s: %v", selector, err)
	}
	return strings.TrimSpace(text)
}

// WaitText waits up to 10 seconds until the element matching selector
// contains want, and fails the test with a screenshot otherwise.
func (p *Page) WaitText(step, selector, want string) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		if got = p.Text(selector); strings.Contains(got, want) {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	p.t.Fatalf("%s: %s shows %q, want it to contain %q (screenshot: %s)", step, selector, got, want, p.Screenshot(step))
}

// Eval evaluates the JavaScript expression js in the page, awaiting it if
// it is a promise, and returns its value as a string ("" for null or
// undefined). A failed evaluation fails the test.
func (p *Page) Eval(step, js string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Promise.resolve(`+js+`).then(v => v == null ? "" : String(v))`, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: evaluating %s: %v (screenshot: %s)", step, js, err, p.Screenshot(step))
	}
	return v
}

// Location returns the page's current URL.
func (p *Page) Location() string {
	p.t.Helper()
	loc, err := chromedp.Run(p.Ctx, chromedp.Location())
	if err != nil {
		p.t.Fatalf("reading location: %v", err)
	}
	return loc
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// WaitReady waits until the element matching selector exists, htmx has
// processed it (so a click triggers its request) and no swap, settle or
// request is in progress on it or its ancestors. It works with htmx 2,
// which keeps its data in el["htmx-internal-data"], and htmx 4, which
// keeps it in el._htmx on the elements it wires (a submit button counts
// as processed when its form is).
func (p *Page) WaitReady(step, selector string) {
	p.t.Helper()
	js := `(() => { const el = document.querySelector(` + jsString(selector) + `);
		if (!el) return false;
		const processed = !!el["htmx-internal-data"] || !!(el._htmx && el._htmx.initialized) ||
			!!(el.form && el.form._htmx && el.form._htmx.initialized);
		return processed && !el.closest(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"); })()`
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(p.Ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("%s: %s never became ready (screenshot: %s)", step, selector, p.Screenshot(step))
}

// Click waits for the element to be ready for htmx, then clicks it.
func (p *Page) Click(step, selector string) {
	p.t.Helper()
	p.WaitReady(step, selector)
	p.Run(step, chromedp.Click(chromedp.CSS(selector)))
}

// AcceptDialogs accepts every JavaScript dialog (confirm, alert) the page
// opens from now on, as a user clicking OK, and records their messages.
func (p *Page) AcceptDialogs() *Dialogs {
	d := &Dialogs{}
	events := chromedp.Events(p.Ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			d.mu.Lock()
			d.messages = append(d.messages, ev.Message)
			d.mu.Unlock()
			go func() {
				_, _ = chromedp.Call(p.Ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
			}()
		}
	}()
	return d
}

// Dialogs records the messages of accepted dialogs.
type Dialogs struct {
	mu       sync.Mutex
	messages []string
}

// Messages returns the dialog messages so far.
func (d *Dialogs) Messages() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.messages...)
}

// Value returns the current value of the form control matching selector.
func (p *Page) Value(selector string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, 5*time.Second)
	defer cancel()
	js := `(() => { const el = document.querySelector(` + jsString(selector) + `); return el ? el.value : ""; })()`
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		p.t.Fatalf("reading %s: %v", selector, err)
	}
	return v
}

package demo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/htmx"
	"github.com/trellis-go/trellis/internal/browsertest"
	"github.com/trellis-go/trellis/trellistest"
)

// TestBrowser drives the demo in one headless chromium, a tab per flow,
// once with htmx 2 and once with htmx 4 (config htmx.version): htmx must
// work under the strict CSP, with no console errors or CSP violations.
// The two versions run in parallel, each on its own demo servers. Failed
// steps save screenshots (see internal/browsertest).
func TestBrowser(t *testing.T) {
	browser := browsertest.Start(t)
	for _, version := range []int{2, 4} {
		t.Run(fmt.Sprintf("htmx%d", version), func(t *testing.T) {
			t.Parallel()
			v := htmxVersion(version)
			t.Run("kernel tour", func(t *testing.T) { kernelTour(t, browser, v) })
			t.Run("accounts", func(t *testing.T) { accountsFlow(t, browser, v) })
			t.Run("notes", func(t *testing.T) { notesFlow(t, browser, v) })
			t.Run("jobs dashboard", func(t *testing.T) { jobsDashboardFlow(t, browser, v) })
		})
	}
}

// htmxVersion is the htmx major version a flow runs the demo with.
type htmxVersion int

// start runs a demo serving this htmx version.
func (v htmxVersion) start(t *testing.T) *trellistest.Server {
	t.Helper()
	return newDemo(t, false, func(c *config.Config) { c.HTMX.Version = int(v) })
}

// open opens a tab on path and checks that the page runs the htmx
// version the demo was configured with.
func (v htmxVersion) open(t *testing.T, browser *browsertest.Browser, s *trellistest.Server, path, ready string) *browsertest.Page {
	t.Helper()
	p := browser.NewPage(t)
	p.Run("open "+path, chromedp.Navigate(s.URL+path), chromedp.WaitVisible(chromedp.CSS(ready)))
	if got := p.Eval("htmx version", "window.htmx && htmx.version"); !strings.HasPrefix(got, fmt.Sprintf("%d.", v)) {
		t.Fatalf("the page runs htmx %q, want htmx %d", got, v)
	}
	return p
}

// kernelTour exercises partials, OOB swaps, triggers, polling, 286, the
// error region and history.
func kernelTour(t *testing.T, browser *browsertest.Browser, v htmxVersion) {
	s := v.start(t)
	p := v.open(t, browser, s, "/", "#count")
	p.CheckNoErrors("open home")

	p.Click("click counter", "#counter button")
	p.WaitText("counter increments", "#count", "1")
	p.WaitText("badge updates out of band", "#click-total", "1 clicks")
	p.WaitText("activity reloads on the trigger", "#activity", "Counter reached 1")
	p.Click("click counter again", "#counter button")
	p.WaitText("counter increments twice", "#count", "2")
	p.WaitText("badge follows", "#click-total", "2 clicks")

	p.WaitText("countdown stops at 286", "#countdown", "Lift-off!")
	first := p.Text("#clock")
	p.WaitText("clock polls", "#clock", ":")
	deadline := 0
	for p.Text("#clock") == first && deadline < 100 {
		p.Run("wait for the clock", chromedp.Sleep(50_000_000))
		deadline++
	}
	if p.Text("#clock") == first {
		t.Error("clock did not update")
	}

	p.Click("request a missing page", `button[hx-get="/demo/missing"]`)
	p.WaitText("404 lands in the error region", "#trellis-error", "Page not found")
	if !strings.Contains(p.Text("#main"), "Trellis demo") {
		t.Error("the error replaced the main content")
	}
	p.Expect(regexp.MustCompile(`404|Not Found|responseError`))
	p.Run("let the clock poll", chromedp.Sleep(1_500_000_000))
	if !strings.Contains(p.Text("#trellis-error"), "Page not found") {
		t.Error("background polling cleared the error region")
	}
	p.Click("trigger a server error", `button[hx-get="/demo/panic"]`)
	p.WaitText("500 replaces the 404 in the error region", "#trellis-error", "Something went wrong")
	p.Expect(regexp.MustCompile(`500|Internal Server Error|responseError`))
	p.Run("dismiss the error", chromedp.Click(chromedp.CSS("#trellis-error .dismiss")))
	if got := p.Text("#trellis-error"); got != "" {
		t.Errorf("error region after dismiss: %q", got)
	}

	p.Click("load About as a partial", `a[hx-target="#main"]`)
	p.WaitText("partial render", "#render-mode", "a partial")
	if loc := p.Location(); !strings.HasSuffix(loc, "/about") {
		t.Errorf("hx-push-url did not update the location: %s", loc)
	}
	if strings.Contains(p.Text("#main"), "Clicked") {
		t.Error("partial did not replace main")
	}
	p.Run("go back", chromedp.NavigateBack())
	p.WaitText("history restore shows home", "#main", "Trellis demo")

	p.Click("boosted nav link", `nav a[href="/about"]`)
	p.WaitText("boosted render is a full page", "#render-mode", "a full page")

	// An out-of-band table row (htmx.OOB wraps it in a <template>) swaps
	// under both versions.
	var oob strings.Builder
	cell := htmx.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, "<td>new</td>")
		return err
	})
	if err := htmx.OOB("tr", "probe-row", "", cell).Render(context.Background(), &oob); err != nil {
		t.Fatal(err)
	}
	swapJS := map[htmxVersion]string{
		2: `htmx.swap(main, text, {swapStyle: "innerHTML"})`,
		4: `await htmx.swap({sourceElement: main, target: main, swap: "innerHTML", text})`,
	}[v]
	got := p.Eval("swap an out-of-band row", `(async () => {
		const box = document.createElement("div");
		box.innerHTML = '<div id="probe-main"></div><table><tbody><tr id="probe-row"><td>old</td></tr></tbody></table>';
		document.body.appendChild(box);
		const main = document.getElementById("probe-main");
		const text = "<p>main</p>" + `+jsonString(oob.String())+`;
		`+swapJS+`;
		const result = [main.innerHTML, box.querySelectorAll("tr").length, document.querySelector("#probe-row td").textContent].join("|");
		box.remove();
		return result;
	})()`)
	if got != "<p>main</p>|1|new" {
		t.Errorf("out-of-band row swap: main|rows|cell = %q, want <p>main</p>|1|new", got)
	}

	if v == 4 {
		// htmx 4 always runs <script> in swapped content; trellis.js drops
		// it unless htmx.allow_script_tags is set (it is not here).
		got := p.Eval("swap content with a script", `(async () => {
			const box = document.createElement("div");
			document.body.appendChild(box);
			await htmx.swap({sourceElement: box, target: box, swap: "innerHTML",
				text: '<p id="probe-p">swapped</p><script id="probe-s" src="/static/probe.js"></script>'});
			const result = !!document.getElementById("probe-p") + "," + !!document.getElementById("probe-s");
			box.remove();
			return result;
		})()`)
		if got != "true,false" {
			t.Errorf("content swapped, script kept: %s, want true,false", got)
		}
	}
	p.CheckNoErrors("end of the tour")
}

// accountsFlow registers, logs out and logs in through the real forms:
// htmx posts carry the CSRF header, validation errors swap in place, and
// success reloads the page with a flash.
func accountsFlow(t *testing.T, browser *browsertest.Browser, v htmxVersion) {
	s := v.start(t)
	p := v.open(t, browser, s, "/register", "#register-form")
	// Record whether the submit button is disabled while a request is in
	// flight (hx-disabled-elt; under htmx 4 trellis.js implements it): just
	// before htmx 2 sends it, just after htmx 4 received the answer.
	inFlight := map[htmxVersion]string{2: "htmx:beforeSend", 4: "htmx:after:request"}[v]
	p.Eval("watch the submit button", `(() => { window.submitDisabled = [];
		document.addEventListener("`+inFlight+`", () => {
			const b = document.querySelector("#register-form button[type=submit]");
			window.submitDisabled.push(!!b && b.disabled);
		}); })()`)
	p.Run("fill a mismatching form",
		chromedp.SendKeys(chromedp.CSS("#field-email"), "new@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-name"), "New <b>User</b>"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), "long enough"),
		chromedp.SendKeys(chromedp.CSS("#field-password_confirm"), "different"),
	)
	p.Click("submit the form", "#register-form button[type=submit]")
	p.WaitText("inline error", "#field-password_confirm-error", "do not match")
	if got := p.Eval("submit button state", `window.submitDisabled.join(",")`); got != "true" {
		t.Errorf("submit button disabled during the request: %q, want true", got)
	}
	if got := p.Eval("submit button after", `document.querySelector("#register-form button[type=submit]").disabled`); got != "false" {
		t.Errorf("submit button disabled after the request: %s", got)
	}
	p.Run("fix the confirmation",
		chromedp.SendKeys(chromedp.CSS("#field-password"), "long enough"),
		chromedp.SendKeys(chromedp.CSS("#field-password_confirm"), "long enough"),
	)
	p.Click("resubmit", "#register-form button[type=submit]")
	p.WaitText("welcome flash", "#flashes", "Your account is ready")
	p.WaitText("nav shows the user", "#nav-account", "New <b>User</b>")

	p.Click("log out", "#nav-logout")
	p.WaitText("logged out", "#nav-login", "Log in")

	p.Run("open login", chromedp.Navigate(s.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	p.Run("wrong password",
		chromedp.SendKeys(chromedp.CSS("#field-email"), "admin@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), "wrong password"),
	)
	p.Click("submit login", "#login-form button[type=submit]")
	p.WaitText("login error", "#login-form", "Invalid email or password.")
	p.Run("right password", chromedp.SendKeys(chromedp.CSS("#field-password"), adminPassword))
	p.Click("submit login again", "#login-form button[type=submit]")
	p.WaitText("admin signed in", "#nav-account", "Demo admin")
	p.WaitText("welcome back", "#flashes", "Welcome back")
	p.Expect(regexp.MustCompile(`422|Unprocessable`))
	p.CheckNoErrors("accounts tour")
}

// jobsDashboardFlow enqueues jobs from the playground and works the admin
// dashboard: live stats, tabs, retry-all and clear with confirmation, and
// cancelling a running job.
func jobsDashboardFlow(t *testing.T, browser *browsertest.Browser, v htmxVersion) {
	s := v.start(t)
	p := v.open(t, browser, s, "/login", "#login-form")
	dialogs := p.AcceptDialogs()

	p.Run("log in", chromedp.SendKeys(chromedp.CSS("#field-email"), "admin@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), adminPassword))
	p.Click("submit login", "#login-form button[type=submit]")
	p.WaitText("signed in", "#nav-account", "Demo admin")

	p.Run("open the playground", chromedp.Navigate(s.URL+"/demo/jobs"), chromedp.WaitVisible(chromedp.CSS("#enqueue-form")))
	enqueue := func(kind, count string) {
		t.Helper()
		p.Run("choose "+kind, chromedp.SetValue(chromedp.CSS("#field-kind"), kind), chromedp.SetValue(chromedp.CSS("#field-count"), count))
		p.Click("enqueue "+kind, "#enqueue-form button[type=submit]")
		p.WaitText("flash for "+kind, "#flashes", "Enqueued "+count+" "+kind)
	}
	enqueue("fail", "3")
	enqueue("succeed", "2")
	enqueue("slow", "1")
	p.WaitText("the playground lists the jobs", "#my-jobs", "demo_slow")

	p.Run("open the dashboard", chromedp.Navigate(s.URL+"/admin/jobs"), chromedp.WaitVisible(chromedp.CSS("#job-stats")))
	p.WaitText("failed jobs reach the dead letter queue (live stats)", "#stat-dead", "3")

	p.Click("dead tab", `.tabs a[href="/admin/jobs?state=dead"]`)
	p.WaitText("dead tab lists three jobs", "#job-total", "3 jobs")
	if loc := p.Location(); !strings.HasSuffix(loc, "/admin/jobs?state=dead") {
		t.Errorf("tab did not push the URL: %s", loc)
	}

	p.Click("retry all", "#retry-all")
	p.WaitText("retry-all flash", "#flashes", "3 dead jobs will run again")
	p.Run("let them fail again", chromedp.Sleep(3*time.Second))
	p.WaitText("they fail again", "#stat-dead", "3")
	p.Click("clear the dead letter queue", "#clear-dead")
	p.WaitText("clear flash", "#flashes", "3 dead jobs were deleted")
	p.WaitText("dead letter queue empty", "#stat-dead", "0")
	if n := len(dialogs.Messages()); n != 2 {
		t.Errorf("%d confirmation dialogs, want 2: %v", n, dialogs.Messages())
	}

	p.Click("running tab", `.tabs a[href="/admin/jobs?state=running"]`)
	p.WaitText("the slow job runs", "#job-list", "demo_slow")
	p.Click("cancel the running job", `#job-list td.actions button`)
	p.WaitText("cancel flash", "#flashes", "told to stop")
	p.Click("cancelled tab", `.tabs a[href="/admin/jobs?state=cancelled"]`)
	p.WaitText("the slow job ends cancelled", "#job-list", "demo_slow")
	p.Expect(regexp.MustCompile(`409|Conflict`))
	p.CheckNoErrors("dashboard tour")
}

// notesFlow is the everyday loop: register, log in, create a note with a
// validation error then fix it, search, edit inline, delete, see each
// flash once, log out.
func notesFlow(t *testing.T, browser *browsertest.Browser, v htmxVersion) {
	s := v.start(t)
	p := v.open(t, browser, s, "/register", "#register-form")
	p.AcceptDialogs()

	p.Run("register", chromedp.SendKeys(chromedp.CSS("#field-email"), "noter@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), "noter password"),
		chromedp.SendKeys(chromedp.CSS("#field-password_confirm"), "noter password"))
	p.Click("create the account", "#register-form button[type=submit]")
	p.WaitText("registered", "#nav-account", "noter@example.com")
	p.Click("log out", "#nav-logout")
	p.WaitText("logged out", "#nav-login", "Log in")
	p.Run("log in", chromedp.Navigate(s.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "noter@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), "noter password"))
	p.Click("submit login", "#login-form button[type=submit]")
	p.WaitText("logged in", "#flashes", "Welcome back")

	p.Run("open notes", chromedp.Navigate(s.URL+"/notes"), chromedp.WaitVisible(chromedp.CSS("#new-note")))
	if p.Text("#flashes") != "" {
		t.Errorf("the login flash showed twice: %q", p.Text("#flashes"))
	}
	p.Run("new note", chromedp.Click(chromedp.CSS("#new-note")), chromedp.WaitVisible(chromedp.CSS("#note-form")))
	p.Run("only a body", chromedp.SendKeys(chromedp.CSS("#field-body"), "Milk, eggs and bread"))
	p.Click("submit without a title", "#note-form button[type=submit]")
	p.WaitText("inline title error", "#field-title-error", "Title is required.")
	if got := p.Value("#field-body"); got != "Milk, eggs and bread" {
		t.Errorf("body lost after the error: %q", got)
	}
	p.Run("add the title", chromedp.SendKeys(chromedp.CSS("#field-title"), "Shopping"))
	p.Click("submit again", "#note-form button[type=submit]")
	p.WaitText("note page", "article.note h1", "Shopping")
	p.WaitText("created flash", "#flashes", "Note created.")

	p.Run("a second note", chromedp.Navigate(s.URL+"/notes/new"), chromedp.WaitVisible(chromedp.CSS("#note-form")),
		chromedp.SendKeys(chromedp.CSS("#field-title"), "Holiday ideas"))
	p.Click("create it", "#note-form button[type=submit]")
	p.WaitText("second note page", "article.note h1", "Holiday ideas")

	p.Run("back to the list", chromedp.Navigate(s.URL+"/notes"), chromedp.WaitVisible(chromedp.CSS("#note-q")))
	p.WaitText("count", "#note-count", "2 notes")
	p.WaitReady("search box ready", "#note-q")
	p.Run("search", chromedp.SendKeys(chromedp.CSS("#note-q"), "shop"))
	p.WaitText("count follows the search", "#note-count", "1 note")
	if rows := p.Text("#note-rows"); strings.Contains(rows, "Holiday") || !strings.Contains(rows, "Shopping") {
		t.Errorf("search results: %q", rows)
	}
	if loc := p.Location(); !strings.HasSuffix(loc, "/notes?q=shop") {
		t.Errorf("search did not update the URL: %s", loc)
	}

	p.Click("edit inline", "#note-rows a.button.secondary")
	p.WaitReady("inline form", "#note-rows form")
	p.Run("clear the title", chromedp.Clear(chromedp.CSS("#note-rows #field-title")))
	p.Click("save empty", "#note-rows button[type=submit]")
	p.WaitText("inline error", "#note-rows", "Title is required.")
	p.Run("new title", chromedp.SendKeys(chromedp.CSS("#note-rows #field-title"), "Weekly shopping"))
	p.Click("save", "#note-rows button[type=submit]")
	p.WaitText("row updated", "#note-rows", "Weekly shopping")
	p.WaitText("saved flash", "#flashes", "Note saved.")

	p.Click("delete", "#note-rows form.inline button")
	p.WaitText("deleted flash", "#flashes", "deleted.")
	p.WaitText("count after delete", "#note-count", "1 note")
	p.Run("row gone", chromedp.WaitNotPresent(chromedp.CSS("#note-rows a.note-title")))

	p.Click("log out at the end", "#nav-logout")
	p.WaitText("logged out at the end", "#nav-login", "Log in")
	p.Expect(regexp.MustCompile(`422|Unprocessable`))
	p.CheckNoErrors("notes flow")
}

// jsonString quotes s as a JavaScript string literal.
func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

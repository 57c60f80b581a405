// Package render writes templ components as HTTP responses and applies the
// one rule that decides between a full page and a partial: full page for
// normal requests, boosted requests, history restores and htmx 4 requests
// of type "full"; the partial for every other htmx request. Responses that
// follow the rule carry a Vary header naming the htmx headers that decided.
//
// Output is rendered into a buffer first, so a template error becomes a
// clean 500 page instead of half a page.
package render

import (
	"bytes"
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/a-h/templ"
	"github.com/trellis-go/trellis/htmx"
)

// LayoutFunc wraps page content in the site layout. title may be empty.
type LayoutFunc func(title string, content templ.Component) templ.Component

// ExtrasFunc returns a component appended to every partial htmx response,
// typically out-of-band swaps such as flash messages. It may return nil.
type ExtrasFunc func(r *http.Request) templ.Component

// Options configures a [Renderer].
type Options struct {
	// Layout wraps full pages. Nil renders content without a layout.
	Layout LayoutFunc
	// ErrorPage renders the body of an error page (inside Layout).
	ErrorPage func(ErrorInfo) templ.Component
	// ErrorFragment renders the error shown in the error region for htmx
	// requests.
	ErrorFragment func(ErrorInfo) templ.Component
	// ErrorTarget is the CSS selector of the error region htmx error
	// fragments are swapped into. Default "#trellis-error".
	ErrorTarget string
	// Logger receives 5xx errors and template failures.
	Logger *slog.Logger
	// Classify maps errors StatusOf leaves at 500 to a better status
	// (for example 503 when the database is down); 0 keeps 500.
	Classify func(error) int
}

// Renderer renders pages, partials and error pages. It is safe for
// concurrent use; configure it before serving requests.
type Renderer struct {
	opts   Options
	extras []ExtrasFunc
}

// New returns a Renderer.
func New(opts Options) *Renderer {
	if opts.ErrorTarget == "" {
		opts.ErrorTarget = "#trellis-error"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ErrorPage == nil {
		opts.ErrorPage = plainError
	}
	if opts.ErrorFragment == nil {
		opts.ErrorFragment = plainError
	}
	return &Renderer{opts: opts}
}

// AddExtras registers a component source appended to partial responses
// (and to error fragments). Call it before serving requests.
func (rd *Renderer) AddExtras(f ExtrasFunc) { rd.extras = append(rd.extras, f) }

// View describes a response that is a full page for some requests and a
// partial for others.
type View struct {
	// Status defaults to 200.
	Status int
	// Title is the page title (full pages only).
	Title string
	// Content is the page body, rendered inside the layout.
	Content templ.Component
	// Partial is rendered alone for partial htmx requests; nil means Content.
	Partial templ.Component
}

// Page renders content with the layout for full-page requests and alone for
// partial htmx requests.
func (rd *Renderer) Page(w http.ResponseWriter, r *http.Request, title string, content templ.Component) {
	rd.View(w, r, View{Title: title, Content: content})
}

// View renders v following the full-page rule and sets Vary.
func (rd *Renderer) View(w http.ResponseWriter, r *http.Request, v View) {
	htmx.Vary(w.Header())
	status := v.Status
	if status == 0 {
		status = http.StatusOK
	}
	if htmx.ParseRequest(r).WantsFullPage() {
		rd.write(w, r, status, rd.full(v.Title, v.Content))
		return
	}
	part := v.Partial
	if part == nil {
		part = v.Content
	}
	rd.write(w, r, status, rd.withExtras(r, part))
}

// Fragment renders c alone, whatever kind of request this is, plus the
// registered extras for htmx requests. Use it for endpoints only htmx calls.
func (rd *Renderer) Fragment(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	if htmx.IsRequest(r) {
		c = rd.withExtras(r, c)
	}
	rd.write(w, r, status, c)
}

func (rd *Renderer) full(title string, content templ.Component) templ.Component {
	if rd.opts.Layout == nil {
		return content
	}
	return rd.opts.Layout(title, content)
}

func (rd *Renderer) withExtras(r *http.Request, c templ.Component) templ.Component {
	if len(rd.extras) == 0 {
		return c
	}
	parts := []templ.Component{c}
	for _, f := range rd.extras {
		if e := f(r); e != nil {
			parts = append(parts, e)
		}
	}
	return templ.Join(parts...)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// write renders c into a buffer and sends it with status. A render failure
// becomes a 500 error page.
func (rd *Renderer) write(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			bufPool.Put(buf)
		}
	}()
	ctx := r.Context()
	if status >= 400 {
		// Error pages are small and say what went wrong, also to a client
		// that stopped sending (a body cut short) and to the access log:
		// render them even when the request's context has ended.
		ctx = context.WithoutCancel(ctx)
	}
	if err := c.Render(ctx, buf); err != nil {
		if ctx.Err() != nil {
			return // client went away
		}
		if status == http.StatusInternalServerError {
			// The error page itself failed: fall back to plain text.
			rd.opts.Logger.ErrorContext(r.Context(), "rendering error page failed", slog.Any("error", err))
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		rd.Error(w, r, &Error{Status: http.StatusInternalServerError, Err: err})
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// plainError is the fallback error body when no templates are configured.
func plainError(e ErrorInfo) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, "<h1>"+html.EscapeString(e.Title)+"</h1><p>"+html.EscapeString(e.Message)+"</p>")
		return err
	})
}

// Redirect sends the client to url after a successful form: 303 See Other
// for normal requests, HX-Redirect (a full page load) for htmx requests.
func Redirect(w http.ResponseWriter, r *http.Request, url string) {
	if htmx.IsRequest(r) {
		htmx.Redirect(w, url)
		w.WriteHeader(http.StatusOK)
		return
	}
	http.Redirect(w, r, url, http.StatusSeeOther)
}

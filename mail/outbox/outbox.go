// Package outbox serves the development mail pages: the outbox (mail the
// app stored instead of sending) and the template previews. It is a route
// set the app mounts where it wants (trellis.MailOutbox, default
// /dev/mail) — in development for everyone, elsewhere only when
// mail.outbox_ui is on and then behind the app's admin check.
//
// Mail HTML is attacker-controlled (a user's name is part of it), so it is
// never inlined in the app's pages: it is served alone, inside a
// sandboxed iframe (no scripts, no same-origin access) with a
// Content-Security-Policy that forbids scripts, forms and plugins, and
// links in it open in a new top-level tab.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis/htmx"
	"github.com/trellis-go/trellis/mail"
	"github.com/trellis-go/trellis/middleware"
	"github.com/trellis-go/trellis/render"
)

// DefaultPrefix is where the routes live when Options.Prefix is empty.
const DefaultPrefix = "/dev/mail"

// FrameCSP is the Content-Security-Policy of a mail's HTML part: sandboxed
// (scripts, forms and same-origin access off; popups allowed so links
// open in a new tab), no scripts, objects, frames or form targets, images
// and inline styles allowed as mail clients do, framable by the app only.
const FrameCSP = "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; " +
	"img-src data: https: http:; style-src 'unsafe-inline'; font-src data: https:; " +
	"form-action 'none'; frame-ancestors 'self'"

// Options configure the outbox pages.
type Options struct {
	// Mailer provides the outbox and the previews. Required.
	Mailer *mail.Mailer
	// Render renders the pages in the app's layout. Required.
	Render *render.Renderer
	// Logger receives an audit line when the outbox is cleared.
	Logger *slog.Logger
	// Prefix is the path every route lives under: a leading '/', no
	// trailing '/'. Empty means DefaultPrefix.
	Prefix string
	// Keep is mail.outbox_keep, shown on the page.
	Keep int
}

// Handler serves the outbox pages. Create it with New.
type Handler struct {
	m      *mail.Mailer
	render *render.Renderer
	logger *slog.Logger
	links  links
	keep   int
}

// ErrInvalidOptions is wrapped by New's errors.
var ErrInvalidOptions = errors.New("mail outbox: invalid options")

// New validates o and returns the handlers.
func New(o Options) (*Handler, error) {
	if o.Mailer == nil || o.Render == nil {
		return nil, fmt.Errorf("%w: Mailer and Render are required", ErrInvalidOptions)
	}
	prefix := o.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "/") || strings.ContainsAny(prefix, "?#{}* ") {
		return nil, fmt.Errorf("%w: prefix %q", ErrInvalidOptions, prefix)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{m: o.Mailer, render: o.Render, logger: o.Logger, links: links{prefix}, keep: o.Keep}, nil
}

// Routes mounts, with P the prefix:
//
//	GET  P                        the outbox (P?part=list: the table alone, for htmx)
//	GET  P/{id}                   one mail: headers, HTML frame, text, link to the source
//	GET  P/{id}/html              the HTML part alone, sandboxed (framed by P/{id})
//	GET  P/{id}/raw               the raw RFC 5322 source, as text/plain
//	POST P/clear                  deletes every mail (CSRF-protected like every form)
//	GET  P/previews               every registered preview rendered with sample data
//	GET  P/previews/{name}/html   one preview's HTML part, sandboxed
//
// Routes adds no authorization: the app decides who may see them.
func (h *Handler) Routes(r chi.Router) {
	p := h.links.prefix
	r.Get(p, h.list)
	r.Post(p+"/clear", h.clear)
	r.Get(p+"/previews", h.previews)
	r.Get(p+"/previews/{name}/html", h.previewHTML)
	r.Get(p+"/{id}", h.mail)
	r.Get(p+"/{id}/html", h.mailHTML)
	r.Get(p+"/{id}/raw", h.raw)
}

// links builds every URL from the prefix.
type links struct{ prefix string }

// Home is the outbox page.
func (l links) Home() string { return l.prefix }

// ListPart is the outbox table alone, for htmx refreshes.
func (l links) ListPart() string { return l.prefix + "?part=list" }

// Clear deletes every mail (POST).
func (l links) Clear() string { return l.prefix + "/clear" }

// Previews is the previews page.
func (l links) Previews() string { return l.prefix + "/previews" }

// Mail is one mail's page.
func (l links) Mail(id int64) string { return l.prefix + "/" + strconv.FormatInt(id, 10) }

// HTML is one mail's sandboxed HTML part.
func (l links) HTML(id int64) string { return l.Mail(id) + "/html" }

// Raw is one mail's source.
func (l links) Raw(id int64) string { return l.Mail(id) + "/raw" }

// PreviewHTML is one preview's sandboxed HTML part.
func (l links) PreviewHTML(name string) string {
	return l.prefix + "/previews/" + url.PathEscape(name) + "/html"
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	o := h.m.Outbox()
	var mails []mail.Mail
	if o != nil {
		var err error
		if mails, err = o.List(r.Context(), 0); err != nil {
			h.render.Error(w, r, err)
			return
		}
	}
	if r.URL.Query().Get("part") == "list" && htmx.IsRequest(r) {
		htmx.Vary(w.Header())
		h.render.Fragment(w, r, http.StatusOK, mailList(h.links, mails))
		return
	}
	h.render.Page(w, r, "Mail outbox", listPage(h.links, mails, o == nil, h.keep))
}

// stored loads the mail named by the {id} parameter, answering 404 itself
// when there is none.
func (h *Handler) stored(w http.ResponseWriter, r *http.Request) (*mail.Mail, bool) {
	o := h.m.Outbox()
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if o == nil || err != nil || id < 1 {
		h.render.Error(w, r, render.NewError(http.StatusNotFound, "There is no such mail in the outbox."))
		return nil, false
	}
	m, err := o.Get(r.Context(), id)
	if errors.Is(err, mail.ErrNotFound) {
		h.render.Error(w, r, render.NewError(http.StatusNotFound, "There is no such mail in the outbox (it may have been cleared)."))
		return nil, false
	}
	if err != nil {
		h.render.Error(w, r, err)
		return nil, false
	}
	return m, true
}

func (h *Handler) mail(w http.ResponseWriter, r *http.Request) {
	if m, ok := h.stored(w, r); ok {
		h.render.Page(w, r, m.Subject, mailPage(h.links, m))
	}
}

func (h *Handler) mailHTML(w http.ResponseWriter, r *http.Request) {
	if m, ok := h.stored(w, r); ok {
		writeFramed(w, m.HTML)
	}
}

func (h *Handler) raw(w http.ResponseWriter, r *http.Request) {
	m, ok := h.stored(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Header().Set("Content-Disposition", `inline; filename="mail-`+strconv.FormatInt(m.ID, 10)+`.eml"`)
	_, _ = w.Write(m.Raw)
}

// writeFramed serves an HTML part for the sandboxed iframe: its own strict
// policy instead of the app's, framable by the app only, links opening
// in a new tab.
func writeFramed(w http.ResponseWriter, html string) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", FrameCSP)
	hd.Set("X-Frame-Options", "SAMEORIGIN")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write([]byte("<!DOCTYPE html>\n<base target=\"_blank\">\n" + html))
}

func (h *Handler) clear(w http.ResponseWriter, r *http.Request) {
	o := h.m.Outbox()
	if o == nil {
		h.render.Error(w, r, render.NewError(http.StatusNotFound, "This app sends mail over SMTP; it has no outbox to clear."))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	n, err := o.Clear(ctx)
	if err != nil {
		h.render.Error(w, r, err)
		return
	}
	h.logger.LogAttrs(r.Context(), slog.LevelInfo, "mail outbox cleared", slog.Int64("count", n),
		slog.String("request_id", middleware.RequestIDFrom(r.Context())))
	render.Redirect(w, r, h.links.Home())
}

// preview is one rendered preview: its mail, or why it failed.
type preview struct {
	// Name is the registered name.
	Name string
	// Mail is the rendered mail when Err is empty.
	Mail *mail.Mail
	// Err says why the preview failed to render.
	Err string
}

func (h *Handler) previews(w http.ResponseWriter, r *http.Request) {
	var list []preview
	for _, name := range h.m.Previews() {
		p := preview{Name: name}
		m, err := h.m.RenderPreview(r.Context(), name)
		if err != nil {
			p.Err = err.Error()
		} else {
			p.Mail = m
		}
		list = append(list, p)
	}
	h.render.Page(w, r, "Mail previews", previewsPage(h.links, list))
}

func (h *Handler) previewHTML(w http.ResponseWriter, r *http.Request) {
	m, err := h.m.RenderPreview(r.Context(), chi.URLParam(r, "name"))
	if errors.Is(err, mail.ErrNotFound) {
		h.render.Error(w, r, render.NewError(http.StatusNotFound, "There is no preview of that name."))
		return
	}
	if err != nil {
		h.render.Error(w, r, render.NewError(http.StatusUnprocessableEntity, "This preview fails to render: "+err.Error()))
		return
	}
	writeFramed(w, m.HTML)
}

// itoa formats an int64.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// stamp formats when a mail was sent.
func stamp(m mail.Mail) string { return m.CreatedAt.Local().Format("2006-01-02 15:04:05") }

// joinAddrs lists addresses.
func joinAddrs(a []string) string { return strings.Join(a, ", ") }

// linkRE finds http(s) links in a text part.
var linkRE = regexp.MustCompile(`https?://[^\s<>()"']+`)

// chunk is a piece of a text part: plain text or a link.
type chunk struct {
	text string
	link bool
}

// linkify splits text into plain pieces and http(s) links (only those two
// schemes, so a link is never javascript: or data:).
func linkify(text string) []chunk {
	var out []chunk
	last := 0
	for _, loc := range linkRE.FindAllStringIndex(text, -1) {
		end := loc[1]
		for end > loc[0] && strings.ContainsRune(".,;:!?", rune(text[end-1])) {
			end--
		}
		if loc[0] > last {
			out = append(out, chunk{text: text[last:loc[0]]})
		}
		out = append(out, chunk{text: text[loc[0]:end], link: true})
		last = end
	}
	if last < len(text) {
		out = append(out, chunk{text: text[last:]})
	}
	return out
}

package uploads

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/storage"
)

// FileCSP is the Content-Security-Policy of every file response: nothing
// loads, no script runs, and the document is sandboxed (a unique origin,
// no forms, no scripts), even if a browser renders it.
const FileCSP = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"

// inlineTypes may be shown in the browser; everything else is a download.
// HTML, SVG, XML and anything scriptable are never on it.
var inlineTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"text/plain": true, "audio/mpeg": true, "audio/ogg": true, "audio/wav": true,
	"video/mp4": true, "video/webm": true, "video/ogg": true,
}

// maxRanges caps the ranges one request may ask for; more is answered 416
// (http.ServeContent already ignores ranges that add up to more than the
// file).
const maxRanges = 16

// presentation returns the Content-Type and Content-Disposition a file of
// type ctype named name is served with.
func presentation(ctype, name string) (string, string) {
	disp := "attachment"
	if inlineTypes[ctype] {
		disp = "inline"
	} else if dangerous(ctype) {
		ctype = "application/octet-stream"
	}
	if name != "" {
		if v := mime.FormatMediaType(disp, map[string]string{"filename": name}); v != "" {
			disp = v
		}
	}
	if ctype == "text/plain" {
		ctype = "text/plain; charset=utf-8"
	}
	return ctype, disp
}

// dangerous reports types a browser could run as a document.
func dangerous(ctype string) bool {
	return strings.Contains(ctype, "html") || strings.Contains(ctype, "xml") || strings.Contains(ctype, "svg") ||
		strings.Contains(ctype, "javascript") || strings.HasPrefix(ctype, "text/") && ctype != "text/plain" || ctype == ""
}

// Routes mounts the file routes on r: GET /{id} and GET /{id}/thumb (for
// whoever Authorize allows; 404 for anybody else) and GET
// /signed/{key} (local signed URLs, no session needed). Mount it under
// the prefix the signer was made with ("/files" by default).
func (m *Manager) Routes(r chi.Router) {
	r.Get("/{id}", func(w http.ResponseWriter, r *http.Request) { m.serveByID(w, r, false) })
	r.Get("/{id}/thumb", func(w http.ResponseWriter, r *http.Request) { m.serveByID(w, r, true) })
	r.Get("/signed/{a}/{b}/{id}", m.serveSigned)
}

var errNoFile = render.NewError(http.StatusNotFound, "That file does not exist.")

func (m *Manager) serveByID(w http.ResponseWriter, r *http.Request, thumb bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		m.render.Error(w, r, errNoFile)
		return
	}
	f, err := m.Get(r.Context(), id)
	if errors.Is(err, ErrNotFound) || (err == nil && !m.Authorize(r, f)) {
		m.render.Error(w, r, errNoFile)
		return
	}
	if err != nil {
		m.render.Error(w, r, err)
		return
	}
	key, ctype, name, etag := f.Key, f.ContentType, f.Name, f.SHA256
	if thumb {
		if f.ThumbKey == "" {
			m.render.Error(w, r, render.NewError(http.StatusNotFound, "The thumbnail is not ready yet."))
			return
		}
		key, ctype, name, etag = f.ThumbKey, thumbType, "", "t"+f.SHA256
	}
	ctype, disp := presentation(ctype, name)
	w.Header().Set("Cache-Control", "private, max-age=3600")
	m.serve(w, r, key, ctype, disp, etag, f.CreatedAt)
}

func (m *Manager) serveSigned(w http.ResponseWriter, r *http.Request) {
	key := chi.URLParam(r, "a") + "/" + chi.URLParam(r, "b") + "/" + chi.URLParam(r, "id")
	if m.signer == nil {
		m.render.Error(w, r, errNoFile)
		return
	}
	opts, err := m.signer.Verify(key, r.URL.Query(), m.now())
	if err != nil {
		m.render.Error(w, r, &render.Error{Status: http.StatusForbidden, Message: "This link has expired or is not valid. Go back and open the file again.", Err: err})
		return
	}
	w.Header().Set("Cache-Control", "private, max-age=60")
	m.serve(w, r, key, opts.ContentType, opts.Disposition, "", time.Time{})
}

// serve writes the object under key with the file response headers;
// http.ServeContent answers Range, If-Range, If-None-Match and
// If-Modified-Since.
func (m *Manager) serve(w http.ResponseWriter, r *http.Request, key, ctype, disp, etag string, mod time.Time) {
	obj, err := m.open(r.Context(), key)
	if errors.Is(err, storage.ErrNotFound) {
		m.render.Error(w, r, errNoFile)
		return
	}
	if err != nil {
		m.render.Error(w, r, err)
		return
	}
	defer obj.Close()
	if rng := r.Header.Get("Range"); rng != "" && (len(rng) > 1024 || strings.Count(rng, ",") >= maxRanges) {
		w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(obj.Info().Size, 10))
		m.render.Error(w, r, render.NewError(http.StatusRequestedRangeNotSatisfiable, fmt.Sprintf("At most %d ranges can be requested at once.", maxRanges)))
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", disp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", FileCSP)
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if etag != "" {
		h.Set("ETag", `"`+etag+`"`)
	}
	if mod.IsZero() {
		mod = obj.Info().ModTime
	}
	http.ServeContent(w, r, "", mod, obj)
}

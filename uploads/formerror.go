package uploads

import (
	"errors"
	"net/http"

	"github.com/trellis-go/trellis/htmx"
	"github.com/trellis-go/trellis/render"
)

// FormError answers an upload that Receive refused. For a 4xx error it
// renders v at the error's status with Message(err) available to the
// caller's view; for htmx requests it sets HX-Retarget to formSelector
// (such as "#avatar-form") so the re-rendered form replaces the old one
// even for a 413, which would otherwise go to the error region. 5xx errors
// get the app's error page.
func (m *Manager) FormError(w http.ResponseWriter, r *http.Request, err error, formSelector string, v render.View) {
	var re *render.Error
	if !errors.As(err, &re) || re.Status >= 500 {
		m.render.Error(w, r, err)
		return
	}
	v.Status = re.Status
	if htmx.IsRequest(r) && formSelector != "" {
		w.Header().Set(htmx.HeaderRetarget, formSelector)
		w.Header().Set(htmx.HeaderReswap, "outerHTML")
	}
	m.render.View(w, r, v)
}

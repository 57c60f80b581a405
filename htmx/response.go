package htmx

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Response headers understood by htmx 2. [HeaderTrigger] ("HX-Trigger") is
// both a request and a response header.
const (
	// HeaderLocation makes htmx load a URL with an AJAX GET, without a full
	// page reload. See [Location] and [LocationWith].
	HeaderLocation = "HX-Location"
	// HeaderPushURL pushes a URL onto the browser history. See [PushURL].
	HeaderPushURL = "HX-Push-Url"
	// HeaderReplaceURL replaces the current URL in the browser history. See
	// [ReplaceURL].
	HeaderReplaceURL = "HX-Replace-Url"
	// HeaderRedirect makes the browser navigate to a URL with a full page
	// load. See [Redirect].
	HeaderRedirect = "HX-Redirect"
	// HeaderRefresh set to "true" makes the browser reload the page. See
	// [Refresh].
	HeaderRefresh = "HX-Refresh"
	// HeaderRetarget replaces the target of the swap with the element a CSS
	// selector matches. See [Retarget].
	HeaderRetarget = "HX-Retarget"
	// HeaderReswap replaces the swap specification. See [Reswap].
	HeaderReswap = "HX-Reswap"
	// HeaderReselect replaces hx-select: which part of the response is
	// swapped in. See [Reselect].
	HeaderReselect = "HX-Reselect"
	// HeaderTriggerAfterSettle triggers client events after the settle
	// step. See [TriggerAfterSettle].
	HeaderTriggerAfterSettle = "HX-Trigger-After-Settle"
	// HeaderTriggerAfterSwap triggers client events after the swap step.
	// See [TriggerAfterSwap].
	HeaderTriggerAfterSwap = "HX-Trigger-After-Swap"
)

// StatusStopPolling is the status code that makes htmx stop polling (an
// element with hx-trigger="every ..."). See [StopPolling].
const StatusStopPolling = 286

// LocationOptions is the JSON form of HX-Location, written by
// [LocationWith]. Path is required; empty optional fields are omitted.
type LocationOptions struct {
	// Path is the URL to load. Required.
	Path string `json:"path"`
	// Source is the selector of the source element of the request.
	Source string `json:"source,omitempty"`
	// Event is the name of an event that "triggered" the request.
	Event string `json:"event,omitempty"`
	// Handler is the name of a client-side callback that handles the
	// response HTML.
	Handler string `json:"handler,omitempty"`
	// Target is the selector of the element to swap the response into.
	Target string `json:"target,omitempty"`
	// Swap is how the response is swapped in.
	Swap Swap `json:"swap,omitempty"`
	// Values are sent as request parameters.
	Values map[string]any `json:"values,omitempty"`
	// Headers are sent as request headers.
	Headers map[string]string `json:"headers,omitempty"`
	// Select is the selector of the part of the response to swap in.
	Select string `json:"select,omitempty"`
}

// Location sets HX-Location to path: a client-side redirect in which htmx
// fetches path with an AJAX GET, swaps it into the body and pushes it onto
// the browser history, without a full page reload. Control characters are removed and non-ASCII
// bytes percent-encoded; a leading "{" is percent-encoded too, because htmx
// would read it as the start of the JSON form. If nothing is left, the
// header is removed.
func Location(w http.ResponseWriter, path string) {
	v := headerURL(path)
	if strings.HasPrefix(v, "{") {
		v = "%7B" + v[1:]
	}
	setOrDel(w.Header(), HeaderLocation, v)
}

// LocationWith sets HX-Location to the JSON form of opts. It returns an
// error, leaving the header unchanged, when opts.Path is empty or
// opts.Values cannot be encoded as JSON.
func LocationWith(w http.ResponseWriter, opts LocationOptions) error {
	if opts.Path == "" {
		return errors.New("htmx: HX-Location: empty path")
	}
	js, err := json.Marshal(opts)
	if err != nil {
		return fmt.Errorf("htmx: HX-Location: encoding options for %q: %w", opts.Path, err)
	}
	w.Header().Set(HeaderLocation, asciiJSON(js))
	return nil
}

// PushURL sets HX-Push-Url, pushing url onto the browser history. The value
// is cleaned as for [Location], except that a leading "{" is kept; an empty
// result removes the header. The URL "false" means [PreventPushURL].
func PushURL(w http.ResponseWriter, url string) {
	setOrDel(w.Header(), HeaderPushURL, headerURL(url))
}

// PreventPushURL sets HX-Push-Url to "false", preventing the history update
// an hx-push-url attribute would cause.
func PreventPushURL(w http.ResponseWriter) {
	w.Header().Set(HeaderPushURL, "false")
}

// ReplaceURL sets HX-Replace-Url, replacing the current URL in the browser
// history. The value is cleaned as for [PushURL].
func ReplaceURL(w http.ResponseWriter, url string) {
	setOrDel(w.Header(), HeaderReplaceURL, headerURL(url))
}

// PreventReplaceURL sets HX-Replace-Url to "false", preventing the history
// update an hx-replace-url attribute would cause.
func PreventReplaceURL(w http.ResponseWriter) {
	w.Header().Set(HeaderReplaceURL, "false")
}

// Redirect sets HX-Redirect, making the browser load url with a full page
// load. The value is cleaned as for [PushURL].
func Redirect(w http.ResponseWriter, url string) {
	setOrDel(w.Header(), HeaderRedirect, headerURL(url))
}

// Refresh sets HX-Refresh to "true", making the browser reload the page.
func Refresh(w http.ResponseWriter) {
	w.Header().Set(HeaderRefresh, "true")
}

// Retarget sets HX-Retarget to selector, which may use htmx's extended
// selector syntax ("closest tr", "this", ...). Control characters are
// removed and non-ASCII characters CSS-escaped; an empty result removes the
// header.
func Retarget(w http.ResponseWriter, selector string) {
	setOrDel(w.Header(), HeaderRetarget, headerSelector(selector))
}

// Reswap sets HX-Reswap to s, cleaned as for [Retarget].
func Reswap(w http.ResponseWriter, s Swap) {
	setOrDel(w.Header(), HeaderReswap, headerSelector(string(s)))
}

// Reselect sets HX-Reselect to selector, cleaned as for [Retarget].
func Reselect(w http.ResponseWriter, selector string) {
	setOrDel(w.Header(), HeaderReselect, headerSelector(selector))
}

// StopPolling writes the status line [StatusStopPolling], which makes htmx
// stop polling. Like WriteHeader, it must come after all header changes.
func StopPolling(w http.ResponseWriter) {
	w.WriteHeader(StatusStopPolling)
}

func setOrDel(h http.Header, name, value string) {
	if value == "" {
		h.Del(name)
		return
	}
	h.Set(name, value)
}

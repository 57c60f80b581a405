package htmx

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Request headers sent by htmx. The names are spelled as htmx sends them;
// [http.Header] lookups canonicalise them.
const (
	// HeaderRequest is "true" on every request issued by htmx.
	HeaderRequest = "HX-Request"
	// HeaderBoosted is "true" when the request comes from an element using
	// hx-boost.
	HeaderBoosted = "HX-Boosted"
	// HeaderTarget holds the id of the target element, if it has one.
	HeaderTarget = "HX-Target"
	// HeaderTrigger holds the id of the element that triggered the request,
	// if it has one. The same name is also a response header: see
	// [Trigger].
	HeaderTrigger = "HX-Trigger"
	// HeaderTriggerName holds the name attribute of the element that
	// triggered the request, if it has one.
	HeaderTriggerName = "HX-Trigger-Name"
	// HeaderCurrentURL holds the browser's current URL.
	HeaderCurrentURL = "HX-Current-URL"
	// HeaderPrompt holds the user's answer to an hx-prompt.
	HeaderPrompt = "HX-Prompt"
	// HeaderHistoryRestoreRequest is "true" when htmx requests a page to
	// restore history after a cache miss; such requests need the full page.
	HeaderHistoryRestoreRequest = "HX-History-Restore-Request"
	// HeaderRequestType (htmx 4) is [RequestTypePartial] or
	// [RequestTypeFull].
	HeaderRequestType = "HX-Request-Type"
	// HeaderSource (htmx 4) identifies the element that triggered the
	// request as "tag#id" (or "tag" when it has no id). It replaces htmx 2's
	// HX-Trigger and HX-Trigger-Name request headers.
	HeaderSource = "HX-Source"
)

// Values of [HeaderRequestType], as stored in [Request.RequestType].
const (
	// RequestTypePartial means the client swaps the response into part of
	// the page.
	RequestTypePartial = "partial"
	// RequestTypeFull means the client expects a whole page.
	RequestTypeFull = "full"
)

// Length limits, in bytes, above which a string request header is treated as
// absent by [ParseRequest].
const (
	// MaxHeaderValueLen limits HX-Target, HX-Trigger, HX-Trigger-Name and
	// HX-Current-URL.
	MaxHeaderValueLen = 1024
	// MaxPromptLen limits HX-Prompt.
	MaxPromptLen = 4096
)

// Canonical (textproto) forms of the request header names, used for direct
// map lookups that neither canonicalise nor allocate.
const (
	keyRequest        = "Hx-Request"
	keyBoosted        = "Hx-Boosted"
	keyTarget         = "Hx-Target"
	keyTrigger        = "Hx-Trigger"
	keyTriggerName    = "Hx-Trigger-Name"
	keyCurrentURL     = "Hx-Current-Url"
	keyPrompt         = "Hx-Prompt"
	keyHistoryRestore = "Hx-History-Restore-Request"
	keyRequestType    = "Hx-Request-Type"
	keySource         = "Hx-Source"

	// When a value cannot be sent as a header (a character above U+00FF
	// or a line break), htmx 2 sends it through encodeURIComponent and adds
	// the header NAME-URI-AutoEncoded: true.
	keyAutoEncoded = "-Uri-Autoencoded"
)

// Request is the htmx-related information of an HTTP request, as returned by
// [ParseRequest]. The zero value describes a request not made by htmx.
type Request struct {
	// Enabled reports HX-Request: true, meaning htmx issued the request.
	Enabled bool
	// Boosted reports HX-Boosted: true.
	Boosted bool
	// HistoryRestore reports HX-History-Restore-Request: true.
	HistoryRestore bool
	// Target is the id of the target element, from HX-Target. htmx 2 sends
	// the id itself; htmx 4 sends "tag#id" and Target is the id part.
	Target string
	// Trigger is the id of the triggering element: htmx 2's HX-Trigger, or
	// the id part of htmx 4's HX-Source ("tag#id").
	Trigger string
	// TriggerName is HX-Trigger-Name: the name of the triggering element.
	// htmx 4 does not send it.
	TriggerName string
	// CurrentURL is HX-Current-URL: the browser's URL.
	CurrentURL string
	// Prompt is HX-Prompt: the user's answer to hx-prompt.
	Prompt string
	// RequestType is HX-Request-Type: "", [RequestTypePartial] or
	// [RequestTypeFull].
	RequestType string
}

// ParseRequest returns the htmx headers of r. A nil r yields the zero
// Request. It never fails; header values that do not meet the rules below
// are read as absent (false or ""):
//
//   - Only the first value of a header sent several times is used.
//   - Boolean headers are true only for the value "true", compared
//     case-insensitively after trimming white space.
//   - String headers longer than their limit ([MaxPromptLen] for HX-Prompt,
//     [MaxHeaderValueLen] for the others) as received are absent. The rest
//     have surrounding spaces and tabs trimmed, and are absent if they then
//     contain invalid UTF-8, control characters (Unicode category Cc, which
//     includes tab, CR, LF and NUL) or the line and paragraph separators
//     U+2028 and U+2029.
//   - A string header accompanied by NAME-URI-AutoEncoded: true (htmx's
//     fallback for values a browser cannot send as a header) is
//     percent-decoded before those checks; the encoded form may be up to
//     three times the limit, and an undecodable value is absent.
//   - RequestType is "partial" or "full" (matched case-insensitively and
//     stored in lower case), or "" for anything else.
//   - A request with a valid RequestType comes from htmx 4, which names
//     elements "tag#id" in HX-Target and HX-Source: Target and Trigger are
//     then the id after the first "#", percent-decoded (htmx 4 passes ids
//     through encodeURI) and checked as above; they are "" when the element
//     has no id, and HX-Trigger is ignored (htmx 4 sends it only as a
//     response header).
//
// Browsers send characters up to U+00FF in request headers as single
// (Latin-1) bytes, so an element id such as "café" arrives as invalid UTF-8
// and is read as absent.
func ParseRequest(r *http.Request) Request {
	if r == nil {
		return Request{}
	}
	h := r.Header
	typ := requestType(first(h, keyRequestType))
	if typ != "" {
		return Request{
			Enabled:        isTrue(first(h, keyRequest)),
			Boosted:        isTrue(first(h, keyBoosted)),
			HistoryRestore: isTrue(first(h, keyHistoryRestore)),
			Target:         elementID(stringHeader(h, keyTarget, keyTarget+keyAutoEncoded, MaxHeaderValueLen)),
			Trigger:        elementID(stringHeader(h, keySource, keySource+keyAutoEncoded, MaxHeaderValueLen)),
			CurrentURL:     stringHeader(h, keyCurrentURL, keyCurrentURL+keyAutoEncoded, MaxHeaderValueLen),
			Prompt:         stringHeader(h, keyPrompt, keyPrompt+keyAutoEncoded, MaxPromptLen),
			RequestType:    typ,
		}
	}
	return Request{
		Enabled:        isTrue(first(h, keyRequest)),
		Boosted:        isTrue(first(h, keyBoosted)),
		HistoryRestore: isTrue(first(h, keyHistoryRestore)),
		Target:         stringHeader(h, keyTarget, keyTarget+keyAutoEncoded, MaxHeaderValueLen),
		Trigger:        stringHeader(h, keyTrigger, keyTrigger+keyAutoEncoded, MaxHeaderValueLen),
		TriggerName:    stringHeader(h, keyTriggerName, keyTriggerName+keyAutoEncoded, MaxHeaderValueLen),
		CurrentURL:     stringHeader(h, keyCurrentURL, keyCurrentURL+keyAutoEncoded, MaxHeaderValueLen),
		Prompt:         stringHeader(h, keyPrompt, keyPrompt+keyAutoEncoded, MaxPromptLen),
	}
}

// elementID returns the id part of an htmx 4 element identifier
// ("tag#id"), percent-decoded and checked like every string header, or ""
// when there is no id.
func elementID(v string) string {
	_, id, ok := strings.Cut(v, "#")
	if !ok || id == "" {
		return ""
	}
	decoded, err := url.PathUnescape(id)
	if err != nil {
		return ""
	}
	return cleanValue(decoded, MaxHeaderValueLen)
}

// IsRequest reports whether r carries HX-Request: true, by the same rule as
// [Request.Enabled]. It does not allocate. A nil r is not an htmx request.
func IsRequest(r *http.Request) bool {
	return r != nil && isTrue(first(r.Header, keyRequest))
}

// WantsFullPage reports whether the response should be a whole page rather
// than a fragment. It is true for requests not made by htmx, boosted
// requests, history-restore requests and requests with HX-Request-Type:
// full; every other htmx request wants a fragment. Responses that depend on
// this decision should call [Vary].
func (r Request) WantsFullPage() bool {
	return !r.Enabled || r.Boosted || r.HistoryRestore || r.RequestType == RequestTypeFull
}

// first returns the first value of the header with canonical name key.
func first(h http.Header, key string) string {
	if vs := h[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func isTrue(v string) bool {
	return strings.EqualFold(strings.TrimSpace(v), "true")
}

func requestType(v string) string {
	v = strings.TrimSpace(v)
	switch {
	case strings.EqualFold(v, RequestTypePartial):
		return RequestTypePartial
	case strings.EqualFold(v, RequestTypeFull):
		return RequestTypeFull
	}
	return ""
}

// stringHeader returns the first value of header key, decoded when header
// encodedKey is "true", or "" when it breaks the rules of [ParseRequest].
func stringHeader(h http.Header, key, encodedKey string, limit int) string {
	v := first(h, key)
	if v == "" {
		return ""
	}
	if isTrue(first(h, encodedKey)) {
		if len(v) > 3*limit {
			return ""
		}
		decoded, err := url.PathUnescape(strings.Trim(v, " \t"))
		if err != nil {
			return ""
		}
		v = decoded
	}
	return cleanValue(v, limit)
}

// cleanValue trims v and returns it if it is at most limit bytes of valid
// UTF-8 free of control characters and line separators, else "".
func cleanValue(v string, limit int) string {
	if len(v) > limit {
		return ""
	}
	v = strings.Trim(v, " \t")
	if !utf8.ValidString(v) {
		return ""
	}
	for _, r := range v {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ""
		}
	}
	return v
}

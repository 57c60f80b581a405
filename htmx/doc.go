// Package htmx implements the server side of the htmx 2 protocol, plus the
// HX-Request-Type request header introduced by htmx 4.
//
// # Requests
//
// [ParseRequest] reads every header htmx sends into a [Request]. Values are
// treated as untrusted input: a malformed, oversized or duplicated header
// never causes an error; it is read as absent (see [ParseRequest] for the
// exact rules). [Request.WantsFullPage] is the single rule that decides
// whether a handler renders a whole page or a fragment, and [Vary] marks the
// response as depending on the headers that rule reads, so caches keep the
// two variants apart.
//
// # Responses
//
// The response helpers ([Location], [PushURL], [Retarget], [Reswap],
// [Trigger], ...) set htmx response headers on an [http.ResponseWriter]. Like
// any header change they must be called before the response's WriteHeader or
// first Write. Go canonicalises header names on the wire (for example
// "Hx-Push-Url"); htmx reads response headers case-insensitively, so this is
// harmless.
//
// Header values never contain CR, LF or other control characters:
//
//   - URL-valued headers (HX-Location, HX-Push-Url, HX-Replace-Url,
//     HX-Redirect) have control characters removed, as the URL parser in
//     browsers does for tab and newline, and non-ASCII bytes
//     percent-encoded.
//   - Selector-valued headers (HX-Retarget, HX-Reselect, HX-Reswap) have
//     control characters removed and non-ASCII characters replaced by
//     equivalent CSS escapes.
//   - JSON-valued headers (HX-Location in its object form and the HX-Trigger
//     family) are produced by encoding/json, which escapes control
//     characters, and have every non-ASCII character written as a \uXXXX
//     escape.
//
// The non-ASCII handling exists because browsers expose response header
// values to htmx byte by byte (as Latin-1), so raw UTF-8 would reach htmx
// garbled; the escaped forms mean exactly the same thing to the URL, CSS and
// JSON parsers htmx hands them to.
//
// # Swaps
//
// [Swap] builds hx-swap / HX-Reswap values such as
// "outerHTML transition:true swap:100ms scroll:#list:bottom". htmx splits
// that syntax on whitespace, so the selectors given to [Swap.Scroll] and
// [Swap.Show] are rewritten into an equivalent whitespace-free form.
//
// # Out-of-band swaps
//
// [OOB] returns a [Component] that renders an element carrying
// hx-swap-oob, to be written after the main content of a response. The
// [Component] interface has the same method set as templ.Component, so OOB
// values can be used directly inside templ templates and any templ component
// can be passed as children, without this package importing templ.
// [CSSEscape] and [IDSelector] build selectors for ids that are not valid CSS
// identifiers as written.
//
// The package holds no global mutable state; all functions are safe for
// concurrent use, subject to the usual rule that one response's headers must
// not be modified from several goroutines at once.
package htmx

package devserver

import (
	"bytes"
	"html"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// scriptPath and eventsPath are the dev server's own endpoints; requests
// to them never reach the app.
const (
	scriptPath = "/_trellis/dev/reload.js"
	eventsPath = "/_trellis/dev/events"
)

// scriptTag is the live-reload script element for a page served at
// generation gen, carrying nonce when the page's CSP requires one.
func scriptTag(gen, nonce string) string {
	tag := `<script src="` + scriptPath + "?v=" + url.QueryEscape(gen) + `"`
	if nonce != "" {
		tag += ` nonce="` + html.EscapeString(nonce) + `"`
	}
	return tag + "></script>"
}

// cspNonce returns the nonce the policies allow scripts with: the first
// 'nonce-…' source of the directive that governs <script> elements
// (script-src-elem, else script-src, else default-src). Empty means none.
func cspNonce(policies []string) string {
	for _, policy := range policies {
		directives := map[string][]string{}
		for _, d := range strings.Split(policy, ";") {
			fields := strings.Fields(d)
			if len(fields) == 0 {
				continue
			}
			name := strings.ToLower(fields[0])
			if _, dup := directives[name]; !dup { // the first one counts
				directives[name] = fields[1:]
			}
		}
		for _, name := range []string{"script-src-elem", "script-src", "default-src"} {
			sources, ok := directives[name]
			if !ok {
				continue
			}
			for _, s := range sources {
				if v, ok := strings.CutPrefix(s, "'nonce-"); ok && strings.HasSuffix(v, "'") {
					return strings.TrimSuffix(v, "'")
				}
			}
			break
		}
	}
	return ""
}

// injectable reports whether res is an uncompressed HTML page body the
// script can be added to.
func injectable(res *http.Response) bool {
	if res.Request != nil && res.Request.Method == http.MethodHead {
		return false
	}
	if res.StatusCode < 200 || res.StatusCode == http.StatusNoContent || res.StatusCode == http.StatusNotModified {
		return false
	}
	if ce := res.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return false
	}
	mt, _, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	return err == nil && mt == "text/html"
}

// injectReload adds the live-reload script before the last </body> of an
// HTML response and fixes Content-Length. Responses that are not HTML,
// are compressed or have no </body> (htmx fragments) are left as they are.
func injectReload(res *http.Response, gen string) error {
	if !injectable(res) {
		return nil
	}
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return err
	}
	body = insertBeforeBodyEnd(body, scriptTag(gen, cspNonce(res.Header.Values("Content-Security-Policy"))))
	res.Body = io.NopCloser(bytes.NewReader(body))
	res.ContentLength = int64(len(body))
	res.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// insertBeforeBodyEnd inserts tag before the last </body> (any case), or
// returns page unchanged when it has none.
func insertBeforeBodyEnd(page []byte, tag string) []byte {
	i := lastIndexASCIIFold(page, "</body")
	if i < 0 {
		return page
	}
	out := make([]byte, 0, len(page)+len(tag))
	out = append(out, page[:i]...)
	out = append(out, tag...)
	return append(out, page[i:]...)
}

// lastIndexASCIIFold is bytes.LastIndex ignoring ASCII case (sub must be
// lower case); unlike
// lowering the whole page first, it keeps byte offsets exact.
func lastIndexASCIIFold(s []byte, sub string) int {
outer:
	for i := len(s) - len(sub); i >= 0; i-- {
		for j := 0; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				continue outer
			}
		}
		return i
	}
	return -1
}

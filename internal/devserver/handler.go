package devserver

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

//go:embed reload.js
var reloadJS []byte

// handler is the dev proxy: it serves the live-reload script and event
// stream, forwards everything else to the running app, and answers with
// the error while the build is broken.
type handler struct {
	st *state
	// wait bounds how long a request waits for the app to come up.
	wait time.Duration
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case scriptPath:
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(reloadJS)
		return
	case eventsPath:
		h.events(w, r)
		return
	}
	v := h.st.get()
	if v.phase == starting {
		timeout := time.NewTimer(h.wait)
		defer timeout.Stop()
		for v.phase == starting {
			select {
			case <-v.changed:
				v = h.st.get()
			case <-timeout.C:
				h.page(w, r, http.StatusServiceUnavailable, v.gen, "The app is still starting",
					"It did not come up within "+h.wait.String()+"; this page reloads once it does.")
				return
			case <-r.Context().Done():
				return
			}
		}
	}
	if v.phase == broken {
		h.page(w, r, http.StatusInternalServerError, v.gen, v.title, v.problem)
		return
	}
	v.proxy.ServeHTTP(w, r)
}

// events streams the current generation to the reload script: on connect
// and whenever a rebuild starts a new one.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	// Reconnect quickly when the dev server restarts.
	if _, err := io.WriteString(w, "retry: 500\n\n"); err != nil {
		return
	}
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	sent := ""
	for {
		v := h.st.get()
		if v.gen != sent {
			if _, err := fmt.Fprintf(w, "event: reload\ndata: %s\n\n", v.gen); err != nil {
				return
			}
			sent = v.gen
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-v.changed:
		case <-ping.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

var errorPage = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}} · trellis dev</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem; color: #222; }
h1 { color: #b00020; font-size: 1.4rem; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: 1rem; overflow: auto; white-space: pre-wrap; }
</style>
</head>
<body>
<h1 id="trellis-dev-error">{{.Title}}</h1>
<pre>{{.Problem}}</pre>
<p>Fix it and save: this page reloads by itself.</p>
<script src="{{.Script}}"></script>
</body>
</html>
`))

// page answers with a problem: a full error page (with the reload script,
// so it recovers by itself) to browsers asking for a page, plain text to
// anything else, htmx requests included.
func (h *handler) page(w http.ResponseWriter, r *http.Request, status int, gen, title, problem string) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Header.Get("HX-Request") != "" || !strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, "%s\n\n%s\n", title, problem)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	_ = errorPage.Execute(w, struct{ Title, Problem, Script string }{title, problem, scriptPath + "?v=" + url.QueryEscape(gen)})
}

// newProxy forwards requests to the app at addr. The Host header is kept
// (the app's cross-origin checks compare it with Origin), compression is
// not requested so the script can be injected into pages, and a failed
// forward answers with an error page that reloads once the app is back.
func (h *handler) newProxy(addr string, transport http.RoundTripper, logw io.Writer) *httputil.ReverseProxy {
	target := &url.URL{Scheme: "http", Host: addr}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Del("Accept-Encoding")
		},
		Transport:      transport,
		ModifyResponse: func(res *http.Response) error { return injectReload(res, h.st.get().gen) },
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			h.page(w, r, http.StatusBadGateway, h.st.get().gen, "The app is not answering", err.Error())
		},
		ErrorLog: log.New(logw, "trellis dev: proxy: ", 0),
	}
}

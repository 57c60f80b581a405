package observe

import (
	"fmt"
	"html"
	"net/http"
	netpprof "net/http/pprof"
	"runtime/pprof"
	"strconv"

	"github.com/go-chi/chi/v5"
)

// MaxProfileSeconds bounds how long one CPU profile or execution trace
// records.
const MaxProfileSeconds = 60

// Profiling mounts Go's profiles on r under prefix, for the pprof tool
// (go tool pprof http://host{prefix}/profile):
//
//	GET {prefix}/            index of the profiles
//	GET {prefix}/profile     CPU profile; ?seconds=N (default 10, at most 60)
//	GET {prefix}/trace       execution trace; ?seconds=N (default 1, at most 60)
//	GET {prefix}/{name}      a named profile (heap, goroutine, allocs, block,
//	                         mutex, threadcreate); ?debug=1 or 2 for text
//
// Profiling adds no authorization: mount it behind an admin check or on a
// private listener. The handlers are net/http/pprof's, behind checks of
// their parameters.
func Profiling(r chi.Router, prefix string) {
	r.Get(prefix+"/", profileIndex)
	r.Get(prefix+"/profile", withSeconds(10, netpprof.Profile))
	r.Get(prefix+"/trace", withSeconds(1, netpprof.Trace))
	r.Get(prefix+"/{name}", namedProfile)
}

func profileIndex(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, "<!doctype html><title>Profiles</title><h1>Profiles</h1><ul>")
	fmt.Fprint(w, `<li><a href="profile?seconds=10">profile</a>: CPU, 10 seconds</li><li><a href="trace?seconds=1">trace</a>: execution trace, 1 second</li>`)
	for _, p := range pprof.Profiles() {
		n := html.EscapeString(p.Name())
		fmt.Fprintf(w, `<li><a href="%s?debug=1">%s</a>: %d</li>`, n, n, p.Count())
	}
	fmt.Fprint(w, "</ul>")
}

// seconds reads ?seconds=, defaulting to def and refusing values out of
// range with a 400.
func seconds(w http.ResponseWriter, r *http.Request, def int) (int, bool) {
	s := r.URL.Query().Get("seconds")
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxProfileSeconds {
		http.Error(w, "seconds must be a whole number from 1 to "+strconv.Itoa(MaxProfileSeconds), http.StatusBadRequest)
		return 0, false
	}
	return n, true
}

// withSeconds validates ?seconds= and hands r on to h with the default
// filled in.
func withSeconds(def int, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, ok := seconds(w, r, def)
		if !ok {
			return
		}
		q := r.URL.Query()
		q.Set("seconds", strconv.Itoa(n))
		r = r.Clone(r.Context())
		r.URL.RawQuery = q.Encode()
		h(w, r)
	}
}

// namedProfile validates ?debug= and ?seconds= (net/http/pprof answers
// ?seconds= with a delta profile, which must keep to MaxProfileSeconds as
// the CPU profile does) and serves the profile through net/http/pprof,
// which answers 404 for an unknown name.
func namedProfile(w http.ResponseWriter, r *http.Request) {
	if _, ok := seconds(w, r, 0); !ok {
		return
	}
	if s := r.URL.Query().Get("debug"); s != "" {
		if n, err := strconv.Atoi(s); err != nil || n < 0 || n > 2 {
			http.Error(w, "debug must be 0, 1 or 2", http.StatusBadRequest)
			return
		}
	}
	netpprof.Handler(chi.URLParam(r, "name")).ServeHTTP(w, r)
}

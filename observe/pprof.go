package observe

import (
	"fmt"
	"html"
	"net/http"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"time"

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
// private listener. It is written on runtime/pprof rather than by
// importing net/http/pprof, whose init registers the same handlers on
// http.DefaultServeMux for anyone who serves that mux.
func Profiling(r chi.Router, prefix string) {
	r.Get(prefix+"/", profileIndex)
	r.Get(prefix+"/profile", cpuProfile)
	r.Get(prefix+"/trace", executionTrace)
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
func seconds(w http.ResponseWriter, r *http.Request, def int) (time.Duration, bool) {
	s := r.URL.Query().Get("seconds")
	if s == "" {
		return time.Duration(def) * time.Second, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxProfileSeconds {
		http.Error(w, "seconds must be a whole number from 1 to "+strconv.Itoa(MaxProfileSeconds), http.StatusBadRequest)
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// record runs start, waits d or until the request ends, then runs stop.
func record(w http.ResponseWriter, r *http.Request, d time.Duration, start func() error, stop func()) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if err := start(); err != nil {
		// Only one CPU profile or trace runs at a time.
		w.Header().Del("Content-Type")
		http.Error(w, "could not start: "+err.Error(), http.StatusConflict)
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
	stop()
}

func cpuProfile(w http.ResponseWriter, r *http.Request) {
	d, ok := seconds(w, r, 10)
	if !ok {
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="profile"`)
	record(w, r, d, func() error { return pprof.StartCPUProfile(w) }, pprof.StopCPUProfile)
}

func executionTrace(w http.ResponseWriter, r *http.Request) {
	d, ok := seconds(w, r, 1)
	if !ok {
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="trace"`)
	record(w, r, d, func() error { return trace.Start(w) }, trace.Stop)
}

func namedProfile(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	p := pprof.Lookup(name)
	if p == nil {
		http.Error(w, "no such profile; see the index for the names", http.StatusNotFound)
		return
	}
	debug := 0
	if s := r.URL.Query().Get("debug"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 2 {
			http.Error(w, "debug must be 0, 1 or 2", http.StatusBadRequest)
			return
		}
		debug = n
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if debug > 0 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}
	_ = p.WriteTo(w, debug)
}

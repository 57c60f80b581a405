package devserver

import (
	"fmt"
	"net/http/httputil"
	"sync"
	"time"
)

// phase is what the proxy does with a request.
type phase int

const (
	// starting: requests wait for the app (first build, restarts).
	starting phase = iota
	// running: requests go to the app.
	running
	// broken: the build failed or the app exited; requests get the error.
	broken
)

// state is the dev loop's shared state. Every change closes changed, so
// waiting requests and reload streams wake up.
type state struct {
	mu      sync.Mutex
	phase   phase
	proxy   *httputil.ReverseProxy // when running
	problem string                 // when broken: what failed, with the tool's output
	title   string                 // when broken: a short heading
	session string
	n       int
	changed chan struct{}
}

func newState() *state {
	return &state{session: fmt.Sprintf("%x", time.Now().UnixNano()), changed: make(chan struct{})}
}

// view is a consistent copy of the state.
type view struct {
	phase          phase
	proxy          *httputil.ReverseProxy
	title, problem string
	gen            string
	changed        <-chan struct{}
}

func (s *state) get() view {
	s.mu.Lock()
	defer s.mu.Unlock()
	return view{phase: s.phase, proxy: s.proxy, title: s.title, problem: s.problem,
		gen: fmt.Sprintf("%s-%d", s.session, s.n), changed: s.changed}
}

// set moves to a phase. Entering running or broken starts a new
// generation, which tells open pages to reload.
func (s *state) set(p phase, proxy *httputil.ReverseProxy, title, problem string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phase, s.proxy, s.title, s.problem = p, proxy, title, problem
	if p != starting {
		s.n++
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

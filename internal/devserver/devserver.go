// Package devserver is the development loop behind `trellis dev`: it
// watches an app's sources, regenerates templ code, rebuilds and restarts
// the app, and serves it through a proxy that reloads open browser tabs.
//
// The proxy listens on the app's address and runs the app on a free
// loopback port. It injects a live-reload script into HTML pages (with the
// nonce of the page's Content-Security-Policy), serves the script and its
// event stream under /_trellis/dev/, and tells the tabs to reload once a
// restarted app answers. While the build is broken, pages show the
// compiler output instead. None of this is part of the app: the app's own
// binary never serves these endpoints, in development or production.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options configure Run.
type Options struct {
	// Dir is the app's module root. Default ".".
	Dir string
	// Addr is the address the proxy listens on: the app's server.addr.
	// Default 127.0.0.1:3000.
	Addr string
	// BuildFlags are extra `go build` flags, such as -race or -tags.
	// Without an -ldflags of their own, builds link with -ldflags=-s -w.
	BuildFlags []string
	// Env is the environment of the go commands and the app; nil means
	// os.Environ(). The app also gets TRELLIS_SERVER_ADDR (its loopback
	// port) and TRELLIS_SERVER_DRAIN_DELAY=0s.
	Env []string
	// IgnoreDirs are more directories (relative to Dir) to leave
	// unwatched, such as the app's data directory; data/ and tmp/ always
	// are.
	IgnoreDirs []string
	// Debounce is how long the sources must stay unchanged before a
	// rebuild. Default 150ms.
	Debounce time.Duration
	// StopTimeout is how long a stopping app may drain before it is
	// killed. Default 10s.
	StopTimeout time.Duration
	// StartTimeout bounds the wait for a started app to answer, and for
	// requests waiting on it. Default 30s.
	StartTimeout time.Duration
	// Log receives the status lines (and build errors). Default os.Stderr.
	Log io.Writer
	// Stdout and Stderr receive the app's output. Default the process's.
	Stdout, Stderr io.Writer
}

func (o *Options) defaults() {
	if o.Dir == "" {
		o.Dir = "."
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:3000"
	}
	if o.Env == nil {
		o.Env = os.Environ()
	}
	if o.Debounce <= 0 {
		o.Debounce = 150 * time.Millisecond
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 10 * time.Second
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
}

// Run serves the app in o.Dir through the dev proxy on o.Addr, rebuilding
// and restarting it on every change, until ctx is done. It then stops the
// app (its whole process group) and returns nil. It returns an error only
// when the loop cannot start (Dir has no go.mod, the address is taken, the
// tree cannot be watched); build and start failures are reported on Log
// and in the browser, not returned.
func Run(ctx context.Context, o Options) error {
	o.defaults()
	root, err := filepath.Abs(o.Dir)
	if err != nil {
		return fmt.Errorf("devserver: %w", err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return fmt.Errorf("devserver: %s is not a module root (run trellis dev where the app's go.mod is): %w", root, err)
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("devserver: listening on %s: %w", o.Addr, err)
	}
	defer ln.Close()
	bin, err := os.MkdirTemp("", "trellis-dev-")
	if err != nil {
		return fmt.Errorf("devserver: %w", err)
	}
	defer os.RemoveAll(bin)
	r := newRules(o.IgnoreDirs)
	w, err := newWatcher(root, r)
	if err != nil {
		return err
	}
	loopCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go w.run(loopCtx, func(err error) { fmt.Fprintln(o.Log, "trellis dev:", err) })

	l := &loop{
		o:       o,
		root:    root,
		st:      newState(),
		changes: debounce(w.out, o.Debounce),
		build:   &builder{dir: root, bin: bin, flags: o.BuildFlags, env: o.Env, rules: r},
		// No compression: pages must arrive as plain HTML to be injected.
		transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second},
	}
	l.h = &handler{st: l.st, wait: o.StartTimeout}
	srv := &http.Server{
		Handler:           l.h,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return loopCtx },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		cancel() // ends the reload streams
		shutdownCtx, done := context.WithTimeout(context.Background(), 2*time.Second)
		defer done()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			_ = srv.Close()
		}
	}()
	l.logf("serving http://%s (watching %s)", ln.Addr(), root)
	l.rebuild(ctx, true)
	for {
		var exited <-chan struct{}
		if l.app != nil {
			exited = l.app.done
		}
		select {
		case <-ctx.Done():
			l.stopApp()
			l.logf("stopped")
			return nil
		case err := <-served:
			l.stopApp()
			return fmt.Errorf("devserver: serving: %w", err)
		case batch := <-l.changes:
			if changed := l.filter(batch); len(changed) > 0 {
				l.logf("%s changed", summary(changed))
				if l.built != "" && onlyConfig(changed) {
					// The app reads its config files when it starts.
					l.restart(ctx, l.built, 0)
					continue
				}
				l.rebuild(ctx, hasTempl(changed))
			}
		case <-exited:
			a := l.app
			l.app = nil
			l.logf("the app exited (%v); waiting for changes", a.err)
			l.st.set(broken, nil, "The app exited", fmt.Sprintf("%v\n\n%s", a.err, a.tail))
		}
	}
}

// loop is the state of one Run.
type loop struct {
	o         Options
	root      string
	st        *state
	h         *handler
	changes   <-chan []string
	build     *builder
	transport *http.Transport
	app       *app
	// built is the binary of the last build when it succeeded, "" when
	// the last build failed.
	built string
}

func (l *loop) logf(format string, args ...any) {
	fmt.Fprintf(l.o.Log, "trellis dev: "+format+"\n", args...)
}

// filter drops the changes templ generate made itself.
func (l *loop) filter(batch []string) []string {
	kept := batch[:0]
	for _, rel := range batch {
		if !l.build.ownWrite(rel) {
			kept = append(kept, rel)
		}
	}
	return kept
}

// rebuild builds the app and, if that works, replaces the running app
// with the new build. Changes saved during the build start another build
// before any restart. The old app keeps serving while the build runs.
func (l *loop) rebuild(ctx context.Context, templ bool) {
	for {
		l.logf("building…")
		start := time.Now()
		bin, err := l.build.build(ctx, templ, l.built)
		if ctx.Err() != nil {
			return
		}
		select {
		case batch := <-l.changes:
			if changed := l.filter(batch); len(changed) > 0 {
				l.logf("%s changed during the build", summary(changed))
				templ = hasTempl(changed) || (templ && err != nil)
				continue
			}
		default:
		}
		if err != nil {
			var be *buildError
			title, detail := "Build failed", err.Error()
			if errors.As(err, &be) {
				title, detail = be.step+" failed", be.output
			}
			l.logf("%s:\n%s", strings.ToLower(title[:1])+title[1:], detail)
			l.built = ""
			l.st.set(broken, nil, title, detail)
			l.stopApp()
			return
		}
		l.built = bin
		l.restart(ctx, bin, time.Since(start))
		return
	}
}

// restart stops the running app and starts bin, holding requests until it
// answers, then tells open pages to reload.
func (l *loop) restart(ctx context.Context, bin string, built time.Duration) {
	start := time.Now()
	l.st.set(starting, nil, "", "")
	l.stopApp()
	addr, err := freeAddr()
	if err == nil {
		l.app, err = startApp(bin, l.root, addr, l.o.Env, l.o.Stdout, l.o.Stderr)
	}
	if err == nil {
		upCtx, cancel := context.WithTimeout(ctx, l.o.StartTimeout)
		err = l.app.waitUp(upCtx)
		cancel()
	}
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		l.stopApp()
		l.logf("the app did not start: %v", err)
		l.st.set(broken, nil, "The app did not start", err.Error())
		return
	}
	l.transport.CloseIdleConnections()
	l.st.set(running, l.h.newProxy(addr, l.transport, l.o.Log), "", "")
	if built > 0 {
		l.logf("restarted in %s (build %s)", time.Since(start).Round(time.Millisecond), built.Round(10*time.Millisecond))
	} else {
		l.logf("restarted in %s", time.Since(start).Round(time.Millisecond))
	}
}

func (l *loop) stopApp() {
	if l.app != nil {
		l.app.stop(l.o.StopTimeout)
		l.app = nil
	}
}

// freeAddr picks a free loopback port for the app.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("devserver: finding a port for the app: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// onlyConfig reports whether every path is a config file, which the app
// reads at start-up: a restart picks the change up without a build.
func onlyConfig(paths []string) bool {
	for _, p := range paths {
		if !strings.HasSuffix(p, ".toml") {
			return false
		}
	}
	return true
}

func hasTempl(paths []string) bool {
	for _, p := range paths {
		if strings.HasSuffix(p, ".templ") {
			return true
		}
	}
	return false
}

// summary names the first changed files.
func summary(paths []string) string {
	if len(paths) <= 3 {
		return strings.Join(paths, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(paths[:3], ", "), len(paths)-3)
}

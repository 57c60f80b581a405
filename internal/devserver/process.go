package devserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// app is a running build of the app.
type app struct {
	cmd  *exec.Cmd
	addr string
	tail *tail
	done chan struct{} // closed when the process has exited
	err  error         // the exit status, once done is closed
}

// startApp starts the binary in dir, in its own process group, listening
// on addr (TRELLIS_SERVER_ADDR). Its output goes to stdout and stderr, and
// the last lines of its standard error are kept for the error page.
func startApp(bin, dir, addr string, env []string, stdout, stderr io.Writer) (*app, error) {
	a := &app{addr: addr, tail: &tail{max: 40}, done: make(chan struct{})}
	a.cmd = exec.Command(bin)
	a.cmd.Dir = dir
	a.cmd.Env = append(env, "TRELLIS_SERVER_ADDR="+addr, "TRELLIS_SERVER_DRAIN_DELAY=0s")
	a.cmd.Stdout = stdout
	a.cmd.Stderr = io.MultiWriter(stderr, a.tail)
	// Output pipes held open by a process the app started must not keep
	// Wait from returning once the app itself has exited.
	a.cmd.WaitDelay = time.Second
	ownGroup(a.cmd)
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("devserver: starting the app: %w", err)
	}
	go func() {
		a.err = a.cmd.Wait()
		// Whatever the app left running in its group goes with it.
		_ = killGroup(a.cmd.Process.Pid)
		close(a.done)
	}()
	return a, nil
}

// pid is the app's process id.
func (a *app) pid() int { return a.cmd.Process.Pid }

// stop asks the app's process group to stop (SIGTERM: the app drains and
// shuts down gracefully) and kills it if it is still running after
// timeout. It returns once the app has exited.
func (a *app) stop(timeout time.Duration) {
	select {
	case <-a.done:
		return
	default:
	}
	if err := signalGroup(a.pid()); err != nil {
		_ = killGroup(a.pid())
	}
	select {
	case <-a.done:
	case <-time.After(timeout):
		_ = killGroup(a.pid())
		_ = a.cmd.Process.Kill() // in case it left its group
		<-a.done
	}
}

// waitUp waits until the app answers HTTP on its address (any status: an
// app may have moved its health checks), the app exits, or ctx is done.
func (a *app) waitUp(ctx context.Context) error {
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+a.addr+"/health/live", nil)
		if err != nil {
			return fmt.Errorf("devserver: checking the app: %w", err)
		}
		if res, err := client.Do(req); err == nil {
			_ = res.Body.Close()
			return nil
		}
		select {
		case <-a.done:
			return fmt.Errorf("the app exited (%v) before serving:\n%s", a.err, a.tail)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// tail keeps the last max lines written to it.
type tail struct {
	mu      sync.Mutex
	max     int
	lines   []string
	partial string
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.partial + string(p)
	parts := strings.Split(s, "\n")
	t.partial = parts[len(parts)-1]
	t.lines = append(t.lines, parts[:len(parts)-1]...)
	if over := len(t.lines) - t.max; over > 0 {
		t.lines = append(t.lines[:0], t.lines[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.Join(t.lines, "\n")
	if t.partial != "" {
		s += "\n" + t.partial
	}
	return strings.TrimSpace(s)
}

// Package apptest runs generated Trellis apps in tests: the go command in
// the app's directory, its built binary on a free port.
package apptest

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/trellistest"
)

// goEnv is the environment of the go commands run in an app: outside any
// workspace, with the default (shared, warm) caches, and without -mod=mod,
// so a go.mod or go.sum left incomplete fails the command.
var goEnv = append(os.Environ(), "GOFLAGS=", "GOWORK=off")

// Go runs the go command in dir with env added and returns its output,
// failing the test on error.
func Go(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	return Run(t, dir, env, "go", args...)
}

// runTimeout bounds one command, so a hung build or test fails with its
// output instead of stalling the whole package until go test's timeout.
const runTimeout = 5 * time.Minute

// Run runs name in dir with env added and returns its standard output,
// failing the test (with both outputs) on error or after runTimeout.
func Run(t testing.TB, dir string, env []string, name string, args ...string) string {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second // a child left holding the output pipes
	cmd.Dir, cmd.Env = dir, append(append([]string{}, goEnv...), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("%s %s: %.1fs", filepath.Base(name), strings.Join(args, " "), time.Since(start).Seconds())
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// Build builds the app in dir and returns the binary's path.
func Build(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "app")
	Go(t, dir, nil, "build", "-o", bin, ".")
	return bin
}

// Serve starts the binary in dir on a free port, with env added, and
// returns a browser-like client for it. The app must stop cleanly on
// SIGTERM when the test ends.
func Serve(t testing.TB, dir, bin string, env ...string) *trellistest.Server {
	t.Helper()
	return ServeCmd(t, dir, trellistest.FreeAddr(t), []string{bin}, env...)
}

// ServeCmd is Serve running the command argv (a binary and its
// arguments, such as an image's entrypoint) on the listen address addr
// (server.addr), which may name every interface, such as ":3000".
func ServeCmd(t testing.TB, dir, addr string, argv []string, env ...string) *trellistest.Server {
	t.Helper()
	base, err := config.Server{Addr: addr}.LocalURL()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"TRELLIS_SERVER_ADDR=" + addr}, env...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
		}
		logs <- b.String()
	}()
	t.Cleanup(func() {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("stopping the app: %v", err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the app did not exit cleanly on SIGTERM: %v\n%s", err, <-logs)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("the app did not stop within 30s of SIGTERM")
		}
	})
	trellistest.WaitReady(t, base+"/health/ready", 30*time.Second)
	return trellistest.Connect(t, base)
}

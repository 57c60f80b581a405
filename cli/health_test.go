package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis/trellistest"
)

// TestHealth checks the running app the way a container health check
// does: ready is exit 0, a wrong endpoint or a stopped app exit 1.
func TestHealth(t *testing.T) {
	s := newStack(t, trellistest.SQLite)
	addr := trellistest.FreeAddr(t)
	f, err := os.OpenFile(s.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Every interface, as in a container: the probe asks loopback.
	_, port, _ := strings.Cut(addr, ":")
	fmt.Fprintf(f, "\n[server]\naddr = \"0.0.0.0:%s\"\ndrain_delay = \"0s\"\n", port)
	f.Close()

	s.fails(1, "connection refused", "health")

	ctx, stop := context.WithCancel(context.Background())
	served := make(chan int)
	go func() {
		served <- Run(ctx, []string{"serve", "--config", s.cfgPath, "--env", "test"}, s.build, Options{Stdout: os.Stdout, Stderr: os.Stderr})
	}()
	trellistest.WaitReady(t, "http://127.0.0.1:"+port+"/health/ready", 30*time.Second)

	contains(t, "health", s.ok("", "health"), `^ok http://127\.0\.0\.1:`+port+`/health/ready\n$`)
	contains(t, "health --path", s.ok("", "health", "--path", "/health/live"), `/health/live`)
	s.fails(1, "answered 404", "health", "--path", "/no-such-endpoint")
	s.fails(2, "unknown flag", "health", "--nope")

	stop()
	if code := <-served; code != 0 {
		t.Errorf("serve exited %d", code)
	}
	s.fails(1, "connection refused", "health")
}

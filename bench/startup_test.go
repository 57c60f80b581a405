package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trellis-go/trellis/trellistest"
)

// TestReportStartup builds the trellis binary, then measures the time from
// exec to the first 200 from /health/ready for the demo on SQLite (first
// start, which creates and migrates the database, and a restart), and the
// resident memory after two idle seconds.
func TestReportStartup(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	bin := filepath.Join(t.TempDir(), "trellis")
	build := exec.Command("go", "build", "-o", bin, "../cmd/trellis")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := t.TempDir()
	for _, label := range []string{"first start", "restart"} {
		addr := trellistest.FreeAddr(t)
		cmd := exec.Command(bin, "demo", "--addr", addr, "--data", data)
		cmd.Env = append(os.Environ(), "TRELLIS_ENV=production", "TRELLIS_LOGGING_LEVEL=warn", "TRELLIS_APP_BASE_URL=https://demo.example.com")
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := trellistest.WaitReady(t, "http://"+addr+"/health/ready", 10*time.Second)
		elapsed := ready.Sub(start)
		time.Sleep(2 * time.Second)
		rss := rssKB(t, cmd.Process.Pid)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
		fmt.Printf("%-12s ready in %6.1f ms   idle RSS %5.1f MB\n", label, float64(elapsed.Microseconds())/1000, float64(rss)/1024)
	}
}

func rssKB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			return n
		}
	}
	return 0
}

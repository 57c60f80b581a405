package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/render"
	"github.com/trellis-go/trellis/trellistest"
	"github.com/trellis-go/trellis/uploads"
)

// textStream yields n bytes of printable text without holding them.
type textStream struct{ left int64 }

// pattern is the text textStream repeats.
var pattern = bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz\n"), 64<<10/27+1)

func (s *textStream) Read(p []byte) (int, error) {
	if s.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n := 0
	for n < len(p) {
		n += copy(p[n:], pattern)
	}
	s.left -= int64(n)
	return n, nil
}

// uploadBody is a multipart body with one text file of n bytes, generated
// as it is read.
func uploadBody(n int64) (io.Reader, string) {
	var head bytes.Buffer
	w := multipart.NewWriter(&head)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="doc"; filename="big.txt"`)
	h.Set("Content-Type", "text/plain")
	_, _ = w.CreatePart(h)
	tail := "\r\n--" + w.Boundary() + "--\r\n"
	return io.MultiReader(bytes.NewReader(head.Bytes()), &textStream{left: n}, strings.NewReader(tail)), w.FormDataContentType()
}

func selfRSSKB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// TestReportUploadThroughput uploads 200 MB through the whole stack
// (loopback HTTP, sessions, CSRF, streamed multipart, SHA-256, the local
// store with fsync) and compares it with a raw io.Copy of the same bytes
// to a file on the same disk (with fsync), in the same run; it also
// reports the growth of RSS and heap while uploading (goal < 20 MB).
func TestReportUploadThroughput(t *testing.T) {
	if os.Getenv("TRELLIS_BENCH") != "1" {
		t.Skip("set TRELLIS_BENCH=1 to run benchmarks")
	}
	const size = 200 << 20
	cfg := trellistest.Config(t)
	cfg.Storage.MaxRequestBytes, cfg.Storage.MaxFileBytes = 300<<20, 300<<20
	cfg.Server.RequestTimeout = 0
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close(context.Background()) })
	policy := uploads.Policy{Fields: []uploads.Field{{Name: "doc", Types: []string{"text/plain"}, MaxBytes: 300 << 20}}}
	app.Upload("/up", func(w http.ResponseWriter, r *http.Request) {
		up, err := app.Files.Receive(r, 0, policy)
		if err != nil {
			app.Render.Error(w, r, err)
			return
		}
		_ = app.Files.Delete(r.Context(), up.Files[0].ID) // keep the disk small between rounds
		render.JSON(w, 200, map[string]int64{"size": up.Files[0].Size})
	})
	s := trellistest.NewServer(t, app)
	token := s.CSRFToken()

	upload := func() time.Duration {
		body, ctype := uploadBody(size)
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/up", body)
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("X-CSRF-Token", token)
		start := time.Now()
		res, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), strconv.Itoa(size)) {
			t.Fatalf("upload: %d %s", res.StatusCode, b)
		}
		return time.Since(start)
	}
	raw := func() time.Duration {
		path := filepath.Join(cfg.App.DataDir, "raw.bin")
		start := time.Now()
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, &textStream{left: size}); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
		d := time.Since(start)
		_ = os.Remove(path)
		return d
	}

	// Baseline 2: the same multipart body over loopback HTTP to a bare
	// net/http handler that io.Copies it to a file: what any upload costs
	// before Trellis adds parsing, checks, hashing and records.
	rawSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Create(filepath.Join(cfg.App.DataDir, "rawhttp.bin"))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer os.Remove(f.Name())
		defer f.Close()
		if _, err := io.Copy(f, r.Body); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		_ = f.Sync()
	}))
	defer rawSrv.Close()
	rawHTTP := func() time.Duration {
		body, ctype := uploadBody(size)
		start := time.Now()
		res, err := http.Post(rawSrv.URL, ctype, body)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return time.Since(start)
	}

	upload() // warm up
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss0, heap0 := selfRSSKB(), ms.HeapAlloc
	var peakRSS atomic.Int64
	var peakHeap atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if r := selfRSSKB(); r > peakRSS.Load() {
					peakRSS.Store(r)
				}
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peakHeap.Load() {
					peakHeap.Store(m.HeapAlloc)
				}
			}
		}
	})
	best := map[string]time.Duration{}
	for range 3 {
		for name, f := range map[string]func() time.Duration{"upload": upload, "raw": raw, "rawhttp": rawHTTP} {
			if d := f(); best[name] == 0 || d < best[name] {
				best[name] = d
			}
		}
	}
	close(stop)
	wg.Wait()
	mbps := func(d time.Duration) float64 { return size / d.Seconds() / (1 << 20) }
	fmt.Printf("upload 200 MB (loopback HTTP, whole stack, local store): best %v = %.0f MB/s\n", best["upload"], mbps(best["upload"]))
	fmt.Printf("raw io.Copy of the same bytes to disk (+fsync):          best %v = %.0f MB/s\n", best["raw"], mbps(best["raw"]))
	fmt.Printf("raw HTTP: same body over loopback, bare handler io.Copy:  best %v = %.0f MB/s\n", best["rawhttp"], mbps(best["rawhttp"]))
	fmt.Printf("ratio upload/raw disk copy: %.2f; upload/raw HTTP copy: %.2f (goal >= 0.8)\n",
		best["raw"].Seconds()/best["upload"].Seconds(), best["rawhttp"].Seconds()/best["upload"].Seconds())
	fmt.Printf("RSS growth while uploading: %.1f MB (peak %.1f MB over %.1f MB before); heap growth %.1f MB (goal < 20 MB)\n",
		float64(peakRSS.Load()-rss0)/1024, float64(peakRSS.Load())/1024, float64(rss0)/1024, float64(int64(peakHeap.Load())-int64(heap0))/(1<<20))
}

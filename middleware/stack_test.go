package middleware

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stack wraps h in the order the App installs them: access log, gzip,
// recover.
func stack(logs io.Writer, h http.Handler) http.Handler {
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	onError := func(w http.ResponseWriter, r *http.Request, status int, err error) {
		http.Error(w, http.StatusText(status), status)
	}
	return RequestID(AccessLog(logger)(Gzip(5)(Recover(logger, onError)(h))))
}

// TestStackStreamsFlushes sends a compressible stream and an event stream
// through access log + gzip + recover: each flushed chunk must reach the
// client before the handler goes on, and the access log must see the status
// and the bytes sent.
func TestStackStreamsFlushes(t *testing.T) {
	for _, tc := range []struct {
		ctype string
		gz    bool
	}{
		{"text/html; charset=utf-8", true},
		{"text/event-stream", false},
	} {
		t.Run(tc.ctype, func(t *testing.T) {
			var logs syncBuffer
			step := make(chan struct{})
			done := make(chan struct{})
			srv := httptest.NewServer(stack(&logs, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(done)
				w.Header().Set("Content-Type", tc.ctype)
				rc := http.NewResponseController(w)
				for i := range 3 {
					_, _ = io.WriteString(w, "data: event "+string(rune('a'+i))+"\n\n")
					if err := rc.Flush(); err != nil {
						t.Errorf("flush through the stack: %v", err)
					}
					<-step
				}
			})))
			defer srv.Close()
			req, _ := http.NewRequest("GET", srv.URL, nil)
			req.Header.Set("Accept-Encoding", "gzip")
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.gz {
				t.Fatalf("compressed = %v, want %v", got, tc.gz)
			}
			var r io.Reader = resp.Body
			if tc.gz {
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				r = zr
			}
			br := bufio.NewReader(r)
			for i := range 3 {
				line, err := br.ReadString('\n')
				want := "data: event " + string(rune('a'+i)) + "\n"
				if err != nil || line != want {
					t.Fatalf("chunk %d before the handler went on: %q %v", i, line, err)
				}
				_, _ = br.ReadString('\n')
				step <- struct{}{}
			}
			<-done
			_, _ = io.Copy(io.Discard, r)
			resp.Body.Close()
			srv.Close() // waits for the handler, so the log line is written
			var entry struct {
				Status int   `json:"status"`
				Bytes  int64 `json:"bytes"`
			}
			line := logs.String()
			line = line[strings.LastIndex(strings.TrimSpace(line), "\n")+1:]
			if err := json.Unmarshal([]byte(line), &entry); err != nil {
				t.Fatalf("log %q: %v", line, err)
			}
			if entry.Status != 200 || entry.Bytes == 0 {
				t.Errorf("access log: %+v", entry)
			}
		})
	}
}

// TestStackHijack checks that Hijack reaches the connection through the
// whole stack and that the access log records the protocol switch.
func TestStackHijack(t *testing.T) {
	var logs syncBuffer
	srv := httptest.NewServer(stack(&logs, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack through the stack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\nhello")
		_ = rw.Flush()
	})))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "test")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "hello" {
		t.Errorf("after upgrade: %q", b)
	}
	// The handler's deferred log line comes after the hijacked
	// connection is handed back; httptest does not wait for it.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), `"status":101`) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), `"status":101`) {
		t.Errorf("access log: %s", logs.String())
	}
}

// TestStackRecoverBehindGzip checks that a panic after a small write (held
// back by the compressor) still aborts instead of appending an error page
// to the half-written body, and that a panic before any write gets the
// error page.
func TestStackRecoverBehindGzip(t *testing.T) {
	var logs syncBuffer
	srv := httptest.NewServer(stack(&logs, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/late" {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<p>half")
		}
		panic("boom")
	})))
	defer srv.Close()
	get := func(path string) (*http.Response, string, error) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, string(b), err
	}
	resp, b, err := get("/early")
	if err != nil || resp.StatusCode != 500 || !strings.Contains(b, "Internal Server Error") {
		t.Errorf("early panic: %v %v %q", resp, err, b)
	}
	resp, b, err = get("/late")
	if err == nil && resp.StatusCode == 500 {
		t.Errorf("late panic answered with an error page: %q", b)
	}
	if strings.Contains(b, "Internal Server Error") {
		t.Errorf("error page appended to the started body: %q", b)
	}
}

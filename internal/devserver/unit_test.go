package devserver

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCSPNonce(t *testing.T) {
	for _, tc := range []struct {
		name     string
		policies []string
		want     string
	}{
		{"trellis default", []string{"default-src 'self'; script-src 'self' 'nonce-abc+/='; style-src 'self' 'nonce-abc+/='"}, "abc+/="},
		{"script-src-elem first", []string{"script-src 'nonce-a'; script-src-elem 'self' 'nonce-b'"}, "b"},
		{"default-src only", []string{"default-src 'self' 'nonce-d'"}, "d"},
		{"script-src without a nonce governs", []string{"default-src 'nonce-d'; script-src 'self'"}, ""},
		{"style nonce does not count", []string{"style-src 'nonce-s'"}, ""},
		{"case-insensitive directive", []string{"Script-Src 'NONCE-x' 'nonce-y'"}, "y"},
		{"second policy", []string{"img-src 'self'", "script-src 'nonce-z'"}, "z"},
		{"no policy", nil, ""},
	} {
		if got := cspNonce(tc.policies); got != tc.want {
			t.Errorf("%s: cspNonce(%q) = %q, want %q", tc.name, tc.policies, got, tc.want)
		}
	}
}

func TestInsertBeforeBodyEnd(t *testing.T) {
	tag := "<script></script>"
	for in, want := range map[string]string{
		"<html><body><p>x</p></body></html>":             "<html><body><p>x</p><script></script></body></html>",
		"<BODY>a</BODY>":                                 "<BODY>a<script></script></BODY>",
		"<body><pre>&lt;/body&gt;</pre></body>\n":        "<body><pre>&lt;/body&gt;</pre><script></script></body>\n",
		"<body>İİİ</body>":                               "<body>İİİ<script></script></body>",
		"<p>fragment</p>":                                "<p>fragment</p>",
		"<body><template></body></template></body> tail": "<body><template></body></template><script></script></body> tail",
	} {
		if got := string(insertBeforeBodyEnd([]byte(in), tag)); got != want {
			t.Errorf("insertBeforeBodyEnd(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestProxyInjects forwards requests through the dev proxy to a stand-in
// app: pages get the script with the CSP nonce and a correct length;
// fragments, other types, compressed bodies and HEAD answers pass as they
// are; the app never sees Accept-Encoding, and sees the browser's Host.
func TestProxyInjects(t *testing.T) {
	var gotEncoding, gotHost []string
	appSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotEncoding = append(gotEncoding, r.Header.Get("Accept-Encoding"))
		gotHost = append(gotHost, r.Host)
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'nonce-N0nce'")
		switch r.URL.Path {
		case "/page":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<!DOCTYPE html><html><body><h1>Hi</h1></body></html>")
		case "/fragment":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<li>item</li>")
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"html":"</body>"}`)
		case "/gzip":
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			io.WriteString(zw, "<body></body>")
			zw.Close()
		}
	}))
	defer appSrv.Close()
	st := newState()
	h := &handler{st: st, wait: time.Second}
	st.set(running, h.newProxy(appSrv.Listener.Addr().String(), &http.Transport{DisableCompression: true}, io.Discard), "", "")
	gen := st.get().gen
	proxy := httptest.NewServer(h)
	defer proxy.Close()

	get := func(method, path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, proxy.URL+path, nil)
		req.Header.Set("Accept-Encoding", "gzip, br")
		res, err := proxy.Client().Transport.RoundTrip(req) // no transparent decompression
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, body := get("GET", "/page")
	want := `<h1>Hi</h1><script src="/_trellis/dev/reload.js?v=` + gen + `" nonce="N0nce"></script></body>`
	if !strings.Contains(body, want) || res.ContentLength != int64(len(body)) {
		t.Errorf("page: length %d for %d bytes, want the script:\n%s", res.ContentLength, len(body), body)
	}
	if _, body := get("GET", "/fragment"); body != "<li>item</li>" {
		t.Errorf("fragment changed: %q", body)
	}
	if _, body := get("GET", "/json"); body != `{"html":"</body>"}` {
		t.Errorf("JSON changed: %q", body)
	}
	if res, body := get("GET", "/gzip"); res.Header.Get("Content-Encoding") != "gzip" || strings.Contains(body, "script") {
		t.Errorf("compressed body changed: %v %q", res.Header, body)
	}
	if res, body := get("HEAD", "/page"); body != "" || res.StatusCode != http.StatusOK {
		t.Errorf("HEAD: %d %q", res.StatusCode, body)
	}
	for i, enc := range gotEncoding {
		if enc != "" {
			t.Errorf("request %d reached the app with Accept-Encoding %q", i, enc)
		}
	}
	if host := strings.TrimPrefix(proxy.URL, "http://"); gotHost[0] != host {
		t.Errorf("the app saw Host %q, want the browser's %q", gotHost[0], host)
	}
}

// TestBrokenAndEvents checks what the proxy answers while the build is
// broken, that requests during a restart wait for the app, and that the
// event stream announces each new generation.
func TestBrokenAndEvents(t *testing.T) {
	appSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "up")
	}))
	defer appSrv.Close()
	st := newState()
	h := &handler{st: st, wait: 10 * time.Second}
	proxy := httptest.NewServer(h)
	defer proxy.Close()

	st.set(broken, nil, "go build failed", "./home.go:3:1: syntax error: <unexpected>")
	req, _ := http.NewRequest("GET", proxy.URL+"/", nil)
	req.Header.Set("Accept", "text/html,*/*")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 500 || !strings.Contains(string(body), "syntax error: &lt;unexpected&gt;") ||
		!strings.Contains(string(body), `<script src="/_trellis/dev/reload.js?v=`+st.get().gen+`">`) {
		t.Errorf("broken build page: %d\n%s", res.StatusCode, body)
	}
	req.Header.Set("HX-Request", "true")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 500 || res.Header.Get("Content-Type") != "text/plain; charset=utf-8" || !strings.Contains(string(body), "<unexpected>") {
		t.Errorf("broken build, htmx request: %d %s\n%s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evReq, _ := http.NewRequestWithContext(ctx, "GET", proxy.URL+eventsPath, nil)
	evRes, err := http.DefaultClient.Do(evReq)
	if err != nil {
		t.Fatal(err)
	}
	defer evRes.Body.Close()
	events := make(chan string, 10)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := evRes.Body.Read(buf)
			if n > 0 {
				events <- string(buf[:n])
			}
			if err != nil {
				close(events)
				return
			}
		}
	}()
	waitEvent := func(gen string) {
		t.Helper()
		want := "event: reload\ndata: " + gen + "\n\n"
		var seen string
		timeout := time.After(5 * time.Second)
		for !strings.Contains(seen, want) {
			select {
			case s := <-events:
				seen += s
			case <-timeout:
				t.Fatalf("no %q in the event stream: %q", want, seen)
			}
		}
	}
	waitEvent(st.get().gen)

	st.set(starting, nil, "", "")
	answered := make(chan string, 1)
	go func() {
		res, err := http.Get(proxy.URL + "/")
		if err != nil {
			answered <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		answered <- string(b)
	}()
	select {
	case got := <-answered:
		t.Fatalf("a request during the restart answered before the app was up: %q", got)
	case <-time.After(200 * time.Millisecond):
	}
	st.set(running, h.newProxy(appSrv.Listener.Addr().String(), http.DefaultTransport, io.Discard), "", "")
	if got := <-answered; got != "up" {
		t.Errorf("the waiting request got %q, want the app's answer", got)
	}
	waitEvent(st.get().gen)
}

func TestRules(t *testing.T) {
	r := newRules([]string{"var/db"})
	for rel, want := range map[string]bool{
		"main.go":                 true,
		"views/home.templ":        true,
		"views/home_templ.go":     true, // filtered by the builder when it wrote it
		"main_test.go":            false,
		"migrations/sqlite/1.sql": true,
		"config/trellis.toml":     true,
		"static/app.css":          true,
		"static/img/logo.png":     true,
		"go.mod":                  true,
		"go.sum":                  true,
		"README.md":               false,
		"data/app.db":             false,
		"data/x.go":               false,
		"tmp/app.go":              false,
		"var/db/x.sql":            false,
		".git/HEAD":               false,
		"node_modules/x/y.go":     false,
		"web/node_modules/a.go":   false,
		".idea/x.toml":            false,
		"views/.#home.templ":      false,
		"views/#home.templ#":      false,
		"home.go~":                false,
		"views/.home.templ.swp":   false,
		"4913":                    false,
		"home.go___jb_tmp___":     false,
		"static/app.css.crswap":   false,
		"views/sub/data/page.go":  true, // only the top-level data/ is the app's
	} {
		if got := r.relevant(rel); got != want {
			t.Errorf("relevant(%q) = %v, want %v", rel, got, want)
		}
	}
	for rel, want := range map[string]bool{".": false, "views": false, "data": true, "tmp": true, "var/db": true, ".git": true, "a/node_modules": true, "static": false} {
		if got := r.skipDir(rel); got != want {
			t.Errorf("skipDir(%q) = %v, want %v", rel, got, want)
		}
	}
}

func TestDebounce(t *testing.T) {
	in := make(chan string)
	out := debounce(in, 100*time.Millisecond)
	for _, p := range []string{"a.go", "b.templ", "a.go", "c.sql"} {
		in <- p
		time.Sleep(10 * time.Millisecond)
	}
	if got := <-out; !reflect.DeepEqual(got, []string{"a.go", "b.templ", "c.sql"}) {
		t.Errorf("first batch %q, want the three files once each in order", got)
	}
	// Paths arriving while nobody receives gather into the next batch.
	in <- "d.go"
	time.Sleep(150 * time.Millisecond)
	in <- "e.go"
	time.Sleep(150 * time.Millisecond)
	if got := <-out; !reflect.DeepEqual(got, []string{"d.go", "e.go"}) {
		t.Errorf("second batch %q, want d.go and e.go", got)
	}
	close(in)
	if _, ok := <-out; ok {
		t.Error("the batches did not end with the input")
	}
}

// TestWatcher watches a real tree: a new directory's files count, data/
// and editor files do not, and templ's own writes are recognised.
func TestWatcher(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "main.go", "package main")
	writeFile(t, dir, "data/app.db", "")
	w, err := newWatcher(dir, newRules(nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.run(ctx, func(err error) { t.Error(err) })

	writeFile(t, dir, "data/app.db", "x")
	writeFile(t, dir, ".#main.go", "lock")
	writeFile(t, dir, "views/new.templ", "package views") // a new directory
	time.Sleep(50 * time.Millisecond)
	writeFile(t, dir, "views/deeper/more.go", "package deeper")
	time.Sleep(50 * time.Millisecond)
	writeFile(t, dir, "views/deeper/more.go", "package deeper // edited")
	writeFile(t, dir, "main.go", "package main // edited")

	seen := map[string]bool{}
	timeout := time.After(5 * time.Second)
	for !seen["main.go"] || !seen["views/deeper/more.go"] || !seen["views/new.templ"] {
		select {
		case p := <-w.out:
			seen[p] = true
		case <-timeout:
			t.Fatalf("saw %v; want main.go, views/new.templ and views/deeper/more.go", seen)
		}
	}
	for p := range seen {
		if p != "main.go" && p != "views/new.templ" && p != "views/deeper/more.go" {
			t.Errorf("unexpected change %q", p)
		}
	}

	b := &builder{dir: dir}
	writeFile(t, dir, "views/new_templ.go", "package views")
	b.generated = b.snapshot()
	if !b.ownWrite("views/new_templ.go") {
		t.Error("templ's own write counts as a change")
	}
	time.Sleep(10 * time.Millisecond)
	writeFile(t, dir, "views/new_templ.go", "package views // by hand")
	if b.ownWrite("views/new_templ.go") {
		t.Error("a later edit of a generated file is taken for templ's write")
	}
}

// TestStopKillsGroup stops an app that ignores SIGTERM and started a
// child: both are gone once stop returns after its timeout.
func TestStopKillsGroup(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child")
	script := filepath.Join(dir, "app.sh")
	writeFile(t, dir, "app.sh", "#!/bin/sh\ntrap '' TERM\nsleep 600 &\necho $! > "+pidFile+"\nwait\n")
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	a, err := startApp(script, dir, "127.0.0.1:1", os.Environ(), io.Discard, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	var child []byte
	for deadline := time.Now().Add(5 * time.Second); len(child) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		child, _ = os.ReadFile(pidFile)
	}
	start := time.Now()
	stopped := make(chan struct{})
	go func() {
		a.stop(300 * time.Millisecond)
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("stop did not return")
	}
	if len(child) == 0 {
		t.Fatal("the app did not record its child")
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("stop returned after %v although the app ignores SIGTERM", took)
	}
	// SIGKILL is delivered at once but the child, now orphaned, may take a
	// moment to exit; a zombie counts as gone (the container's init may
	// never reap it).
	stat := "/proc/" + strings.TrimSpace(string(child)) + "/stat"
	var st []byte
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		st, err = os.ReadFile(stat)
		if err != nil || strings.Contains(string(st), ") Z") {
			return
		}
	}
	t.Errorf("the app's child %s survived the stop: %s", child, st)
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

package trellis_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/trellistest"
)

// TestBadTextNeverReachesTheDatabase sends NUL bytes and invalid UTF-8 in
// the path, the query and form fields to routes that store or search what
// they get. PostgreSQL refuses such text with an error that used to become
// a 500; SQLite stored it. Every one is a 400 before any handler runs.
func TestBadTextNeverReachesTheDatabase(t *testing.T) {
	trellistest.ForEachBackend(t, func(t *testing.T, b trellistest.Backend) {
		ta := trellistest.NewApp(t, nil, trellistest.OnBackend(b))
		app := ta.App
		search := func(w http.ResponseWriter, r *http.Request) {
			var n int
			err := app.DB.SQL.QueryRowContext(r.Context(), app.DB.Rebind("SELECT count(*) FROM users WHERE email = ?"), r.URL.Query().Get("q")+r.PathValue("name")).Scan(&n)
			if err != nil {
				app.Render.Error(w, r, err)
				return
			}
			fmt.Fprint(w, n)
		}
		app.Get("/search", search)
		app.Get("/users/{name}", search)
		ta.Get("/search?q=ann").AssertStatus(http.StatusOK)

		for _, path := range []string{"/search?q=%00", "/search?q=a%ffb", "/search?q=%c0%ae", "/search?%00=x", "/users/a%00b", "/users/%ff"} {
			ta.Get(path).AssertStatus(http.StatusBadRequest).AssertContains("NUL byte")
		}
		ta.Get("/search?q=%00", trellistest.HTMX("results")).AssertStatus(http.StatusBadRequest).AssertRetarget("#trellis-error")
		for _, v := range []string{"a\x00b", "a\xffb", "\xc0\xae"} {
			res := ta.PostForm("/register", url.Values{"email": {"x@example.com"}, "name": {v}, "password": {"correct horse battery"}, "password_confirm": {"correct horse battery"}})
			res.AssertStatus(http.StatusBadRequest)
		}
		if strings.Contains(ta.Logs.String(), "level=ERROR") {
			t.Errorf("bad text was logged as a server error:\n%s", ta.Logs)
		}
	})
}

// TestCutOffBodiesAreAnswered400 sends a form body shorter than its
// Content-Length, and one slower than the read timeout: both are 400 in
// the response and the access log, never an empty 200.
func TestCutOffBodiesAreAnswered400(t *testing.T) {
	cfg := trellistest.Config(t)
	cfg.Server.ReadTimeout = 500 * time.Millisecond
	cfg.Logging.AccessLog, cfg.Logging.Level = true, "info"
	logs := &trellistest.Logs{}
	app, err := trellis.New(context.Background(), cfg, trellis.WithLogOutput(logs))
	if err != nil {
		t.Fatal(err)
	}
	app.Post("/echo", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "got "+r.PostFormValue("a")) })
	base, _, _ := serve(t, app)
	token := trellistest.NewServer(t, app).CSRFToken()

	for _, mode := range []string{"short", "slow"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /echo HTTP/1.1\r\nHost: example\r\nSec-Fetch-Site: same-origin\r\nX-CSRF-Token: %s\r\n"+
			"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\na=12345", token)
		if mode == "short" {
			_ = conn.(*net.TCPConn).CloseWrite()
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s body: %v", mode, err)
		}
		body, _ := io.ReadAll(res.Body)
		conn.Close()
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "could not be read") {
			t.Errorf("%s body: %d %q", mode, res.StatusCode, body)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(logs.String(), "path=/echo status=400") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), "path=/echo status=400"); n != 2 || strings.Contains(logs.String(), "path=/echo status=200") {
		t.Errorf("access log has %d 400s for the cut-off bodies:\n%s", n, logs)
	}
}

package cluster_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/trellis-go/trellis/trellistest"
)

// instance is one app process.
type instance struct {
	name, addr string
	cmd        *exec.Cmd
	logs       *trellistest.Logs // its output, for failure messages
	exited     chan struct{}     // closed once the process has exited
	err        error             // how it exited, set before exited closes
}

// cluster is the shared services and the instances using them.
type cluster struct {
	t         *testing.T
	env       []string
	instances []*instance
}

// newCluster prepares a fresh PostgreSQL database and a Redis key prefix
// shared by every instance.
func newCluster(t *testing.T) *cluster {
	pg := trellistest.PostgresURL(t)
	redisURL, prefix := trellistest.RedisURL(t)
	return &cluster{t: t, env: []string{
		"TRELLIS_DATABASE_URL=" + pg,
		"TRELLIS_REDIS_URL=" + redisURL,
		"TRELLIS_REDIS_KEY_PREFIX=" + prefix,
		"TRELLIS_SESSION_STORE=redis",
		"TRELLIS_RATELIMIT_ENABLED=true",
		"TRELLIS_RATELIMIT_STORE=redis",
		"TRELLIS_RATELIMIT_LOGIN=5/1m",
		"TRELLIS_SERVER_DRAIN_DELAY=1s",
		"TRELLIS_SERVER_SHUTDOWN_TIMEOUT=20s",
		"TRELLIS_APP_DATA_DIR=" + t.TempDir(),
	}}
}

// start runs an instance of the app on addr (the test binary again, which
// TestMain turns into the app).
func (c *cluster) start(name, addr string) *instance {
	c.t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), c.env...), childEnv+"="+name, "TRELLIS_SERVER_ADDR="+addr)
	in := &instance{name: name, addr: addr, cmd: cmd, logs: &trellistest.Logs{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = in.logs, in.logs
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() {
		in.err = cmd.Wait()
		close(in.exited)
	}()
	c.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-in.exited
	})
	return in
}

// waitReady waits until the instance reports ready.
func (in *instance) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-in.exited:
			t.Fatalf("instance %s exited during start-up: %v\n%s", in.name, in.err, in.logs)
		default:
		}
		if res, err := http.Get("http://" + in.addr + "/health/ready"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("instance %s not ready within 60s\n%s", in.name, in.logs)
}

// stop sends SIGTERM and waits for a clean exit.
func (in *instance) stop(t *testing.T) {
	t.Helper()
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-in.exited:
		if in.err != nil {
			t.Errorf("instance %s did not exit cleanly on SIGTERM: %v\n%s", in.name, in.err, in.logs)
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("instance %s did not stop within 40s of SIGTERM\n%s", in.name, in.logs)
	}
}

// balancer spreads requests round-robin over the instances whose
// readiness check passed at its last probe (every 50 ms), as a load
// balancer in front of a deployment does.
type balancer struct {
	mu      sync.Mutex
	ready   map[string]bool
	addrs   []string
	proxies map[string]*httputil.ReverseProxy
	next    atomic.Uint64
	failed  atomic.Int64 // answers the balancer itself gave: no backend, or a backend error
	stop    chan struct{}
	stopped chan struct{}
}

func newBalancer(addrs []string) *balancer {
	b := &balancer{ready: map[string]bool{}, addrs: addrs, proxies: map[string]*httputil.ReverseProxy{},
		stop: make(chan struct{}), stopped: make(chan struct{})}
	for _, addr := range addrs {
		p := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: addr})
		p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			b.failed.Add(1)
			http.Error(w, "backend "+addr+": "+err.Error(), http.StatusBadGateway)
		}
		b.proxies[addr] = p
	}
	go b.probe()
	return b
}

func (b *balancer) probe() {
	defer close(b.stopped)
	client := &http.Client{Timeout: 200 * time.Millisecond}
	for {
		for _, addr := range b.addrs {
			ok := false
			if res, err := client.Get("http://" + addr + "/health/ready"); err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				ok = res.StatusCode == http.StatusOK
			}
			b.mu.Lock()
			b.ready[addr] = ok
			b.mu.Unlock()
		}
		select {
		case <-b.stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (b *balancer) Close() {
	close(b.stop)
	<-b.stopped
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	var ready []string
	for _, addr := range b.addrs {
		if b.ready[addr] {
			ready = append(ready, addr)
		}
	}
	b.mu.Unlock()
	if len(ready) == 0 {
		b.failed.Add(1)
		http.Error(w, "no instance is ready", http.StatusServiceUnavailable)
		return
	}
	b.proxies[ready[b.next.Add(1)%uint64(len(ready))]].ServeHTTP(w, r)
}

// viaInstance returns a client of the instance at addr that shares its
// cookies with s, like one browser talking to every instance of a site.
func viaInstance(t *testing.T, s *trellistest.Server, addr string) *trellistest.Server {
	c := trellistest.Connect(t, "http://"+addr)
	c.Client = s.Client
	return c
}

const password = "correct horse battery staple"

// TestCluster runs three instances of one app on PostgreSQL and Redis and
// checks that they act as one: sessions, sign-out, rate limits, jobs that
// run once, a schedule that fires once per tick, and a rolling restart
// under load with no failed request and no lost job.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three app processes")
	}
	c := newCluster(t)
	var instances []*instance
	for i := range 3 {
		instances = append(instances, c.start(fmt.Sprintf("app%d", i+1), trellistest.FreeAddr(t)))
	}
	for _, in := range instances {
		in.waitReady(t)
	}
	started := time.Now()
	db, err := sql.Open("pgx", c.envValue("TRELLIS_DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	t.Run("sessions are shared", func(t *testing.T) {
		one := trellistest.Connect(t, "http://"+instances[0].addr)
		one.PostForm("/register", url.Values{"email": {"ann@example.com"}, "name": {"Ann"}, "password": {password}, "password_confirm": {password}}).
			AssertStatus(http.StatusSeeOther)
		for _, in := range instances {
			viaInstance(t, one, in.addr).Get("/whoami").AssertStatus(http.StatusOK).AssertContains("ann@example.com")
		}
		// Signing out on one instance ends the session on all of them.
		viaInstance(t, one, instances[1].addr).PostForm("/logout", nil).AssertStatus(http.StatusSeeOther)
		for _, in := range instances {
			if got := viaInstance(t, one, in.addr).Get("/whoami").Body; got != "anonymous" {
				t.Errorf("after signing out on %s, %s still sees %q", instances[1].name, in.name, got)
			}
		}
	})

	t.Run("rate limits are shared", func(t *testing.T) {
		visitor := trellistest.Connect(t, "http://"+instances[0].addr)
		allowed := 0
		for i := range 9 {
			res := viaInstance(t, visitor, instances[i%3].addr).PostForm("/login", url.Values{"email": {"nobody@example.com"}, "password": {"wrong password"}})
			switch res.StatusCode {
			case http.StatusTooManyRequests:
			case http.StatusUnprocessableEntity, http.StatusUnauthorized, http.StatusOK:
				allowed++
			default:
				t.Fatalf("login attempt %d on %s: status %d", i+1, instances[i%3].name, res.StatusCode)
			}
		}
		// ratelimit.login = 5/1m for the whole cluster, not per instance.
		if allowed != 5 {
			t.Errorf("%d of 9 failed logins spread over 3 instances were let through, want 5 (the shared limit)", allowed)
		}
	})

	t.Run("a job runs once", func(t *testing.T) {
		user := signedIn(t, instances[0].addr, "bob@example.com")
		const n = 60
		for i := range n {
			viaInstance(t, user, instances[i%3].addr).PostForm("/work", url.Values{"key": {"once-" + itoa(i)}}).AssertStatus(http.StatusAccepted)
		}
		runs := waitRuns(t, db, "once-%", n)
		if runs.total != n || runs.distinct != n {
			t.Errorf("%d enqueued jobs gave %d runs of %d distinct jobs, want each once", n, runs.total, runs.distinct)
		}
		t.Logf("%d jobs ran on %d instances", n, runs.instances)
	})

	t.Run("the schedule fires once per tick", func(t *testing.T) {
		time.Sleep(3 * time.Second)
		var ticks int
		var first, last time.Time
		if err := db.QueryRow(`SELECT count(*), min(at), max(at) FROM cluster_ticks`).Scan(&ticks, &first, &last); err != nil {
			t.Fatal(err)
		}
		// Three instances race for every fire of "@every 1s" and one
		// claims it: one run a second, give or take pick-up delays.
		span := last.Sub(first).Seconds()
		if ticks < 2 || float64(ticks) > span+2 {
			t.Errorf("%d ticks ran over %.1fs, want one per second", ticks, span)
		}
	})

	t.Run("rolling restart under load", func(t *testing.T) {
		addrs := make([]string, len(instances))
		for i, in := range instances {
			addrs[i] = in.addr
		}
		lb := newBalancer(addrs)
		defer lb.Close()
		front := httptest.NewServer(lb)
		defer front.Close()
		user := signedIn(t, instances[0].addr, "carol@example.com")
		token := user.CSRFToken()

		var requests, failures, enqueued atomic.Int64
		var failMu sync.Mutex
		var failLog []string
		fail := func(s string) {
			failures.Add(1)
			failMu.Lock()
			if len(failLog) < 10 {
				failLog = append(failLog, s)
			}
			failMu.Unlock()
		}
		ctx, stopLoad := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				client := &http.Client{Jar: user.Client.Jar, Timeout: 30 * time.Second}
				for i := 0; ctx.Err() == nil; i++ {
					var req *http.Request
					if i%2 == 0 {
						req, _ = http.NewRequest(http.MethodGet, front.URL+"/whoami", nil)
					} else {
						form := url.Values{"key": {fmt.Sprintf("roll-%d-%d", w, i)}}
						req, _ = http.NewRequest(http.MethodPost, front.URL+"/work", strings.NewReader(form.Encode()))
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
						req.Header.Set("X-CSRF-Token", token)
					}
					requests.Add(1)
					res, err := client.Do(req)
					if err != nil {
						fail(req.Method + " " + req.URL.Path + ": " + err.Error())
						continue
					}
					body, _ := io.ReadAll(res.Body)
					res.Body.Close()
					switch {
					case req.Method == http.MethodGet && (res.StatusCode != http.StatusOK || string(body) != "carol@example.com"):
						fail(fmt.Sprintf("GET /whoami: %d %q", res.StatusCode, body))
					case req.Method == http.MethodPost && res.StatusCode != http.StatusAccepted:
						fail(fmt.Sprintf("POST /work: %d %q", res.StatusCode, body))
					case req.Method == http.MethodPost:
						enqueued.Add(1)
					}
				}
			})
		}
		time.Sleep(time.Second)
		for i, in := range instances {
			in.stop(t)
			instances[i] = c.start(in.name, in.addr)
			instances[i].waitReady(t)
			time.Sleep(500 * time.Millisecond) // the balancer sees it ready again
		}
		time.Sleep(time.Second)
		stopLoad()
		wg.Wait()
		took := time.Since(started)

		if n := failures.Load(); n > 0 {
			t.Errorf("%d of %d requests failed during the rolling restart, want 0; first: %s", n, requests.Load(), strings.Join(failLog, "; "))
		}
		if n := lb.failed.Load(); n > 0 {
			t.Errorf("the balancer failed %d requests itself", n)
		}
		n := int(enqueued.Load())
		runs := waitRuns(t, db, "roll-%", n)
		if runs.distinct != n {
			t.Errorf("%d jobs enqueued during the restart, %d ran", n, runs.distinct)
		}
		t.Logf("rolling restart of 3 instances: %d requests (%d failed), %d jobs enqueued, %d ran (%d runs: %d beyond once), test %.1fs",
			requests.Load(), failures.Load(), n, runs.distinct, runs.total, runs.total-runs.distinct, took.Seconds())
	})
}

// envValue returns the value of key in the cluster's environment.
func (c *cluster) envValue(key string) string {
	for _, kv := range c.env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// signedIn registers an account through the instance at addr and returns
// a client signed in with it.
func signedIn(t *testing.T, addr, email string) *trellistest.Server {
	t.Helper()
	s := trellistest.Connect(t, "http://"+addr)
	s.PostForm("/register", url.Values{"email": {email}, "name": {"Tester"}, "password": {password}, "password_confirm": {password}}).
		AssertStatus(http.StatusSeeOther)
	return s
}

// runCount describes the job runs recorded for some keys.
type runCount struct{ total, distinct, instances int }

var likeKey = regexp.MustCompile(`^[a-z]+-%$`)

// waitRuns waits until n distinct keys matching like have run, then waits
// a little more for any duplicate, and counts.
func waitRuns(t *testing.T, db *sql.DB, like string, n int) runCount {
	t.Helper()
	if !likeKey.MatchString(like) {
		t.Fatalf("bad pattern %q", like)
	}
	var rc runCount
	count := func() error {
		return db.QueryRow(`SELECT count(*), count(DISTINCT key), count(DISTINCT instance) FROM cluster_runs WHERE key LIKE $1`, like).
			Scan(&rc.total, &rc.distinct, &rc.instances)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := count(); err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		if rc.distinct >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if err := count(); err != nil {
		t.Fatal(err)
	}
	return rc
}

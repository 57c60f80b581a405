package newapp

import (
	"debug/elf"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trellis-go/trellis/internal/apptest"
	"github.com/trellis-go/trellis/internal/testservices"
	"github.com/trellis-go/trellis/trellistest"
)

// dockerfile is what the deploy checks read from a new app's Dockerfile.
type dockerfile struct {
	build  string            // the go build command of the build stage
	env    map[string]string // the final image's ENV
	user   string
	health []string // the HEALTHCHECK command
	from   []string // the base image of each stage
}

var (
	dockerRun    = regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build [^&\n]+)`)
	dockerFrom   = regexp.MustCompile(`(?m)^FROM (\S+)`)
	dockerUser   = regexp.MustCompile(`(?m)^USER (\S+)`)
	dockerHealth = regexp.MustCompile(`(?m)^HEALTHCHECK .* CMD \[(.*)\]$`)
	dockerEnv    = regexp.MustCompile(`(?m)^ENV ((?:.*\\\n)*.*)$`)
)

func parseDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	var d dockerfile
	if m := dockerRun.FindStringSubmatch(text); m != nil {
		d.build = strings.TrimSpace(m[1])
	}
	for _, m := range dockerFrom.FindAllStringSubmatch(text, -1) {
		d.from = append(d.from, m[1])
	}
	if m := dockerUser.FindStringSubmatch(text); m != nil {
		d.user = m[1]
	}
	if m := dockerHealth.FindStringSubmatch(text); m != nil {
		for _, f := range strings.Split(m[1], ",") {
			d.health = append(d.health, strings.Trim(strings.TrimSpace(f), `"`))
		}
	}
	d.env = map[string]string{}
	for _, m := range dockerEnv.FindAllStringSubmatch(text, -1) {
		for _, kv := range strings.Fields(strings.ReplaceAll(m[1], "\\\n", " ")) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				d.env[k] = v
			}
		}
	}
	return d
}

// checkDeploy checks the deploy files of the new app in dir (binary name
// "myapp") without Docker or systemd running: the Dockerfile builds a
// static binary the way it says, runs it as a non-root user with a health
// check, and its environment starts the production profile, which the
// health command then finds ready; the systemd unit passes
// systemd-analyze verify without a warning.
func checkDeploy(t *testing.T, dir string) {
	t.Helper()
	d := parseDockerfile(t, filepath.Join(dir, "Dockerfile"))
	if len(d.from) != 2 || !strings.HasPrefix(d.from[0], "golang:"+GoVersion) || !strings.Contains(d.from[1], "distroless/static") {
		t.Errorf("Dockerfile stages %v, want a golang:%s build stage and a distroless static image", d.from, GoVersion)
	}
	if d.user == "" || strings.HasPrefix(d.user, "root") || strings.HasPrefix(d.user, "0") {
		t.Errorf("Dockerfile USER %q, want a non-root user", d.user)
	}
	if strings.Join(d.health, " ") != "/srv/myapp health" {
		t.Errorf("Dockerfile HEALTHCHECK runs %q, want the app's health command", d.health)
	}
	if d.env["TRELLIS_ENV"] != "production" {
		t.Errorf("Dockerfile ENV %v does not select the production profile", d.env)
	}

	// Build as the Dockerfile does, then check the binary is static.
	if !strings.Contains(d.build, "/out/myapp") {
		t.Fatalf("Dockerfile build command %q does not write /out/myapp", d.build)
	}
	srv := t.TempDir()
	bin := filepath.Join(srv, "myapp")
	apptest.Run(t, dir, nil, "sh", "-c", strings.ReplaceAll(d.build, "/out/myapp", bin))
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the image's binary is dynamically linked")
		}
	}
	f.Close()

	// Lay out the image (binary and config/ in /srv) and start it with the
	// image's environment; the health check must pass.
	if err := os.CopyFS(filepath.Join(srv, "config"), os.DirFS(filepath.Join(dir, "config"))); err != nil {
		t.Fatal(err)
	}
	addr, metrics := trellistest.FreeAddr(t), trellistest.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	var env []string
	for k, v := range d.env {
		switch k {
		case "TRELLIS_SERVER_ADDR":
			v = ":" + port
		case "TRELLIS_APP_DATA_DIR":
			v = t.TempDir()
		case "TRELLIS_METRICS_ADDR":
			v = metrics
		}
		env = append(env, k+"="+v)
	}
	// What every deployment adds, as the Dockerfile's comment shows.
	env = append(env, "TRELLIS_APP_BASE_URL=https://myapp.example.com")
	s := apptest.ServeAt(t, srv, bin, ":"+port, env...)
	if out := apptest.Run(t, srv, env, bin, "health"); !strings.HasPrefix(out, "ok http://127.0.0.1:"+port+"/health/ready") {
		t.Errorf("health: %q", out)
	}
	s.Get("/").AssertStatus(200).AssertContains("<h1>Welcome</h1>")
	s.Get("/metrics").AssertStatus(404) // not on the public router in production
	trellistest.Connect(t, "http://"+metrics).Get("/metrics").AssertStatus(200).AssertContains("go_goroutines")

	// The systemd unit, pointed at the built binary.
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if testservices.RequireServices() {
			t.Fatal("systemd-analyze is needed to verify the systemd unit (Debian package systemd)")
		}
		t.Log("systemd-analyze not found: the systemd unit is not verified")
		return
	}
	unit, err := os.ReadFile(filepath.Join(dir, "deploy", "myapp.service"))
	if err != nil {
		t.Fatal(err)
	}
	verify := filepath.Join(t.TempDir(), "myapp.service")
	if err := os.WriteFile(verify, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/myapp", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", verify).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

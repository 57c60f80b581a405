package apptest

import (
	"debug/elf"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trellis-go/trellis/internal/testservices"
	"github.com/trellis-go/trellis/trellistest"
)

// Image is what the deploy checks read from a Dockerfile.
type Image struct {
	Build      string            // the go build command of the build stage
	Env        map[string]string // the final image's ENV
	User       string
	Health     []string // the HEALTHCHECK command
	Entrypoint []string
	From       []string // the base image of each stage
}

var (
	dockerRun        = regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build [^&\n]+)`)
	dockerFrom       = regexp.MustCompile(`(?m)^FROM (\S+)`)
	dockerUser       = regexp.MustCompile(`(?m)^USER (\S+)`)
	dockerHealth     = regexp.MustCompile(`(?m)^HEALTHCHECK .* CMD (\[.*\])$`)
	dockerEntrypoint = regexp.MustCompile(`(?m)^ENTRYPOINT (\[.*\])$`)
	dockerEnv        = regexp.MustCompile(`(?m)^ENV ((?:.*\\\n)*.*)$`)
)

// ParseDockerfile reads the parts of the Dockerfile at path the deploy
// checks need.
func ParseDockerfile(t testing.TB, path string) Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	var d Image
	if m := dockerRun.FindStringSubmatch(text); m != nil {
		d.Build = strings.TrimSpace(m[1])
	}
	for _, m := range dockerFrom.FindAllStringSubmatch(text, -1) {
		d.From = append(d.From, m[1])
	}
	if m := dockerUser.FindStringSubmatch(text); m != nil {
		d.User = m[1]
	}
	execForm := func(re *regexp.Regexp) []string {
		var argv []string
		if m := re.FindStringSubmatch(text); m != nil {
			if err := json.Unmarshal([]byte(m[1]), &argv); err != nil {
				t.Fatalf("%s: %q is not a JSON exec form: %v", path, m[1], err)
			}
		}
		return argv
	}
	d.Health, d.Entrypoint = execForm(dockerHealth), execForm(dockerEntrypoint)
	d.Env = map[string]string{}
	for _, m := range dockerEnv.FindAllStringSubmatch(text, -1) {
		for _, kv := range strings.Fields(strings.ReplaceAll(m[1], "\\\n", " ")) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				d.Env[k] = v
			}
		}
	}
	return d
}

// Deploy names the deploy files CheckDeploy checks.
type Deploy struct {
	Dockerfile string // path of the Dockerfile
	Context    string // the build context: where its go build runs
	Binary     string // the binary's name in /out and /srv
	GoVersion  string // the Go release the build stage must use
	Config     string // a config/ directory the image copies to /srv/config, if any
	Unit       string // path of the systemd unit, whose ExecStart runs /usr/local/bin/<Binary>
}

// CheckDeploy checks deploy files without Docker or systemd running: the
// Dockerfile builds a static binary the way it says, runs it as a non-root
// user with a health check, and its entrypoint and environment start the
// production profile, which the health check then finds ready; the
// systemd unit passes systemd-analyze verify without a warning. It returns
// a client for the started image.
func CheckDeploy(t *testing.T, dep Deploy) *trellistest.Server {
	t.Helper()
	d := ParseDockerfile(t, dep.Dockerfile)
	if len(d.From) != 2 || !strings.HasPrefix(d.From[0], "golang:"+dep.GoVersion) || !strings.Contains(d.From[1], "distroless/static") {
		t.Errorf("Dockerfile stages %v, want a golang:%s build stage and a distroless static image", d.From, dep.GoVersion)
	}
	if d.User == "" || strings.HasPrefix(d.User, "root") || strings.HasPrefix(d.User, "0") {
		t.Errorf("Dockerfile USER %q, want a non-root user", d.User)
	}
	inImage := "/srv/" + dep.Binary
	if strings.Join(d.Health, " ") != inImage+" health" {
		t.Errorf("Dockerfile HEALTHCHECK runs %q, want %s health", d.Health, inImage)
	}
	if len(d.Entrypoint) == 0 || d.Entrypoint[0] != inImage {
		t.Fatalf("Dockerfile ENTRYPOINT %q, want %s", d.Entrypoint, inImage)
	}
	if d.Env["TRELLIS_ENV"] != "production" {
		t.Errorf("Dockerfile ENV %v does not select the production profile", d.Env)
	}

	// Build as the Dockerfile does, then check the binary is static.
	out := "/out/" + dep.Binary
	if !strings.Contains(d.Build, out) {
		t.Fatalf("Dockerfile build command %q does not write %s", d.Build, out)
	}
	srv := t.TempDir()
	bin := filepath.Join(srv, dep.Binary)
	Run(t, dep.Context, nil, "sh", "-c", strings.ReplaceAll(d.Build, out, bin))
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
	// image's entrypoint and environment; the health check must pass.
	if dep.Config != "" {
		if err := os.CopyFS(filepath.Join(srv, "config"), os.DirFS(dep.Config)); err != nil {
			t.Fatal(err)
		}
	}
	addr, metrics := trellistest.FreeAddr(t), trellistest.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	var env []string
	for k, v := range d.Env {
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
	env = append(env, "TRELLIS_APP_BASE_URL=https://"+dep.Binary+".example.com")
	argv := append([]string{bin}, d.Entrypoint[1:]...)
	s := ServeCmd(t, srv, ":"+port, argv, env...)
	if out := Run(t, srv, env, bin, d.Health[1:]...); !strings.HasPrefix(out, "ok http://127.0.0.1:"+port+"/health/ready") {
		t.Errorf("health: %q", out)
	}
	s.Get("/metrics").AssertStatus(404) // not on the public router in production
	trellistest.Connect(t, "http://"+metrics).Get("/metrics").AssertStatus(200).AssertContains("go_goroutines")
	verifyUnit(t, dep.Unit, "/usr/local/bin/"+dep.Binary, bin)
	return s
}

// verifyUnit runs systemd-analyze verify on the unit at path, with its
// binary (installed) pointed at bin.
func verifyUnit(t *testing.T, path, installed, bin string) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if testservices.RequireServices() {
			t.Fatal("systemd-analyze is needed to verify the systemd unit (Debian package systemd)")
		}
		t.Log("systemd-analyze not found: the systemd unit is not verified")
		return
	}
	unit, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "ExecStart="+installed+" ") {
		t.Errorf("%s does not start %s", path, installed)
	}
	verify := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(verify, []byte(strings.ReplaceAll(string(unit), installed, bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", verify).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

package main

import (
	"bufio"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trellis-go/trellis/internal/devserver/fixture"
	"github.com/trellis-go/trellis/trellistest"
)

// TestDevRefusesProduction: the dev loop never runs a production profile,
// whether asked by flag or by TRELLIS_ENV (before production's own
// configuration checks could fail first).
func TestDevRefusesProduction(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
	}{
		{[]string{"dev", "--env", "production"}, ""},
		{[]string{"dev"}, "TRELLIS_ENV=production"},
	} {
		cmd := cli(t, tc.args...)
		if tc.env != "" {
			cmd.Env = append(cmd.Env, tc.env)
		}
		out, err := cmd.CombinedOutput()
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != 2 || !strings.Contains(string(out), "dev serves development builds") {
			t.Errorf("%v %s: exit code %d, want 2 and a refusal; output %s", tc.args, tc.env, code, out)
		}
	}
}

// TestDevCommandStopsOnSIGINT runs `trellis dev` as a process in the
// fixture app: the app's page comes through the proxy on --addr with the
// live-reload script, and SIGINT (Ctrl-C) ends the dev server with exit
// code 0, leaving neither the app nor a process it started running.
func TestDevCommandStopsOnSIGINT(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an app; skipped in -short mode")
	}
	dir := fixture.App(t)
	fixture.AddPIDHook(t, dir)
	addr := trellistest.FreeAddr(t)
	cmd := cli(t, "dev", "--addr", addr, "--build-flags", "'-ldflags=-s -w'")
	cmd.Dir = dir
	cmd.Env = append(fixture.Env(), "TRELLIS_TEST_RUN_CLI=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var status strings.Builder
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "trellis") {
				status.WriteString(line + "\n")
			}
		}
	}()

	var body string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		res, err := http.Get("http://" + addr + "/")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if body = string(b); res.StatusCode == http.StatusOK && strings.Contains(body, "Hello v1") {
			break
		}
	}
	if !strings.Contains(body, "Hello v1") || !strings.Contains(body, `<script src="/_trellis/dev/reload.js?v=`) {
		t.Fatalf("the app's page through trellis dev:\n%s", body)
	}
	pids := fixture.PIDs(t, dir)

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("trellis dev after SIGINT: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("trellis dev did not exit within 20s of SIGINT")
	}
	<-logged
	fixture.AssertGone(t, "after Ctrl-C", pids...)
	for _, want := range []string{"trellis dev: serving http://" + addr, "trellis dev: restarted in", "trellis dev: stopped"} {
		if !strings.Contains(status.String(), want) {
			t.Errorf("the status lines lack %q:\n%s", want, status.String())
		}
	}
}

func TestSplitFlags(t *testing.T) {
	for in, want := range map[string][]string{
		"":                nil,
		"  -race  ":       {"-race"},
		"-race -tags dev": {"-race", "-tags", "dev"},
		`-race '-ldflags=-s -w' "-gcflags=all=-N -l"`: {"-race", "-ldflags=-s -w", "-gcflags=all=-N -l"},
	} {
		got, err := splitFlags(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("splitFlags(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"'-ldflags=-s -w", "-ldflags='-s -w'"} {
		if got, err := splitFlags(bad); err == nil {
			t.Errorf("splitFlags(%q) = %q, want an error", bad, got)
		}
	}
}

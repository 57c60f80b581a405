package main

import (
	"path/filepath"
	"testing"

	"github.com/trellis-go/trellis/internal/apptest"
	"github.com/trellis-go/trellis/internal/newapp"
)

// TestDeployFiles checks the repository's deploy/ files for the demo as a
// new app's are checked: the Dockerfile's build gives a static binary
// whose entrypoint serves the demo in production, healthy by its own
// health command; the systemd unit verifies.
func TestDeployFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the trellis binary")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	s := apptest.CheckDeploy(t, apptest.Deploy{
		Dockerfile: filepath.Join(root, "deploy", "Dockerfile"),
		Context:    root,
		Binary:     "trellis",
		GoVersion:  newapp.GoVersion,
		Unit:       filepath.Join(root, "deploy", "trellis-demo.service"),
	})
	s.Get("/").AssertStatus(200).AssertContains("<h1>Trellis demo</h1>")
}

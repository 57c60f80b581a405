package newapp

import (
	"path/filepath"
	"testing"

	"github.com/trellis-go/trellis/internal/apptest"
)

// checkDeploy checks the deploy files of the new app in dir (binary name
// "myapp"): see apptest.CheckDeploy.
func checkDeploy(t *testing.T, dir string) {
	t.Helper()
	s := apptest.CheckDeploy(t, apptest.Deploy{
		Dockerfile: filepath.Join(dir, "Dockerfile"),
		Context:    dir,
		Binary:     "myapp",
		GoVersion:  GoVersion,
		Config:     filepath.Join(dir, "config"),
		Unit:       filepath.Join(dir, "deploy", "myapp.service"),
	})
	s.Get("/").AssertStatus(200).AssertContains("<h1>Welcome</h1>")
}

package newapp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// TrellisModule is the framework's module path.
const TrellisModule = "github.com/trellis-go/trellis"

// DevelVersion is the version a new app requires when its go.mod replaces
// Trellis with a source checkout: the version the go command itself writes
// for a replaced module that has none.
const DevelVersion = "v0.0.0-00010101000000-000000000000"

// Source says where a new app's go.mod finds Trellis.
type Source struct {
	// Version is the required version of the Trellis module.
	Version string
	// Dir, when not empty, is the absolute path of a Trellis source
	// checkout that go.mod replaces the module with.
	Dir string
}

// ErrNoCheckout is returned when the trellis command is a development
// build whose source checkout cannot be found.
var ErrNoCheckout = errors.New("cannot find the Trellis source checkout this trellis command was built from")

// IsRelease reports whether v, the version of the Trellis module the
// command was built from (as runtime/debug reports it), is a released
// version a new app can require from the module proxy: a semantic version
// that is neither a pseudo-version (a commit between tags) nor marked
// "+dirty" (uncommitted changes). "(devel)" and "" are not.
func IsRelease(v string) bool {
	return semver.IsValid(v) && semver.Build(v) == "" && !module.IsPseudoVersion(v)
}

// ChooseSource decides how a new app finds Trellis; it does no I/O.
// version is the Trellis module version the command was built from;
// override is a checkout the user named (--trellis-dir or
// TRELLIS_SOURCE_DIR), which always wins; found is the checkout the
// command's own source files are in, or "" when unknown. A release build
// requires its own version; any other build replaces the module with its
// checkout, and fails with ErrNoCheckout when there is none.
func ChooseSource(version, override, found string) (Source, error) {
	switch {
	case override != "":
		return Source{Version: DevelVersion, Dir: override}, nil
	case IsRelease(version):
		return Source{Version: version}, nil
	case found != "":
		return Source{Version: DevelVersion, Dir: found}, nil
	}
	if version == "" {
		version = "(devel)"
	}
	return Source{}, fmt.Errorf("%w (version %s); pass --trellis-dir or set TRELLIS_SOURCE_DIR to the checkout", ErrNoCheckout, version)
}

// ThisBuild returns the Source for the running trellis command, with
// override (a directory, possibly relative) as the checkout when not empty.
func ThisBuild(override string) (Source, error) {
	if override != "" {
		abs, err := filepath.Abs(override)
		if err != nil {
			return Source{}, fmt.Errorf("trellis checkout %s: %w", override, err)
		}
		if !IsCheckout(abs) {
			return Source{}, fmt.Errorf("%w: %s has no go.mod for %s", ErrUsage, abs, TrellisModule)
		}
		override = abs
	}
	return ChooseSource(buildVersion(), override, sourceCheckout())
}

// buildVersion returns the version of the Trellis module linked into the
// running binary: the main module's when the binary is built from Trellis
// itself, the dependency's when it is built from an app (`go tool
// trellis`), "" when unknown.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if info.Main.Path == TrellisModule {
		return info.Main.Version
	}
	for _, d := range info.Deps {
		if d.Path == TrellisModule {
			if d.Replace != nil {
				return "" // a replaced module is not the release it names
			}
			return d.Version
		}
	}
	return ""
}

// sourceCheckout returns the Trellis checkout holding this source file, or
// "" when the binary was built with -trimpath (the path is then not
// absolute) or the file is not in a checkout.
func sourceCheckout() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	// This file is internal/newapp/source.go in the checkout.
	dir := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	if !IsCheckout(dir) {
		return ""
	}
	return dir
}

// IsCheckout reports whether dir holds the Trellis module's go.mod.
func IsCheckout(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	return err == nil && modfile.ModulePath(b) == TrellisModule
}

// GoMod returns the new app's go.mod: module path modulePath, the Go
// version goVersion (such as "1.26"), Trellis from src and the two tools an
// app uses, the trellis command and templ. `go mod tidy` completes it.
func GoMod(modulePath, goVersion string, src Source) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "module %s\n\ngo %s\n\nrequire %s %s\n", modulePath, goVersion, TrellisModule, src.Version)
	if src.Dir != "" {
		fmt.Fprintf(&b, "\n// Use this Trellis source checkout instead of a release.\nreplace %s => %s\n", TrellisModule, modfile.AutoQuote(src.Dir))
	}
	fmt.Fprintf(&b, "\ntool (\n\tgithub.com/a-h/templ/cmd/templ\n\t%s/cmd/trellis\n)\n", TrellisModule)
	return []byte(b.String())
}

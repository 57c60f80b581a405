package devserver

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// builder regenerates templ code and builds the app's binary.
type builder struct {
	dir   string   // the app's module root
	bin   string   // directory the binaries are written to
	flags []string // extra `go build` flags
	env   []string
	rules rules

	// generated holds the size and modification time of every *_templ.go
	// file after the last templ generate, so the watcher events of our
	// own writes do not trigger another build.
	generated map[string]stamp
}

type stamp struct {
	size int64
	mod  time.Time
}

// buildError is a failed step with the tool's output.
type buildError struct {
	step   string
	output string
	err    error
}

func (e *buildError) Error() string {
	return fmt.Sprintf("%s: %v\n%s", e.step, e.err, e.output)
}

func (e *buildError) Unwrap() error { return e.err }

// build runs templ generate when templ is set, then go build, and returns
// the new binary's path. A failed step returns a *buildError carrying the
// tool's output.
func (b *builder) build(ctx context.Context, templ bool, running string) (string, error) {
	if templ && b.hasTempl() {
		out, err := b.run(ctx, "go", "tool", "templ", "generate", "-path", ".")
		b.generated = b.snapshot()
		if err != nil {
			return "", &buildError{step: "templ generate", output: out, err: err}
		}
	}
	// Named after the app's directory, as `go build` would name it (its
	// command line and error messages use the name), in one of two
	// directories: the one not holding running, the binary that runs now.
	dir := filepath.Join(b.bin, "0")
	if running != "" && filepath.Dir(running) == dir {
		dir = filepath.Join(b.bin, "1")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("devserver: %w", err)
	}
	bin := filepath.Join(dir, filepath.Base(b.dir))
	args := []string{"build", "-o", bin}
	if !hasLdflags(b.flags) {
		// No symbol table or DWARF: links about a third faster, and stack
		// traces still name every function and line.
		args = append(args, "-ldflags=-s -w")
	}
	args = append(args, b.flags...)
	out, err := b.run(ctx, "go", append(args, ".")...)
	if err != nil {
		return "", &buildError{step: "go build", output: out, err: err}
	}
	return bin, nil
}

func (b *builder) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = b.dir, b.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	ownGroup(cmd)
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// snapshot records every generated templ file under the root.
func (b *builder) snapshot() map[string]stamp {
	m := map[string]stamp{}
	b.walk(func(rel string, d fs.DirEntry) {
		if strings.HasSuffix(rel, "_templ.go") {
			if info, err := d.Info(); err == nil {
				m[rel] = stamp{info.Size(), info.ModTime()}
			}
		}
	})
	return m
}

// hasTempl reports whether the app has templ files: an app without them
// need not have templ as a tool.
func (b *builder) hasTempl() bool {
	found := false
	b.walk(func(rel string, _ fs.DirEntry) { found = found || strings.HasSuffix(rel, ".templ") })
	return found
}

// walk calls fn for every file of the app's watched tree.
func (b *builder) walk(fn func(rel string, d fs.DirEntry)) {
	_ = filepath.WalkDir(b.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(b.dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if b.rules.skipDir(rel) {
				return filepath.SkipDir
			}
			return nil
		}
		fn(rel, d)
		return nil
	})
}

// ownWrite reports whether the change to rel is templ generate's own
// write: a generated file that is still as the last generate left it.
func (b *builder) ownWrite(rel string) bool {
	s, ok := b.generated[rel]
	if !ok {
		return false
	}
	info, err := os.Stat(filepath.Join(b.dir, filepath.FromSlash(rel)))
	return err == nil && info.Size() == s.size && info.ModTime().Equal(s.mod)
}

// hasLdflags reports whether flags set -ldflags themselves.
func hasLdflags(flags []string) bool {
	for _, f := range flags {
		if f == "-ldflags" || strings.HasPrefix(f, "-ldflags=") || f == "--ldflags" || strings.HasPrefix(f, "--ldflags=") {
			return true
		}
	}
	return false
}

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
	n     int // builds so far; binaries alternate between two names

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
func (b *builder) build(ctx context.Context, templ bool) (string, error) {
	if templ {
		out, err := b.run(ctx, "go", "tool", "templ", "generate", "-path", ".")
		b.generated = b.snapshot()
		if err != nil {
			return "", &buildError{step: "templ generate", output: out, err: err}
		}
	}
	b.n++
	bin := filepath.Join(b.bin, fmt.Sprintf("app-%d", b.n%2))
	args := append([]string{"build", "-o", bin}, b.flags...)
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
	r := newRules(nil)
	_ = filepath.WalkDir(b.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(b.dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if r.skipDir(rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(rel, "_templ.go") {
			if info, err := d.Info(); err == nil {
				m[rel] = stamp{info.Size(), info.ModTime()}
			}
		}
		return nil
	})
	return m
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

// Package generate writes code into a Trellis app, as `trellis generate`:
// a scaffold (a resource's migrations, data access, handlers, views and
// whole-stack tests), a background job, or an empty migration.
//
// A resource named Product or product (LineItem or line_item; names are
// singular) becomes the Go type Product (LineItem), the table products
// (line_items) and the URL path /products (/line-items: words joined by
// hyphens, as URLs usually are).
//
// It works on the layout `trellis new` writes: routes.go with a
// "// trellis:routes" line, views/nav.go with a "// trellis:nav" line and,
// for jobs, app.go with a "// trellis:jobs" line. New code is registered by
// inserting a line above those markers. Every name and field is checked,
// and every file rendered, formatted and compiled from templ, before the
// first one is written; then all are written or, on failure, none.
package generate

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
)

//go:embed templates
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"indent": indent,
	"goStr":  goStr,
}).ParseFS(templateFS, "templates/*.tmpl"))

// indent indents every line of s after the first by n tabs.
func indent(n int, s string) string {
	return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat("\t", n))
}

// goStr quotes s as a Go string literal, raw when that reads better.
func goStr(s string) string {
	if strings.Contains(s, `"`) && !strings.ContainsAny(s, "`\n") {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}

// Options say where and how to generate.
type Options struct {
	// Dir is the app's root, holding go.mod; default ".".
	Dir string
	// Force overwrites files that exist.
	Force bool
}

// Result lists the files written, relative to the app's root.
type Result struct {
	Created []string
	Updated []string
}

// ErrExists is wrapped when a file to be created exists and Force is off.
var ErrExists = errors.New("generate: file exists (use --force to overwrite)")

// ErrMarker is wrapped when a file lacks the marker line that generated
// code is registered above.
var ErrMarker = errors.New("generate: marker line missing")

// plan is the set of files one command writes.
type plan struct {
	dir   string
	force bool
	files []planned
}

type planned struct {
	path string // relative to dir, slash-separated
	data []byte
	edit bool // an existing file changed in place
}

func (p *plan) add(path string, data []byte) {
	p.files = append(p.files, planned{path: path, data: data})
}

// insert plans inserting line above the marker line of file path, with
// the marker's indentation; a line already there is not added again.
func (p *plan) insert(path, marker, line, hint string) error {
	src, err := os.ReadFile(filepath.Join(p.dir, path))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s not found; is this a Trellis app's root?", ErrMarker, path)
	}
	if err != nil {
		return fmt.Errorf("generate: reading %s: %w", path, err)
	}
	var out bytes.Buffer
	found, present := false, false
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		text := sc.Text()
		trimmed := strings.TrimSpace(text)
		if trimmed == line {
			present = true
		}
		if strings.HasPrefix(trimmed, marker) && !found {
			found = true
			if !present {
				out.WriteString(text[:len(text)-len(strings.TrimLeft(text, " \t"))] + line + "\n")
			}
		}
		out.WriteString(text + "\n")
	}
	if !found {
		return fmt.Errorf("%w: %s has no %q line; add it %s, then run the command again", ErrMarker, path, marker, hint)
	}
	p.files = append(p.files, planned{path: path, data: out.Bytes(), edit: true})
	return nil
}

// write checks that no file to be created exists (unless forced), formats
// the Go files, and writes everything; after a failed write it restores
// what it had written.
func (p *plan) write() (*Result, error) {
	var exist []string
	for i, f := range p.files {
		if strings.HasSuffix(f.path, ".go") {
			src, err := format.Source(f.data)
			if err != nil {
				return nil, fmt.Errorf("generate: formatting %s: %w", f.path, err)
			}
			p.files[i].data = src
		}
		if f.edit || p.force {
			continue
		}
		if _, err := os.Stat(filepath.Join(p.dir, f.path)); err == nil {
			exist = append(exist, f.path)
		}
	}
	if len(exist) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrExists, strings.Join(exist, ", "))
	}
	res := &Result{}
	var undo []func()
	for _, f := range p.files {
		path := filepath.Join(p.dir, filepath.FromSlash(f.path))
		old, readErr := os.ReadFile(path)
		err := os.MkdirAll(filepath.Dir(path), 0o755)
		if err == nil {
			err = os.WriteFile(path, f.data, 0o644)
		}
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
			return nil, fmt.Errorf("generate: writing %s: %w (nothing was kept)", f.path, err)
		}
		if readErr == nil {
			undo = append(undo, func() { _ = os.WriteFile(path, old, 0o644) })
			res.Updated = append(res.Updated, f.path)
		} else {
			undo = append(undo, func() { _ = os.Remove(path) })
			res.Created = append(res.Created, f.path)
		}
	}
	return res, nil
}

// render executes the named template with data.
func render(name string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return nil, fmt.Errorf("generate: rendering %s: %w", name, err)
	}
	return b.Bytes(), nil
}

var moduleRE = regexp.MustCompile(`(?m)^module\s+"?([^\s"]+)"?\s*$`)

// modulePath reads the module path from dir/go.mod.
func modulePath(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("generate: run it in the app's root (the directory with go.mod): %w", err)
	}
	m := moduleRE.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("generate: %s has no module line", filepath.Join(dir, "go.mod"))
	}
	return string(m[1]), nil
}

func (o Options) dir() string {
	if o.Dir == "" {
		return "."
	}
	return o.Dir
}

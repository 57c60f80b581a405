// Package newapp creates a new Trellis app: the files `trellis new` writes,
// their generated templ code and a complete go.mod and go.sum. See
// [Create].
//
// The layout is the one `trellis generate` and `trellis dev` rely on:
//
//	go.mod, go.sum                 Trellis (see Source) and the templ and trellis tools
//	main.go                        cli.Main(newApp, ...)
//	app.go                         newApp: embedded migrations and static files, the layout
//	routes.go                      routes(app), with the "\t// trellis:routes" marker line
//	home.go                        the home page handler
//	views/layout.templ, home.templ the layout (navigation, account links) and home page
//	views/nav.go                   Nav, with the "\t// trellis:nav" marker line
//	views/*_templ.go               generated templ code
//	migrations/sqlite, postgres    goose SQL migrations, one directory per database
//	static/app.css                 the app's stylesheet, served under /static/
//	config/trellis.toml            settings; trellis.production.toml for production
//	app_test.go                    the app's test, on every backend
//	Dockerfile, .dockerignore      the production image
//	deploy/<binary>.service        a hardened systemd unit
//	README.md, .gitignore
package newapp

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"go/format"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"golang.org/x/mod/module"

	"github.com/trellis-go/trellis/internal/templgen"
)

// ErrUsage is wrapped by errors in the options: a bad module path or
// database, or a target directory that is not empty. Create writes nothing
// when it returns one.
var ErrUsage = errors.New("usage")

// databases are the values Options.DB accepts; the first is the default.
var databases = []string{"sqlite", "postgres"}

// GoVersion is the go directive of a new app's go.mod (`go mod tidy`
// raises it to what Trellis needs).
const GoVersion = "1.26"

// Options describe the app to create.
type Options struct {
	// Dir is the directory to create the app in. It must not exist or be
	// empty.
	Dir string
	// Module is the app's module path; empty means Dir's base name.
	Module string
	// DB is the database the configuration uses: "sqlite" (empty means
	// sqlite) or "postgres".
	DB string
	// Source says how go.mod finds Trellis; the zero value means the
	// running command's own (see ThisBuild), with TrellisDir as the
	// checkout when set.
	Source Source
	// TrellisDir is the Trellis checkout to use when Source is zero.
	TrellisDir string
	// Out receives progress and the next steps; nil discards them.
	Out io.Writer
}

//go:embed all:template
var templates embed.FS

// data is what the templates see.
type data struct {
	Module      string // the module path
	Name        string // the directory's base name: app.name, titles
	Binary      string // what `go build` names the binary
	DB          string // sqlite or postgres
	DBName      string // the PostgreSQL database name
	DatabaseURL string // the PostgreSQL URL in config/trellis.toml
	GoVersion   string // the Go release the Dockerfile builds with
}

// Create writes a new app into o.Dir, generates its templ code and runs
// `go mod tidy` there (which needs the go command on PATH, and the module
// cache or the module proxy). It validates everything before writing:
// errors wrapping ErrUsage or ErrNoCheckout leave the disk untouched. A
// failure of `go mod tidy` leaves the files written and says so.
func Create(ctx context.Context, o Options) error {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	dir, d, err := o.resolve()
	if err != nil {
		return err
	}
	src := o.Source
	if src == (Source{}) {
		if src, err = ThisBuild(o.TrellisDir); err != nil {
			return err
		}
	}
	files, err := render(d, src)
	if err != nil {
		return err
	}
	if err := checkEmpty(dir); err != nil {
		return err
	}
	if err := write(dir, files); err != nil {
		return err
	}
	fmt.Fprintf(out, "Created %s (module %s, %s) in %s\n", d.Name, d.Module, dbTitle(d.DB), dir)
	if src.Dir != "" {
		fmt.Fprintf(out, "go.mod uses the Trellis checkout at %s (a replace directive), not a release\n", src.Dir)
	}
	fmt.Fprintln(out, "Running go mod tidy...")
	if err := tidy(ctx, dir); err != nil {
		return fmt.Errorf("the app's files are written, but %w; fix the cause and run `go mod tidy` in %s", err, dir)
	}
	nextSteps(out, o.Dir, d)
	return nil
}

// resolve validates the options and returns the absolute target directory
// and the template data.
func (o Options) resolve() (string, data, error) {
	if o.Dir == "" {
		return "", data{}, fmt.Errorf("%w: the app's directory is missing", ErrUsage)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return "", data{}, fmt.Errorf("app directory %s: %w", o.Dir, err)
	}
	d := data{Name: filepath.Base(dir), DB: o.DB, Module: o.Module, GoVersion: GoVersion}
	if d.DB == "" {
		d.DB = databases[0]
	}
	if !slices.Contains(databases, d.DB) {
		return "", data{}, fmt.Errorf("%w: unknown database %q (use --db sqlite or --db postgres)", ErrUsage, o.DB)
	}
	if d.Module == "" {
		d.Module = d.Name
		if err := module.CheckImportPath(d.Module); err != nil {
			return "", data{}, fmt.Errorf("%w: the directory name %q is not a valid module path; choose one with --module (such as example.com/%s)", ErrUsage, d.Name, safeName(d.Name))
		}
	} else if err := module.CheckImportPath(d.Module); err != nil {
		return "", data{}, fmt.Errorf("%w: invalid module path %q: %v", ErrUsage, d.Module, err)
	}
	d.Binary = path.Base(d.Module)
	if _, major, ok := module.SplitPathVersion(d.Module); ok && major != "" {
		// example.com/app/v2 builds a binary named app.
		d.Binary = path.Base(strings.TrimSuffix(d.Module, major))
	}
	d.DBName = safeName(d.Name)
	d.DatabaseURL = "postgres://localhost:5432/" + d.DBName + "?sslmode=disable"
	return dir, d, nil
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// safeName turns name into lower-case letters, digits and underscores,
// usable as a database name without quoting.
func safeName(name string) string {
	s := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(name), "_"), "_")
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		s = "app_" + s
	}
	return strings.TrimSuffix(s, "_")
}

// dbTitle names a database for people.
func dbTitle(db string) string {
	if db == "postgres" {
		return "PostgreSQL"
	}
	return "SQLite"
}

// checkEmpty fails unless dir is missing or an empty directory.
func checkEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		if st, serr := os.Stat(dir); serr == nil && !st.IsDir() {
			return fmt.Errorf("%w: %s exists and is not a directory", ErrUsage, dir)
		}
		return fmt.Errorf("reading %s: %w", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("%w: %s is not empty (it has %s); choose a new directory", ErrUsage, dir, entries[0].Name())
	}
	return nil
}

// render returns every file of the new app by slash path: the templates
// executed with d, .go files formatted, the templ files' generated code
// and go.mod.
func render(d data, src Source) (map[string][]byte, error) {
	files := map[string][]byte{"go.mod": GoMod(d.Module, GoVersion, src)}
	funcs := template.FuncMap{"toml": tomlString}
	err := fs.WalkDir(templates, "template", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		text, err := fs.ReadFile(templates, p)
		if err != nil {
			return err
		}
		t, err := template.New(p).Delims("[[", "]]").Funcs(funcs).Option("missingkey=error").Parse(string(text))
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, d); err != nil {
			return err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(p, "template/"), ".tmpl")
		// Dot files would hide from go:embed and tools; the unit is named
		// after the binary.
		switch name {
		case "gitignore", "dockerignore":
			name = "." + name
		case "deploy/app.service":
			name = "deploy/" + d.Binary + ".service"
		}
		content := b.Bytes()
		switch {
		case strings.HasSuffix(name, ".go"):
			if content, err = format.Source(content); err != nil {
				return fmt.Errorf("formatting %s: %w", name, err)
			}
		case strings.HasSuffix(name, ".templ"):
			code, err := templgen.Generate(name, content)
			if err != nil {
				return err
			}
			files[templgen.OutputPath(name)] = code
		}
		files[name] = content
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("newapp: rendering the app's files: %w", err)
	}
	return files, nil
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// write creates dir and the files in it.
func write(dir string, files map[string][]byte) error {
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("creating the app: %w", err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			return fmt.Errorf("creating the app: %w", err)
		}
	}
	return nil
}

// tidy runs `go mod tidy` in dir, outside any workspace and whatever
// -mod flag the environment sets.
func tidy(ctx context.Context, dir string) error {
	cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go mod tidy failed: %w\n%s", err, bytes.TrimSpace(out))
	}
	return nil
}

// nextSteps tells the user how to run and test the app; dir is the
// directory as they typed it.
func nextSteps(w io.Writer, dir string, d data) {
	var steps [][2]string
	if filepath.Clean(dir) != "." {
		steps = append(steps, [2]string{"cd " + dir, ""})
	}
	if d.DB == "postgres" {
		steps = append(steps, [2]string{"createdb " + d.DBName, "the database config/trellis.toml names (or set TRELLIS_DATABASE_URL)"})
	}
	steps = append(steps,
		[2]string{"go run .", "serves http://127.0.0.1:3000 (TRELLIS_SERVER_ADDR changes it)"},
		[2]string{"go test ./...", "the app's tests, on every backend whose service runs"})
	width := 0
	for _, s := range steps {
		width = max(width, len(s[0]))
	}
	fmt.Fprintln(w, "\nNext steps:")
	for _, s := range steps {
		if s[1] == "" {
			fmt.Fprintf(w, "  %s\n", s[0])
		} else {
			fmt.Fprintf(w, "  %-*s   # %s\n", width, s[0], s[1])
		}
	}
}

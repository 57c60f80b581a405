package generate

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/trellis-go/trellis/db"
)

// PerPage is the page size of a scaffold's list.
const PerPage = 20

// resource is what the scaffold templates are rendered from.
type resource struct {
	Module  string
	R, P    Name // singular and plural
	Fields  []Field
	Public  bool
	PerPage int
}

// Path is the URL path: /products, /line-items.
func (r resource) Path() string { return "/" + r.P.Kebab() }

// Table is the table name: products, line_items.
func (r resource) Table() string { return r.P.Snake() }

// buildWords are the GOOS and GOARCH values Go reads in file names: a file
// named x_windows.go builds only on Windows.
var buildWords = strings.Fields(`aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd
	plan9 solaris wasip1 windows zos 386 amd64 amd64p32 arm armbe arm64 arm64be loong64 mips mipsle mips64
	mips64le mips64p32 mips64p32le ppc ppc64 ppc64le riscv riscv64 s390 s390x sparc sparc64 wasm`)

// fileBase names a resource's files: the plural (products.go), or the
// singular when the plural would end in a build constraint
// (delivery_window.go, not delivery_windows.go).
func fileBase(n Name) string {
	p := n.Plural()
	if len(p.Words) > 1 && slices.Contains(buildWords, p.Words[len(p.Words)-1]) {
		return n.Snake()
	}
	return p.Snake()
}

// V is the short variable name of one record in generated code: the
// resource's first letter unless generated code uses that name already.
func (r resource) V() string {
	v := r.R.Words[0][:1]
	if strings.Contains("hrwvfsqn", v) {
		return "item"
	}
	return v
}

// Owned is the handler method that loads a record the user may change.
func (r resource) Owned() string {
	if r.Public {
		return "owned" + r.R.Go()
	}
	return r.R.Var()
}

// Title is the field that names a record: the first required string
// field, or nil.
func (r resource) Title() *Field {
	for i, f := range r.Fields {
		if f.Type == String && f.Required() {
			return &r.Fields[i]
		}
	}
	return nil
}

// Columns are the fields the list shows after the title: all but text.
func (r resource) Columns() []Field {
	var out []Field
	title := r.Title()
	for _, f := range r.Fields {
		if f.Type != Text && (title == nil || f.Name.Snake() != title.Name.Snake()) {
			out = append(out, f)
		}
	}
	return out
}

// Search are the fields ?q= searches.
func (r resource) Search() []Field {
	var out []Field
	for _, f := range r.Fields {
		if f.Searchable() {
			out = append(out, f)
		}
	}
	return out
}

// Where reports whether the list query has a WHERE clause to build.
func (r resource) Where() bool { return !r.Public || len(r.Search()) > 0 }

// SearchSQL is the search condition, one placeholder per searched field.
func (r resource) SearchSQL() string {
	var parts []string
	for _, f := range r.Search() {
		parts = append(parts, "lower("+f.Column()+`) LIKE ? ESCAPE '\'`)
	}
	return strings.Join(parts, " OR ")
}

// SearchList names the searched fields for a comment.
func (r resource) SearchList() string {
	var names []string
	for _, f := range r.Search() {
		names = append(names, f.Column())
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// Placeholders are the INSERT's placeholders.
func (r resource) Placeholders() string {
	return strings.TrimSuffix(strings.Repeat("?, ", len(r.Fields)+3), ", ")
}

// Shown is the markup of field f's value on the record's page.
func (r resource) Shown(f Field, changed bool) string {
	return fmt.Sprintf(`<dd id="%s-%s">%s</dd>`, r.R.Kebab(), f.Name.Kebab(), htmlEscape(f.Shown(changed)))
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(s)
}

// invalidCase is one row of the generated validation test.
type invalidCase struct {
	Field, Value, Message, Kept string
}

// Invalid is the validation test table: one invalid value per field, and
// the markup of another field's value that must be kept.
func (r resource) Invalid() []invalidCase {
	var out []invalidCase
	for _, f := range r.Fields {
		c := invalidCase{Field: f.Column()}
		c.Value, c.Message = f.Invalid()
		for _, g := range r.Fields {
			if g.Column() != f.Column() && g.Kept() != "" {
				c.Kept = g.Kept()
				break
			}
		}
		out = append(out, c)
	}
	return out
}

// Unchanged is what the record's page shows after a failed update of
// the first field: the second field's changed value ("" with one field).
func (r resource) Unchanged() string {
	if len(r.Fields) < 2 {
		return ""
	}
	return r.Shown(r.Fields[1], true)
}

// HasKept reports whether any field's value shows in a form's markup
// (checkboxes do not).
func (r resource) HasKept() bool {
	for _, f := range r.Fields {
		if f.Kept() != "" {
			return true
		}
	}
	return false
}

// FirstInvalid is the validation case of the first field.
func (r resource) FirstInvalid() invalidCase { return r.Invalid()[0] }

// ScaffoldOptions are the scaffold's options.
type ScaffoldOptions struct {
	Options
	// Public makes the list and the records readable without signing in.
	Public bool
}

// Scaffold writes a resource: migrations for SQLite and PostgreSQL,
// NAME.go (form, handlers, data access) and NAME_test.go in package main,
// views/NAME.templ with its Go and views/NAME.go, and registers the routes
// and a nav link. name is singular (Product, line_item); specs are fields
// such as "name:string".
func Scaffold(o ScaffoldOptions, name string, specs []string) (*Result, error) {
	n, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	if err := checkResource(n); err != nil {
		return nil, err
	}
	fields, err := ParseFields(specs)
	if err != nil {
		return nil, err
	}
	dir := o.dir()
	module, err := modulePath(dir)
	if err != nil {
		return nil, err
	}
	r := resource{Module: module, R: n, P: n.Plural(), Fields: fields, Public: o.Public, PerPage: PerPage}
	p := &plan{dir: dir, force: o.Force}
	base := fileBase(n)
	for _, t := range []struct{ tmpl, path string }{
		{"resource.go.tmpl", base + ".go"},
		{"resource_test.go.tmpl", base + "_test.go"},
		{"views.go.tmpl", "views/" + base + ".go"},
		{"views.templ.tmpl", "views/" + base + ".templ"},
	} {
		b, err := render(t.tmpl, r)
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(t.path, ".templ") {
			p.add(t.path, b)
			continue
		}
		templSrc, goSrc, err := Templ(t.path, b)
		if err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
		p.add(t.path, templSrc)
		p.add(strings.TrimSuffix(t.path, ".templ")+"_templ.go", goSrc)
	}
	if err := addMigration(p, "create_"+r.Table(), map[string]string{
		"sqlite": createTable(r, "sqlite"), "postgres": createTable(r, "postgres"),
	}); err != nil {
		return nil, err
	}
	if err := p.insert("routes.go", "// trellis:routes", "register"+r.P.Go()+"(app)", "inside func routes"); err != nil {
		return nil, err
	}
	link := fmt.Sprintf("{Label: %q, Href: %q},", r.P.Label(), r.Path())
	if err := p.insert("views/nav.go", "// trellis:nav", link, "as the last line of the Nav list"); err != nil {
		return nil, err
	}
	return p.write()
}

// createTable is the migration that creates r's table on dialect.
func createTable(r resource, dialect string) string {
	type col struct{ name, def string }
	id, ref := "INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER"
	stamp := "TIMESTAMP NOT NULL"
	if dialect == "postgres" {
		id, ref, stamp = "BIGSERIAL PRIMARY KEY", "BIGINT", "TIMESTAMPTZ NOT NULL"
	}
	cols := []col{{"id", id}, {"user_id", ref + " NOT NULL REFERENCES users (id) ON DELETE CASCADE"}}
	for _, f := range r.Fields {
		cols = append(cols, col{f.Column(), f.SQLType(dialect)})
	}
	cols = append(cols, col{"created_at", stamp}, col{"updated_at", stamp})
	width := 0
	for _, c := range cols {
		width = max(width, len(c.name))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- +goose Up\nCREATE TABLE %s (\n", r.Table())
	for i, c := range cols {
		sep := ","
		if i == len(cols)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "    %-*s %s%s\n", width, c.name, c.def, sep)
	}
	fmt.Fprintf(&b, ");\nCREATE INDEX %s_user ON %s (user_id, id);\n\n-- +goose Down\nDROP TABLE %s;\n", r.Table(), r.Table(), r.Table())
	return b.String()
}

// addMigration plans migration name for both dialects, numbered as
// db.CreateMigration numbers them.
func addMigration(p *plan, name string, bodies map[string]string) error {
	dir := filepath.Join(p.dir, "migrations")
	var existing string
	for _, dialect := range []string{"sqlite", "postgres"} {
		matches, err := filepath.Glob(filepath.Join(dir, dialect, "[0-9]*_"+name+".sql"))
		if err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		if len(matches) > 0 {
			existing = filepath.Base(matches[0])
		}
	}
	// An existing migration of the name is rewritten with Force, or
	// listed by write among the files that exist.
	file := existing
	if file == "" {
		next, err := db.NextMigrationVersion(dir)
		if err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		file = fmt.Sprintf("%05d_%s.sql", next, name)
	}
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("generate: no migrations directory in the app: %w", err)
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		p.add("migrations/"+dialect+"/"+file, []byte(bodies[dialect]))
	}
	return nil
}

package generate

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	for _, c := range []struct {
		in                                  string
		goName, goPlural, varName, table    string
		path, label, pluralLabel, kebab, an string
	}{
		{"Product", "Product", "Products", "product", "products", "/products", "Product", "Products", "product", "a"},
		{"product", "Product", "Products", "product", "products", "/products", "Product", "Products", "product", "a"},
		{"LineItem", "LineItem", "LineItems", "lineItem", "line_items", "/line-items", "Line item", "Line items", "line-item", "a"},
		{"line_item", "LineItem", "LineItems", "lineItem", "line_items", "/line-items", "Line item", "Line items", "line-item", "a"},
		{"Category", "Category", "Categories", "category", "categories", "/categories", "Category", "Categories", "category", "a"},
		{"Box", "Box", "Boxes", "box", "boxes", "/boxes", "Box", "Boxes", "box", "a"},
		{"Day", "Day", "Days", "day", "days", "/days", "Day", "Days", "day", "a"},
		{"Status", "Status", "Statuses", "status", "statuses", "/statuses", "Status", "Statuses", "status", "a"},
		{"Event", "Event", "Events", "event", "events", "/events", "Event", "Events", "event", "an"},
		{"HTTPLog", "HttpLog", "HttpLogs", "httpLog", "http_logs", "/http-logs", "Http log", "Http logs", "http-log", "a"},
		{"Item2", "Item2", "Item2s", "item2", "item2s", "/item2s", "Item2", "Item2s", "item2", "an"},
	} {
		n, err := ParseName(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		r := resource{R: n, P: n.Plural()}
		got := []string{n.Go(), r.P.Go(), n.Var(), r.Table(), r.Path(), n.Label(), r.P.Label(), n.Kebab(), n.A()}
		want := []string{c.goName, c.goPlural, c.varName, c.table, c.path, c.label, c.pluralLabel, c.kebab, c.an}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", c.in, got, want)
		}
	}
}

// TestFileBase: files are named for the plural unless Go would read its
// last word as a build constraint.
func TestFileBase(t *testing.T) {
	for in, want := range map[string]string{"Product": "products", "LineItem": "line_items", "Window": "windows",
		"DeliveryWindow": "delivery_window", "shop_io": "shop_io", "RobotArm": "robot_arms"} {
		n, err := ParseName(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := fileBase(n); got != want {
			t.Errorf("%s: files named %q, want %q", in, got, want)
		}
	}
}

func TestBadNames(t *testing.T) {
	for _, in := range []string{"", "1Product", "line-item", "line__item", "item_", "Prod uct", "Products", "User", "users", "Session", "Home", "Layout", "Nav", "Job", "Route", "trellis_thing", "river_job", "Func", "type"} {
		n, err := ParseName(in)
		if err == nil {
			err = checkResource(n)
		}
		if !errors.Is(err, ErrSpec) {
			t.Errorf("%q: err = %v, want a spec error", in, err)
		}
	}
}

func TestParseFields(t *testing.T) {
	fields, err := ParseFields([]string{"name:string", "nickname:string?", "notes:text", "price:int", "score:float", "in_stock:bool", "released:date", "starts_at:datetime"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fields {
		got = append(got, strings.Join([]string{f.Go(), f.GoType(), f.InputType(), f.Tag(), f.SQLType("sqlite"), f.SQLType("postgres")}, " | "))
	}
	want := []string{
		"Name | string | string | `form:\"name\" validate:\"required,max=255\" label:\"Name\"` | TEXT NOT NULL | TEXT NOT NULL",
		"Nickname | string | string | `form:\"nickname\" validate:\"max=255\" label:\"Nickname\"` | TEXT NOT NULL DEFAULT '' | TEXT NOT NULL DEFAULT ''",
		"Notes | string | string | `form:\"notes\" validate:\"max=10000\" label:\"Notes\"` | TEXT NOT NULL DEFAULT '' | TEXT NOT NULL DEFAULT ''",
		"Price | int64 | int64 | `form:\"price\" label:\"Price\"` | INTEGER NOT NULL DEFAULT 0 | BIGINT NOT NULL DEFAULT 0",
		"Score | float64 | float64 | `form:\"score\" label:\"Score\"` | REAL NOT NULL DEFAULT 0 | DOUBLE PRECISION NOT NULL DEFAULT 0",
		"InStock | bool | bool | `form:\"in_stock\" label:\"In stock\"` | BOOLEAN NOT NULL DEFAULT FALSE | BOOLEAN NOT NULL DEFAULT FALSE",
		"Released | time.Time | string | `form:\"released\" validate:\"required,datetime=2006-01-02\" label:\"Released\"` | DATE NOT NULL | DATE NOT NULL",
		"StartsAt | time.Time | string | `form:\"starts_at\" validate:\"required,datetime=2006-01-02T15:04\" label:\"Starts at\"` | TIMESTAMP NOT NULL | TIMESTAMPTZ NOT NULL",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestBadFields(t *testing.T) {
	for _, c := range []struct {
		specs []string
		want  string
	}{
		{nil, "at least one field"},
		{[]string{"name"}, "write name:type"},
		{[]string{"name:varchar"}, `unknown type "varchar"`},
		{[]string{"name:"}, `unknown type ""`},
		{[]string{"price:int?"}, "only string takes ?"},
		{[]string{"Name:string"}, "snake_case"},
		{[]string{"inStock:bool"}, "snake_case"},
		{[]string{"in-stock:bool"}, "snake_case"},
		{[]string{"9lives:int"}, "snake_case"},
		{[]string{"id:int"}, "reserved"},
		{[]string{"user_id:int"}, "reserved"},
		{[]string{"created_at:datetime"}, "reserved"},
		{[]string{"csrf_token:string"}, "reserved"},
		{[]string{"type:string"}, "Go keyword"},
		{[]string{"range:int"}, "Go keyword"},
		{[]string{"order:int"}, "SQL keyword"},
		{[]string{"user:string"}, "SQL keyword"},
		{[]string{"name:string", "price:int", "name:text"}, "given twice"},
	} {
		_, err := ParseFields(c.specs)
		if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want one saying %q", c.specs, err, c.want)
		}
	}
}

// TestRefusalsWriteNothing: a bad name or field, a missing marker or an
// existing file stops the scaffold before any file changes.
func TestRefusalsWriteNothing(t *testing.T) {
	good := []string{"name:string", "price:int"}
	for _, c := range []struct {
		name   string
		prep   func(t *testing.T, dir string)
		res    string
		fields []string
		want   error
		says   string
	}{
		{"bad field", nil, "Product", []string{"name:string", "price:money"}, ErrSpec, `unknown type "money"`},
		{"duplicate field", nil, "Product", []string{"name:string", "name:text"}, ErrSpec, "given twice"},
		{"reserved name", nil, "User", good, ErrSpec, "reserved"},
		{"no routes marker", func(t *testing.T, dir string) { replaceIn(t, dir, "routes.go", "\t// trellis:routes\n", "") }, "Product", good, ErrMarker,
			`routes.go has no "// trellis:routes" line; add it inside func routes`},
		{"no nav marker", func(t *testing.T, dir string) { replaceIn(t, dir, "views/nav.go", "\t// trellis:nav\n", "") }, "Product", good, ErrMarker,
			`views/nav.go has no "// trellis:nav" line`},
		{"existing file", func(t *testing.T, dir string) { writeTestFile(t, dir, "views/products.templ", "mine") }, "Product", good, ErrExists,
			"views/products.templ"},
		{"existing migration", func(t *testing.T, dir string) {
			writeTestFile(t, dir, "migrations/sqlite/00007_create_products.sql", "mine")
		}, "Product", good, ErrExists, "00007_create_products.sql"},
		{"not an app", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "go.mod")) }, "Product", good, nil, "go.mod"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := newSkeleton(t)
			if c.prep != nil {
				c.prep(t, dir)
			}
			before := snapshot(t, dir)
			_, err := Scaffold(ScaffoldOptions{Options: Options{Dir: dir}}, c.res, c.fields)
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("err = %v, want %v saying %q", err, c.want, c.says)
			}
			if after := snapshot(t, dir); !maps.Equal(before, after) {
				t.Errorf("files changed although the scaffold was refused")
			}
		})
	}
}

// TestForce: a second scaffold of the same resource is refused; with
// Force it rewrites the files, reuses the migration's number and does not
// register the routes twice.
func TestForce(t *testing.T) {
	dir := newSkeleton(t)
	o := ScaffoldOptions{Options: Options{Dir: dir}}
	res, err := Scaffold(o, "LineItem", []string{"label:string", "quantity:int"})
	if err != nil {
		t.Fatal(err)
	}
	wantCreated := []string{"line_items.go", "line_items_test.go", "views/line_items.go", "views/line_items.templ", "views/line_items_templ.go",
		"migrations/sqlite/00001_create_line_items.sql", "migrations/postgres/00001_create_line_items.sql"}
	if !slices.Equal(res.Created, wantCreated) || !slices.Equal(res.Updated, []string{"routes.go", "views/nav.go"}) {
		t.Fatalf("result %+v", res)
	}
	before := snapshot(t, dir)
	if _, err := Scaffold(o, "LineItem", []string{"label:string"}); !errors.Is(err, ErrExists) {
		t.Fatalf("second scaffold: %v", err)
	}
	if !maps.Equal(before, snapshot(t, dir)) {
		t.Fatal("a refused scaffold changed files")
	}
	o.Force = true
	if _, err := Scaffold(o, "LineItem", []string{"label:string", "quantity:float"}); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, dir)
	if !strings.Contains(after["views/line_items.go"], "float64") || !strings.Contains(after["migrations/postgres/00001_create_line_items.sql"], "DOUBLE PRECISION") {
		t.Error("--force did not rewrite the files")
	}
	if _, ok := after["migrations/sqlite/00002_create_line_items.sql"]; ok {
		t.Error("--force numbered a second migration")
	}
	if n := strings.Count(after["routes.go"], "registerLineItems(app)"); n != 1 {
		t.Errorf("routes.go registers the resource %d times", n)
	}
	if n := strings.Count(after["views/nav.go"], `{Label: "Line items", Href: "/line-items"},`); n != 1 {
		t.Errorf("nav.go links the resource %d times", n)
	}
	// The next resource's migration comes after.
	if _, err := Scaffold(ScaffoldOptions{Options: Options{Dir: dir}}, "Event", []string{"title:string"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "migrations/postgres/00002_create_events.sql")); err != nil {
		t.Error(err)
	}
}

// TestGeneratedViewsMatchTempl: the .templ is formatted and the _templ.go
// is what templ generate writes for it, so neither tool changes them.
func TestGeneratedViewsMatchTempl(t *testing.T) {
	dir := newSkeleton(t)
	if _, err := Scaffold(ScaffoldOptions{Options: Options{Dir: dir}}, "Product", []string{"name:string", "in_stock:bool"}); err != nil {
		t.Fatal(err)
	}
	files := snapshot(t, dir)
	formatted, out, err := Templ("views/products.templ", []byte(files["views/products.templ"]))
	if err != nil {
		t.Fatal(err)
	}
	if string(formatted) != files["views/products.templ"] {
		t.Errorf("views/products.templ is not formatted as templ fmt formats it")
	}
	if string(out) != files["views/products_templ.go"] || !strings.HasPrefix(string(out), "// Code generated by templ - DO NOT EDIT.\n\n// templ: version: v") {
		t.Errorf("views/products_templ.go differs from templ's output")
	}
}

func TestJobAndMigration(t *testing.T) {
	dir := newSkeleton(t)
	res, err := Job(Options{Dir: dir}, "send_report")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Created, []string{"send_report_job.go", "send_report_job_test.go"}) || !slices.Equal(res.Updated, []string{"app.go"}) {
		t.Fatalf("result %+v", res)
	}
	files := snapshot(t, dir)
	if !strings.Contains(files["app.go"], "\tregisterSendReportJob(app)\n\t// trellis:jobs\n") ||
		!strings.Contains(files["send_report_job.go"], `func (SendReportArgs) Kind() string { return "send_report" }`) {
		t.Errorf("job not registered:\n%s", files["app.go"])
	}
	if _, err := Job(Options{Dir: dir}, "SendReport"); !errors.Is(err, ErrExists) {
		t.Errorf("second job: %v", err)
	}
	replaceIn(t, dir, "app.go", "\t// trellis:jobs\n", "")
	before := snapshot(t, dir)
	if _, err := Job(Options{Dir: dir}, "Cleanup"); !errors.Is(err, ErrMarker) || !strings.Contains(err.Error(), `app.go has no "// trellis:jobs" line`) {
		t.Errorf("job without marker: %v", err)
	}
	if !maps.Equal(before, snapshot(t, dir)) {
		t.Error("a refused job changed files")
	}

	res, err = Migration(Options{Dir: dir}, "add_index")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Created, []string{"migrations/sqlite/00001_add_index.sql", "migrations/postgres/00001_add_index.sql"}) {
		t.Errorf("migration: %+v", res)
	}
	if _, err := Migration(Options{Dir: dir}, "Add-Index"); !errors.Is(err, ErrSpec) {
		t.Errorf("bad migration name: %v", err)
	}
}

func replaceIn(t *testing.T, dir, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, path))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	writeTestFile(t, dir, path, strings.Replace(string(b), old, new, 1))
}

func writeTestFile(t *testing.T, dir, path, content string) {
	t.Helper()
	if err := writeFile(filepath.Join(dir, filepath.FromSlash(path)), []byte(content)); err != nil {
		t.Fatal(err)
	}
}

// TestFailedWriteUndoes: when one file cannot be written, the files
// written before it are removed or restored.
func TestFailedWriteUndoes(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, dir, "routes.go", "package main\n\nfunc routes() {\n\t// trellis:routes\n}\n")
	writeTestFile(t, dir, "blocked", "a file where a directory is needed")
	before := snapshot(t, dir)
	p := &plan{dir: dir}
	p.add("new.go", []byte("package main\n"))
	if err := p.insert("routes.go", "// trellis:routes", "registerThings(app)", "anywhere"); err != nil {
		t.Fatal(err)
	}
	p.add("blocked/file.go", []byte("package blocked\n"))
	if _, err := p.write(); err == nil || !strings.Contains(err.Error(), "nothing was kept") {
		t.Fatalf("err = %v", err)
	}
	if after := snapshot(t, dir); !maps.Equal(before, after) {
		t.Errorf("files left behind: %v", slices.Sorted(maps.Keys(after)))
	}
}

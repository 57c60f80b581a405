package generate

import (
	"fmt"
	"go/token"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Type is a field type of the scaffold.
type Type string

// Field types. A string is required and at most 255 characters ("string?"
// makes it optional); text is optional, up to 10000 characters; int and
// float are optional and default to 0; bool is a checkbox; date and
// datetime are required (datetime is a UTC date and time to the minute).
const (
	String   Type = "string"
	Text     Type = "text"
	Int      Type = "int"
	Float    Type = "float"
	Bool     Type = "bool"
	Date     Type = "date"
	DateTime Type = "datetime"
)

var types = []Type{String, Text, Int, Float, Bool, Date, DateTime}

// Field is one column of a scaffolded resource.
type Field struct {
	Name     Name
	Type     Type
	Optional bool // "string?"
}

var fieldRE = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// reservedFields are columns every scaffold has, or form fields the
// framework uses.
var reservedFields = map[string]bool{
	"id": true, "user_id": true, "created_at": true, "updated_at": true,
	"csrf_token": true, "q": true, "page": true,
}

// sqlKeywords are words SQLite or PostgreSQL reserve: a column named so
// would need quoting everywhere.
var sqlKeywords = map[string]bool{}

func init() {
	for w := range strings.FieldsSeq(`all analyse analyze and any array as asc asymmetric authorization
		between binary both case cast check collate column constraint create cross current_date
		current_time current_timestamp current_user default deferrable delete desc distinct do drop
		else end escape except exists false fetch for foreign from full grant group having ilike in
		index initially inner insert intersect into is isnull join key lateral leading left like limit
		localtime localtimestamp natural not notnull null offset on only or order outer overlaps
		placing primary references returning right select session_user set similar some symmetric
		table then to trailing true union unique update user using values variadic verbose when
		where window with`) {
		sqlKeywords[w] = true
	}
}

// ParseFields parses field specs such as "name:string", "price:int" and
// "nickname:string?".
func ParseFields(specs []string) ([]Field, error) {
	if len(specs) == 0 {
		return nil, specError("give at least one field, like name:string")
	}
	seen := map[string]bool{}
	var out []Field
	for _, spec := range specs {
		name, typ, ok := strings.Cut(spec, ":")
		if !ok {
			return nil, specError("field %q: write name:type, like price:int (types: %s)", spec, typeList())
		}
		f := Field{Type: Type(strings.TrimSuffix(typ, "?")), Optional: strings.HasSuffix(typ, "?")}
		if !validType(f.Type) {
			return nil, specError("field %q: unknown type %q (types: %s)", spec, typ, typeList())
		}
		if f.Optional && f.Type != String {
			return nil, specError("field %q: only string takes ? (text, int, float and bool are optional already; date and datetime are required)", spec)
		}
		switch {
		case !fieldRE.MatchString(name):
			return nil, specError("field %q: name fields in snake_case: lower-case letters, digits and single underscores, starting with a letter", spec)
		case reservedFields[name]:
			return nil, specError("field %q: %s is reserved (every scaffold has id, user_id, created_at and updated_at; q, page and csrf_token are request parameters)", spec, name)
		case token.IsKeyword(name):
			return nil, specError("field %q: %s is a Go keyword", spec, name)
		case sqlKeywords[name]:
			return nil, specError("field %q: %s is an SQL keyword", spec, name)
		case seen[name]:
			return nil, specError("field %q: %s is given twice", spec, name)
		}
		seen[name] = true
		f.Name, _ = ParseName(name) // the regexp above admits only valid names
		out = append(out, f)
	}
	return out, nil
}

func validType(t Type) bool {
	for _, k := range types {
		if t == k {
			return true
		}
	}
	return false
}

func typeList() string {
	s := make([]string, len(types))
	for i, t := range types {
		s[i] = string(t)
	}
	return strings.Join(s, ", ") + "; string? for an optional string"
}

// Column is the field's column name.
func (f Field) Column() string { return f.Name.Snake() }

// Go is the struct field name.
func (f Field) Go() string { return f.Name.Go() }

// Label is the field's label in forms and messages.
func (f Field) Label() string { return f.Name.Label() }

// Required reports whether the form insists on a value.
func (f Field) Required() bool {
	return (f.Type == String && !f.Optional) || f.Type == Date || f.Type == DateTime
}

// Searchable reports whether ?q= searches the field.
func (f Field) Searchable() bool { return f.Type == String || f.Type == Text }

// GoType is the field's type in the record struct.
func (f Field) GoType() string {
	switch f.Type {
	case Int:
		return "int64"
	case Float:
		return "float64"
	case Bool:
		return "bool"
	case Date, DateTime:
		return "time.Time"
	}
	return "string"
}

// InputType is the field's type in the form struct: dates are decoded
// from the browser's format as strings and parsed after validation.
func (f Field) InputType() string {
	if f.IsTime() {
		return "string"
	}
	return f.GoType()
}

// IsTime reports whether the field is a date or datetime.
func (f Field) IsTime() bool { return f.Type == Date || f.Type == DateTime }

// Layout is the Go time layout of the browser's date or datetime-local
// input value.
func (f Field) Layout() string {
	if f.Type == Date {
		return "2006-01-02"
	}
	return "2006-01-02T15:04"
}

// LayoutExpr is Layout as Go source.
func (f Field) LayoutExpr() string {
	if f.Type == Date {
		return "time.DateOnly"
	}
	return strconv.Quote(f.Layout())
}

// Tag is the form struct field's tag.
func (f Field) Tag() string {
	var rules []string
	if f.Required() {
		rules = append(rules, "required")
	}
	switch f.Type {
	case String:
		rules = append(rules, "max=255")
	case Text:
		rules = append(rules, "max=10000")
	case Date, DateTime:
		rules = append(rules, "datetime="+f.Layout())
	}
	tag := fmt.Sprintf(`form:"%s"`, f.Column())
	if len(rules) > 0 {
		tag += fmt.Sprintf(` validate:"%s"`, strings.Join(rules, ","))
	}
	return "`" + tag + fmt.Sprintf(` label:"%s"`, f.Label()) + "`"
}

// SQLType is the column type on dialect ("sqlite" or "postgres").
func (f Field) SQLType(dialect string) string {
	pg := dialect == "postgres"
	switch f.Type {
	case Int:
		if pg {
			return "BIGINT NOT NULL DEFAULT 0"
		}
		return "INTEGER NOT NULL DEFAULT 0"
	case Float:
		if pg {
			return "DOUBLE PRECISION NOT NULL DEFAULT 0"
		}
		return "REAL NOT NULL DEFAULT 0"
	case Bool:
		return "BOOLEAN NOT NULL DEFAULT FALSE"
	case Date:
		return "DATE NOT NULL"
	case DateTime:
		if pg {
			return "TIMESTAMPTZ NOT NULL"
		}
		return "TIMESTAMP NOT NULL"
	}
	if f.Required() {
		return "TEXT NOT NULL"
	}
	return "TEXT NOT NULL DEFAULT ''"
}

// Component is the templ call that renders the field's input.
func (f Field) Component() string {
	attrs := fmt.Sprintf(`Name: %q, Label: %q`, f.Column(), f.Label())
	if f.Required() {
		attrs += ", Required: true"
	}
	switch f.Type {
	case Text:
		return fmt.Sprintf("@form.Textarea(f, form.Field{%s, Rows: 6, MaxLength: 10000})", attrs)
	case Bool:
		return fmt.Sprintf("@form.Checkbox(f, form.Field{%s})", attrs)
	case Int:
		attrs += `, Type: "number", Step: "1"`
	case Float:
		attrs += `, Type: "number", Step: "any"`
	case Date:
		attrs += `, Type: "date"`
	case DateTime:
		attrs += `, Type: "datetime-local", Help: "In UTC."`
	case String:
		attrs += ", MaxLength: 255"
	}
	return fmt.Sprintf("@form.Input(f, form.Field{%s})", attrs)
}

// Show is templ markup showing the field of the record in variable v.
func (f Field) Show(v string) string {
	x := v + "." + f.Go()
	switch f.Type {
	case Int:
		return "{ strconv.FormatInt(" + x + ", 10) }"
	case Float:
		return "{ strconv.FormatFloat(" + x + ", 'f', -1, 64) }"
	case Bool:
		return "if " + x + " {\n\tYes\n} else {\n\tNo\n}"
	case Date:
		return `{ ` + x + `.Format("2 Jan 2006") }`
	case DateTime:
		return `{ ` + x + `.UTC().Format("2 Jan 2006 15:04") }`
	}
	return "{ " + x + " }"
}

// FormValue is Go source formatting the record's field (in variable v)
// as the form's value, for the edit page; "" for bool (a checkbox is
// set only when true).
func (f Field) FormValue(v string) string {
	x := v + "." + f.Go()
	switch f.Type {
	case Int:
		return "strconv.FormatInt(" + x + ", 10)"
	case Float:
		return "strconv.FormatFloat(" + x + ", 'f', -1, 64)"
	case Bool:
		return ""
	case Date:
		return x + ".Format(" + f.LayoutExpr() + ")"
	case DateTime:
		return x + ".UTC().Format(" + f.LayoutExpr() + ")"
	}
	return x
}

// Test data for the generated tests: a valid value, a changed one, how
// each shows on the record's page, and an invalid value with its message.

// Sample is a valid form value; changed picks a second one. An empty
// value for bool means unchecked.
func (f Field) Sample(changed bool) string {
	pick := func(a, b string) string {
		if changed {
			return b
		}
		return a
	}
	switch f.Type {
	case Int:
		return pick("42", "7")
	case Float:
		return pick("2.5", "0.25")
	case Bool:
		return pick("on", "")
	case Date:
		return pick("2024-02-29", "2023-01-31")
	case DateTime:
		return pick("2024-02-29T13:45", "2023-01-31T08:05")
	}
	return pick("Example ", "Changed ") + f.Name.Lower()
}

// Shown is how Sample(changed) shows on the record's page.
func (f Field) Shown(changed bool) string {
	v := f.Sample(changed)
	switch f.Type {
	case Bool:
		if v == "" {
			return "No"
		}
		return "Yes"
	case Date:
		t, _ := time.Parse(f.Layout(), v)
		return t.Format("2 Jan 2006")
	case DateTime:
		t, _ := time.Parse(f.Layout(), v)
		return t.Format("2 Jan 2006 15:04")
	}
	return v
}

// Kept is the markup that shows Sample(false) was kept in a re-rendered
// form, or "" for a checkbox.
func (f Field) Kept() string {
	switch f.Type {
	case Bool:
		return ""
	case Text:
		return ">" + f.Sample(false) + "</textarea>"
	}
	return `value="` + f.Sample(false) + `"`
}

// Invalid is Go source for an invalid form value, and the message the
// form shows for it.
func (f Field) Invalid() (expr, message string) {
	l := f.Label()
	switch {
	case f.Type == String && f.Required():
		return `""`, l + " is required."
	case f.Type == String:
		return `strings.Repeat("x", 256)`, l + " must be at most 255 characters."
	case f.Type == Text:
		return `strings.Repeat("x", 10001)`, l + " must be at most 10000 characters."
	case f.Type == Int:
		return `"many"`, l + " must be a whole number."
	case f.Type == Float:
		return `"NaN"`, l + " must be a number."
	case f.Type == Bool:
		return `"maybe"`, l + " must be checked or unchecked."
	}
	return `"someday"`, l + " must be a date in the form " + f.Layout() + "."
}

package form

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// field describes one form field of a struct.
type field struct {
	name    string // namespace: "title", "address.city", "items.name"
	label   string
	kind    reflect.Kind
	isTime  bool
	secret  bool
	message string // replaces every validation message
	order   int
}

// fields describes a struct type's fields in declaration order.
type fields []field

var indexRE = regexp.MustCompile(`\[[^\]]*\]`)

// byName finds a field by namespace, ignoring slice and map indexes.
func (fs fields) byName(name string) field {
	base := indexRE.ReplaceAllString(name, "")
	for _, f := range fs {
		if f.name == base {
			return f
		}
	}
	return field{name: name, label: humanize(base), order: len(fs)}
}

func (fs fields) secret(name string) bool {
	return strings.Contains(strings.ToLower(name), "password") || fs.byName(name).secret
}

// sortErrors orders errors as the fields are declared.
func (fs fields) sortErrors(errs []FieldError) {
	slices.SortStableFunc(errs, func(a, b FieldError) int {
		return fs.byName(a.Field).order - fs.byName(b.Field).order
	})
}

func (fs *Forms) fieldInfo(t reflect.Type) fields {
	if v, ok := fs.fields.Load(t); ok {
		return v.(fields)
	}
	var out fields
	collect(t, "", &out)
	fs.fields.Store(t, out)
	return out
}

func collect(t reflect.Type, prefix string, out *fields) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("form"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		ft := sf.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice || ft.Kind() == reflect.Array {
			ft = ft.Elem()
		}
		full := prefix + name
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]() {
			collect(ft, full+".", out)
			continue
		}
		label := sf.Tag.Get("label")
		if label == "" {
			label = humanize(name)
		}
		*out = append(*out, field{
			name: full, label: label, kind: ft.Kind(), isTime: ft == reflect.TypeFor[time.Time](),
			secret: sf.Tag.Get("secret") == "true", message: sf.Tag.Get("message"), order: len(*out),
		})
	}
}

// humanize turns "password_confirm" or "PasswordConfirm" into
// "Password confirm".
func humanize(name string) string {
	var b strings.Builder
	for i, r := range name {
		switch {
		case r == '_' || r == '-' || r == '.':
			b.WriteRune(' ')
		case unicode.IsUpper(r) && i > 0:
			b.WriteRune(' ')
			b.WriteRune(unicode.ToLower(r))
		case i == 0:
			b.WriteRune(unicode.ToUpper(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// typeMessage explains a value that could not be converted to the field's
// type.
func (f field) typeMessage() string {
	switch {
	case f.isTime:
		return f.label + " must be a date."
	case f.kind >= reflect.Int && f.kind <= reflect.Uint64:
		return f.label + " must be a whole number."
	case f.kind == reflect.Float32 || f.kind == reflect.Float64:
		return f.label + " must be a number."
	case f.kind == reflect.Bool:
		return f.label + " must be checked or unchecked."
	}
	return f.label + " is not valid."
}

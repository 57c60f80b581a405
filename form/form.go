// Package form decodes requests into typed structs, validates them and
// renders forms with their errors.
//
// A form struct names its fields with `form` tags, validates them with
// go-playground/validator `validate` tags, and may give a `label` (for
// messages) and a `message` (replacing every validation message of that
// field):
//
//	type NoteInput struct {
//		Title string `form:"title" validate:"required,max=120" label:"Title"`
//		Body  string `form:"body" validate:"max=10000"`
//		Done  bool   `form:"done"`
//	}
//
// A handler binds it in one call; on invalid input Bind has already
// answered 422 with the form re-rendered (the fragment for htmx, the page
// for browsers), and on malformed input 400:
//
//	var in NoteInput
//	f, ok := app.Forms.Bind(w, r, &in, func(f *form.Form) render.View { … })
//	if !ok {
//		return
//	}
//
// Strings are trimmed of surrounding white space, except secrets.
// Checkboxes decode "on", "true", "1" and "yes" as true and absence as
// false. An empty value leaves a number at zero and a pointer nil, so
// `required` tells empty from missing where it matters. Values are kept
// for re-rendering, except passwords: fields named like "password" or
// tagged `secret:"true"` are never echoed.
package form

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"

	playform "github.com/go-playground/form/v4"
	"github.com/go-playground/validator/v10"
	"github.com/trellis-go/trellis/render"
)

// FieldError is a message tied to one field.
type FieldError struct {
	Field   string
	Message string
}

// Form is a submitted form: its values (for re-rendering) and errors.
type Form struct {
	// Values holds what was submitted, without secret fields.
	Values url.Values
	// Errors holds field errors, ordered as the struct's fields.
	Errors []FieldError
	// FormErrors are messages about the whole form.
	FormErrors []string
}

// NewForm returns an empty form, for rendering a blank page; values may
// pre-fill it.
func NewForm(values url.Values) *Form {
	if values == nil {
		values = url.Values{}
	}
	return &Form{Values: values}
}

// Value returns the submitted value of a field ("" for secret fields).
func (f *Form) Value(name string) string {
	if f == nil {
		return ""
	}
	return f.Values.Get(name)
}

// Has reports whether name was submitted with value (checkboxes, radios,
// multi-selects).
func (f *Form) Has(name, value string) bool {
	return f != nil && slices.Contains(f.Values[name], value)
}

// Error returns the first error message of a field, or "".
func (f *Form) Error(name string) string {
	if f == nil {
		return ""
	}
	for _, e := range f.Errors {
		if e.Field == name {
			return e.Message
		}
	}
	return ""
}

// Valid reports whether the form has no errors.
func (f *Form) Valid() bool { return f == nil || (len(f.Errors) == 0 && len(f.FormErrors) == 0) }

// AddError adds a field error, for checks done after validation (a taken
// email, say).
func (f *Form) AddError(field, message string) {
	f.Errors = append(f.Errors, FieldError{Field: field, Message: message})
}

// AddFormError adds an error about the whole form.
func (f *Form) AddFormError(message string) { f.FormErrors = append(f.FormErrors, message) }

// MessageFunc writes the message for a failed validation rule; label is
// the field's label and param the rule's parameter ("120" for max=120).
type MessageFunc func(label, param string, kind reflect.Kind) string

// Forms decodes and validates requests. It is safe for concurrent use;
// register custom messages and validations before serving.
type Forms struct {
	dec      *playform.Decoder
	validate *validator.Validate
	render   *render.Renderer
	messages map[string]MessageFunc
	fields   sync.Map // reflect.Type → []fieldInfo
}

// New returns a Forms that renders with rd.
func New(rd *render.Renderer) *Forms {
	dec := playform.NewDecoder()
	dec.SetTagName("form")
	dec.SetMaxArraySize(1000)
	dec.RegisterCustomTypeFunc(decodeBool, true)
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("form"), ",")
		if name == "-" {
			return ""
		}
		if name == "" {
			return f.Name
		}
		return name
	})
	return &Forms{dec: dec, validate: v, render: rd, messages: defaultMessages()}
}

// Validator exposes the validator, for registering custom rules.
func (fs *Forms) Validator() *validator.Validate { return fs.validate }

// SetMessage replaces the message of a validation rule ("required", "max",
// or a custom rule's tag).
func (fs *Forms) SetMessage(tag string, fn MessageFunc) { fs.messages[tag] = fn }

// ErrMalformed is returned by Decode for a body that could not be read.
var ErrMalformed = errors.New("form: malformed form data")

// decode runs the form decoder, which panics on some malformed keys (such
// as "tags[" or "[ags" for a slice or map field): those are malformed input,
// not server errors.
func (fs *Forms) decode(dst any, values url.Values) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrMalformed, p)
		}
	}()
	return fs.dec.Decode(dst, values)
}

// Decode parses r's form (query string for GET, body otherwise) into dst,
// a pointer to a struct, and validates it. The Form it returns holds the
// submitted values and any field errors. The error is non-nil only when
// the body could not be read (*http.MaxBytesError for an oversized body,
// ErrMalformed otherwise): answer 413 or 400.
func (fs *Forms) Decode(r *http.Request, dst any) (*Form, error) {
	values, err := requestValues(r)
	if err != nil {
		return nil, err
	}
	info := fs.fieldInfo(reflect.TypeOf(dst))
	f := &Form{Values: url.Values{}}
	for k, vs := range values {
		if !info.secret(k) {
			f.Values[k] = vs
		}
	}
	err = fs.decode(dst, values)
	// strconv reads "NaN" and "Inf" as floats; no form means them, and
	// databases store them badly (SQLite turns NaN into NULL).
	for _, name := range tidy(reflect.ValueOf(dst), info, "", nil) {
		f.Errors = append(f.Errors, FieldError{Field: name, Message: info.byName(name).typeMessage()})
	}
	if err != nil {
		var de playform.DecodeErrors
		if !errors.As(err, &de) {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		for name := range de {
			fi := info.byName(name)
			f.Errors = append(f.Errors, FieldError{Field: name, Message: fi.typeMessage()})
		}
	}
	if err := fs.validate.Struct(dst); err != nil {
		var ve validator.ValidationErrors
		if !errors.As(err, &ve) {
			return nil, fmt.Errorf("form: validating %T: %w", dst, err)
		}
		for _, fe := range ve {
			name := strings.TrimPrefix(fe.Namespace(), reflect.TypeOf(dst).Elem().Name()+".")
			if f.Error(name) != "" {
				continue // a type error already explains this field
			}
			f.Errors = append(f.Errors, FieldError{Field: name, Message: fs.message(info.byName(name), fe)})
		}
	}
	info.sortErrors(f.Errors)
	return f, nil
}

// tidy removes leading and trailing white space from the string fields of
// v (not from secret ones such as passwords) and appends to nonFinite the
// names of float fields holding NaN or an infinity.
func tidy(v reflect.Value, info fields, prefix string, nonFinite []string) []string {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nonFinite
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nonFinite
	}
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("form"), ",")
		if name == "" {
			name = sf.Name
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Pointer && !fv.IsNil() && (fv.Elem().Kind() == reflect.Float64 || fv.Elem().Kind() == reflect.Float32) {
			fv = fv.Elem()
		}
		switch {
		case fv.Kind() == reflect.String && !info.secret(prefix+name):
			fv.SetString(strings.TrimSpace(fv.String()))
		case fv.Kind() == reflect.Float64 || fv.Kind() == reflect.Float32:
			if x := fv.Float(); math.IsNaN(x) || math.IsInf(x, 0) {
				nonFinite = append(nonFinite, prefix+name)
			}
		case fv.Kind() == reflect.Struct || fv.Kind() == reflect.Pointer:
			nonFinite = tidy(fv, info, prefix+name+".", nonFinite)
		}
	}
	return nonFinite
}

func requestValues(r *http.Request) (url.Values, error) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return r.URL.Query(), nil
	}
	if r.PostForm == nil {
		var err error
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			err = r.ParseMultipartForm(8 << 20)
		} else {
			err = r.ParseForm()
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
	}
	return r.PostForm, nil
}

// Bind decodes and validates r into dst. When the body is malformed it
// answers 400 (413 when too large); when the input is invalid it answers
// 422 with view(form): the View's Partial (the form fragment) for htmx,
// the page otherwise. It returns the form and whether dst is valid.
func (fs *Forms) Bind(w http.ResponseWriter, r *http.Request, dst any, view func(*Form) render.View) (*Form, bool) {
	f, err := fs.Decode(r, dst)
	if err != nil {
		status := http.StatusBadRequest
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			status = http.StatusRequestEntityTooLarge
		}
		fs.render.Error(w, r, &render.Error{Status: status, Message: "The form data could not be read. Reload the page and try again.", Err: err})
		return nil, false
	}
	if !f.Valid() {
		fs.Invalid(w, r, f, view)
		return f, false
	}
	return f, true
}

// Invalid answers 422 with view(f), for errors found after Bind (a unique
// constraint, say).
func (fs *Forms) Invalid(w http.ResponseWriter, r *http.Request, f *Form, view func(*Form) render.View) {
	v := view(f)
	v.Status = http.StatusUnprocessableEntity
	fs.render.View(w, r, v)
}

func decodeBool(vals []string) (any, error) {
	if len(vals) == 0 {
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(vals[len(vals)-1])) {
	case "on", "true", "1", "yes", "checked":
		return true, nil
	case "", "off", "false", "0", "no":
		return false, nil
	}
	return nil, errors.New("not a boolean")
}

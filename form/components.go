package form

import (
	"net/http"
	"strings"

	"github.com/a-h/templ"
)

// Field describes an input for the components.
type Field struct {
	// Name is the form field name; it must match the struct's form tag.
	Name string
	// Label is shown above the input.
	Label string
	// Type is the input type for Input ("text", "email", "password",
	// "number", "date", …); default "text".
	Type string
	// Help is shown under the input and tied to it for screen readers.
	Help         string
	Placeholder  string
	Autocomplete string
	Required     bool
	// Min, Max and Step bound number and date inputs.
	Min, Max, Step string
	// MaxLength limits text inputs and textareas (characters).
	MaxLength int
	// Rows sizes a textarea.
	Rows int
	// Options are the choices of a select or radio group.
	Options []Option
	// Attrs adds attributes to the input (hx-*, accept, …).
	Attrs templ.Attributes
}

// Option is one choice of a select or radio group.
type Option struct {
	Value string
	Label string
}

// Tag describes a form element for Element.
type Tag struct {
	// ID of the form; htmx swaps it in place by this id.
	ID string
	// Action is the URL; Method is GET, POST, PUT, PATCH or DELETE (PUT,
	// PATCH and DELETE post with a _method field for browsers without
	// JavaScript).
	Action string
	Method string
	// HTMX makes htmx submit the form and swap the response in its place
	// (the 422 re-render), with the submit button disabled in flight.
	HTMX bool
	// Multipart sets enctype for file uploads.
	Multipart bool
	// Attrs adds attributes (hx-target, hx-confirm, …).
	Attrs templ.Attributes
}

func (t Tag) method() string {
	if t.Method == "" {
		return http.MethodPost
	}
	return strings.ToUpper(t.Method)
}

// htmlMethod is the method browsers can send: get or post.
func (t Tag) htmlMethod() string {
	if t.method() == http.MethodGet {
		return "get"
	}
	return "post"
}

// override is the _method value for PUT, PATCH and DELETE, or "".
func (t Tag) override() string {
	switch m := t.method(); m {
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		return m
	}
	return ""
}

func (t Tag) attrs() templ.Attributes {
	a := templ.Attributes{}
	if t.HTMX {
		a["hx-"+strings.ToLower(t.method())] = t.Action
		a["hx-target"] = "this"
		a["hx-swap"] = "outerHTML"
		a["hx-disabled-elt"] = "find button[type=submit]"
	}
	if t.Multipart {
		a["enctype"] = "multipart/form-data"
	}
	for k, v := range t.Attrs {
		a[k] = v
	}
	return a
}

func (fl Field) id() string        { return "field-" + fl.Name }
func (fl Field) errorID() string   { return "field-" + fl.Name + "-error" }
func (fl Field) helpID() string    { return "field-" + fl.Name + "-help" }
func (fl Field) inputType() string { return strings.ToLower(cmp(fl.Type, "text")) }

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// inputAttrs are the attributes every control shares: id, name, the
// error and help ties, required and the caller's extras.
func (fl Field) inputAttrs(f *Form) templ.Attributes {
	a := templ.Attributes{"id": fl.id(), "name": fl.Name}
	var described []string
	if f.Error(fl.Name) != "" {
		a["aria-invalid"] = "true"
		described = append(described, fl.errorID())
	}
	if fl.Help != "" {
		described = append(described, fl.helpID())
	}
	if len(described) > 0 {
		a["aria-describedby"] = strings.Join(described, " ")
	}
	if fl.Required {
		a["required"] = true
	}
	if fl.Placeholder != "" {
		a["placeholder"] = fl.Placeholder
	}
	if fl.Autocomplete != "" {
		a["autocomplete"] = fl.Autocomplete
	}
	if fl.MaxLength > 0 {
		a["maxlength"] = fl.MaxLength
	}
	for k, v := range map[string]string{"min": fl.Min, "max": fl.Max, "step": fl.Step} {
		if v != "" {
			a[k] = v
		}
	}
	for k, v := range fl.Attrs {
		a[k] = v
	}
	return a
}

// valueAttr is the value to echo into an input: never for passwords.
func (fl Field) valueAttr(f *Form) templ.Attributes {
	if fl.inputType() == "password" || fl.inputType() == "file" {
		return templ.Attributes{}
	}
	return templ.Attributes{"value": f.Value(fl.Name)}
}

func checked(f *Form, name string) bool {
	switch strings.ToLower(f.Value(name)) {
	case "on", "true", "1", "yes", "checked":
		return true
	}
	return false
}

func rows(fl Field) int {
	if fl.Rows > 0 {
		return fl.Rows
	}
	return 6
}

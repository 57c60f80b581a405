package form

import (
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"
)

// message writes the message for one failed rule.
func (fs *Forms) message(f field, fe validator.FieldError) string {
	if f.message != "" {
		return f.message
	}
	if fn, ok := fs.messages[fe.Tag()]; ok {
		return fn(f.label, fe.Param(), fe.Kind())
	}
	return f.label + " is not valid."
}

func isNumber(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Float64
}

func isList(k reflect.Kind) bool {
	return k == reflect.Slice || k == reflect.Array || k == reflect.Map
}

// defaultMessages covers the common validator rules in plain English.
func defaultMessages() map[string]MessageFunc {
	bound := func(more bool) MessageFunc {
		return func(label, param string, k reflect.Kind) string {
			word := "at most"
			if more {
				word = "at least"
			}
			switch {
			case isNumber(k):
				return label + " must be " + word + " " + param + "."
			case isList(k):
				return "Choose " + word + " " + param + " for " + strings.ToLower(label) + "."
			}
			unit := " characters."
			if param == "1" {
				unit = " character."
			}
			return label + " must be " + word + " " + param + unit
		}
	}
	return map[string]MessageFunc{
		"required": func(label, _ string, k reflect.Kind) string {
			if k == reflect.Bool {
				return label + " must be checked."
			}
			if isList(k) {
				return "Choose at least one " + strings.ToLower(label) + "."
			}
			return label + " is required."
		},
		"min": bound(true),
		"max": bound(false),
		"gte": bound(true),
		"lte": bound(false),
		"gt": func(label, param string, _ reflect.Kind) string {
			return label + " must be greater than " + param + "."
		},
		"lt": func(label, param string, _ reflect.Kind) string {
			return label + " must be less than " + param + "."
		},
		"len": func(label, param string, k reflect.Kind) string {
			if isNumber(k) {
				return label + " must be " + param + "."
			}
			return label + " must be exactly " + param + " characters."
		},
		"email": func(string, string, reflect.Kind) string {
			return "Enter a valid email address, like name@example.com."
		},
		"url": func(label, _ string, _ reflect.Kind) string {
			return label + " must be a full web address, like https://example.com."
		},
		"http_url": func(label, _ string, _ reflect.Kind) string {
			return label + " must be a full web address, like https://example.com."
		},
		"oneof": func(label, param string, _ reflect.Kind) string {
			return label + " must be one of: " + strings.Join(strings.Fields(param), ", ") + "."
		},
		"eqfield": func(label, param string, _ reflect.Kind) string {
			return label + " must match " + humanize(param) + "."
		},
		"alphanum": func(label, _ string, _ reflect.Kind) string {
			return label + " may contain only letters and digits."
		},
		"numeric": func(label, _ string, _ reflect.Kind) string {
			return label + " must be a number."
		},
		"datetime": func(label, param string, _ reflect.Kind) string {
			return label + " must be a date in the form " + param + "."
		},
	}
}

package generate

import (
	"errors"
	"fmt"
	"go/token"
	"regexp"
	"strings"
	"unicode"
)

// ErrSpec is wrapped by every error about the command line's names and
// field specs: nothing has been written when it is returned.
var ErrSpec = errors.New("generate")

func specError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSpec}, args...)...)
}

// Name is a resource or job name in every form the generated code needs.
// It is derived from one word or phrase given as CamelCase or snake_case
// ("LineItem", "line_item"), read as singular.
type Name struct {
	Words []string // lower-case words: line, item
}

var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// ParseName splits s into words. It accepts CamelCase and snake_case.
func ParseName(s string) (Name, error) {
	if !nameRE.MatchString(s) || strings.Contains(s, "__") || strings.HasSuffix(s, "_") {
		return Name{}, specError("name %q: use letters and digits, CamelCase or snake_case, starting with a letter (like Product or line_item)", s)
	}
	var words []string
	for part := range strings.SplitSeq(s, "_") {
		words = append(words, splitCamel(part)...)
	}
	return Name{Words: words}, nil
}

// splitCamel splits "LineItem" into line, item and "HTTPServer" into
// http, server; digits stay with the word before them.
func splitCamel(s string) []string {
	rs := []rune(s)
	var words []string
	start := 0
	for i := 1; i < len(rs); i++ {
		lowerBefore := unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])
		acronymEnd := unicode.IsUpper(rs[i-1]) && i+1 < len(rs) && unicode.IsLower(rs[i+1])
		if unicode.IsUpper(rs[i]) && (lowerBefore || acronymEnd) {
			words = append(words, strings.ToLower(string(rs[start:i])))
			start = i
		}
	}
	return append(words, strings.ToLower(string(rs[start:])))
}

// plural returns the English plural of a lower-case word, by the common
// rules (box → boxes, city → cities, product → products).
func plural(w string) string {
	switch {
	case strings.HasSuffix(w, "s"), strings.HasSuffix(w, "x"), strings.HasSuffix(w, "z"),
		strings.HasSuffix(w, "ch"), strings.HasSuffix(w, "sh"):
		return w + "es"
	case len(w) > 1 && strings.HasSuffix(w, "y") && !strings.ContainsRune("aeiou", rune(w[len(w)-2])):
		return w[:len(w)-1] + "ies"
	}
	return w + "s"
}

// Plural is the name with its last word made plural.
func (n Name) Plural() Name {
	ws := append([]string(nil), n.Words...)
	ws[len(ws)-1] = plural(ws[len(ws)-1])
	return Name{Words: ws}
}

// Go is the exported Go identifier: LineItem.
func (n Name) Go() string {
	var b strings.Builder
	for _, w := range n.Words {
		b.WriteString(title(w))
	}
	return b.String()
}

// Var is the unexported Go identifier: lineItem.
func (n Name) Var() string {
	g := n.Go()
	return strings.ToLower(g[:1]) + g[1:]
}

// Snake is line_item: tables, files, job kinds.
func (n Name) Snake() string { return strings.Join(n.Words, "_") }

// Kebab is line-item: URL paths and HTML ids.
func (n Name) Kebab() string { return strings.Join(n.Words, "-") }

// Label is "Line item", for people.
func (n Name) Label() string { return title(strings.Join(n.Words, " ")) }

// Lower is "line item", for use mid-sentence.
func (n Name) Lower() string { return strings.Join(n.Words, " ") }

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// reservedResources would clash with the app skeleton, the framework's
// tables and routes, or the identifiers generated code imports.
var reservedResources = map[string]string{
	"user": "the framework's users table", "account": "the account pages", "admin": "the admin routes",
	"login": "the login page", "logout": "the logout route", "register": "the register page",
	"health": "the health checks", "metric": "the metrics endpoint", "static": "the static files",
	"session": "the sessions", "role": "the role API", "route": "routes.go", "home": "the home page",
	"layout": "views.Layout", "nav": "views.Nav", "nav_link": "views.NavLink", "job": "the jobs package",
	"api_token": "the framework's api_tokens table", "user_role": "the framework's user_roles table",
	"user_device": "the framework's user_devices table", "app": "app.go", "main": "package main",
	"test": "Go test files", "view": "the views package", "migration": "the migrations",
}

// checkResource refuses names that look plural or would clash with what
// is already there.
func checkResource(n Name) error {
	s := n.Snake()
	last := n.Words[len(n.Words)-1]
	if strings.HasSuffix(last, "s") && !strings.HasSuffix(last, "ss") && !strings.HasSuffix(last, "us") && !strings.HasSuffix(last, "is") {
		return specError("resource name %q looks plural: give the singular (the plural is derived from it)", s)
	}
	if why, ok := reservedResources[s]; ok {
		return specError("resource name %q is reserved (it would clash with %s); choose another", s, why)
	}
	if strings.HasPrefix(s, "trellis") || strings.HasPrefix(s, "river") {
		return specError("resource name %q is reserved: trellis_ and river_ tables belong to the framework", s)
	}
	if token.IsKeyword(n.Var()) || token.IsKeyword(n.Plural().Var()) {
		return specError("resource name %q is a Go keyword", s)
	}
	return nil
}

// A is the indefinite article for the name: "a" or "an".
func (n Name) A() string {
	if strings.ContainsRune("aeiou", rune(n.Words[0][0])) {
		return "an"
	}
	return "a"
}

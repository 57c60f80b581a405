package generate

import (
	"bytes"
	"fmt"
	"go/format"

	"github.com/a-h/templ"
	"github.com/a-h/templ/generator"
	"github.com/a-h/templ/parser/v2"
)

// Templ formats templ source as `templ fmt` does (without its optional
// prettier pass) and compiles it to Go, byte for byte what `go tool templ
// generate` writes for the formatted file when run from the module root;
// path is the .templ file's path relative to that root, as templ names it
// in the code.
func Templ(path string, src []byte) (formatted, goSrc []byte, err error) {
	tf, err := parser.ParseString(string(src))
	if err != nil {
		return nil, nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	var b bytes.Buffer
	if err := tf.Write(&b); err != nil {
		return nil, nil, fmt.Errorf("formatting %s: %w", path, err)
	}
	formatted = bytes.Clone(b.Bytes())
	goSrc, err = TemplGo(path, formatted)
	return formatted, goSrc, err
}

// TemplGo compiles templ source to formatted Go, as `go tool templ
// generate` does from the module root; path is the .templ file's path
// relative to that root.
func TemplGo(path string, src []byte) ([]byte, error) {
	tf, err := parser.ParseString(string(src))
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	var b bytes.Buffer
	if _, err := generator.Generate(tf, &b, generator.WithVersion(templ.Version()), generator.WithFileName(path)); err != nil {
		return nil, fmt.Errorf("generating Go for %s: %w", path, err)
	}
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting the Go of %s: %w", path, err)
	}
	return out, nil
}

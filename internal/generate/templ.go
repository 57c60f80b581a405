package generate

import "github.com/trellis-go/trellis/internal/templgen"

// Templ formats templ source as `templ fmt` does and compiles it to Go,
// byte for byte what `go tool templ generate` writes for the formatted file
// when run from the module root; path is the .templ file's path relative to
// that root, as templ names it in the code.
func Templ(path string, src []byte) (formatted, goSrc []byte, err error) {
	if formatted, err = templgen.Format(path, src); err != nil {
		return nil, nil, err
	}
	goSrc, err = templgen.Generate(path, formatted)
	return formatted, goSrc, err
}

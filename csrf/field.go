package csrf

import (
	"context"
	"html"
	"io"

	"github.com/a-h/templ"
)

// Field renders the hidden form input carrying the token, for forms that
// post without htmx (htmx requests send the header instead).
func Field() templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		_, err := io.WriteString(w, `<input type="hidden" name="`+FieldName+`" value="`+html.EscapeString(Token(ctx))+`">`)
		return err
	})
}

package outbox

import (
	"errors"
	"reflect"
	"testing"
)

func TestLinkify(t *testing.T) {
	got := linkify("Reset: https://a.example/r?t=1&u=2. Or javascript:alert(1) or (http://b.example/x), done")
	want := []chunk{
		{text: "Reset: "}, {text: "https://a.example/r?t=1&u=2", link: true},
		{text: ". Or javascript:alert(1) or ("}, {text: "http://b.example/x", link: true}, {text: "), done"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("linkify = %#v", got)
	}
	if got := linkify(""); len(got) != 0 {
		t.Errorf("linkify(\"\") = %#v", got)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Options{}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("no mailer: %v", err)
	}
	if got := (links{"/dev/mail"}).PreviewHTML("a b/c"); got != "/dev/mail/previews/a%20b%2Fc/html" {
		t.Errorf("PreviewHTML = %q", got)
	}
}

package form

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDecodeJSONIsStrict(t *testing.T) {
	type body struct {
		Role string `json:"role"`
	}
	decode := func(s string, limit int64) (body, error) {
		var b body
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(s))
		return b, DecodeJSON(httptest.NewRecorder(), r, &b, limit)
	}
	if b, err := decode(`{"role": "editor"}`, 100); err != nil || b.Role != "editor" {
		t.Fatalf("valid body: %+v %v", b, err)
	}
	for _, s := range []string{
		`{"role":"editor","role":"admin"}`,  // duplicate
		`{"role":"editor","admin":true}`,    // unknown member
		`{"role":"editor"}{"role":"admin"}`, // trailing value
		`{"role":"editor"} x`,               // trailing data
		`{"role":"edi` + "\xff" + `tor"}`,   // invalid UTF-8
		`{"role":7}`,                        // wrong type
		`{"role":"editor"`,                  // cut short
		``,
	} {
		if _, err := decode(s, 100); !errors.Is(err, ErrJSON) {
			t.Errorf("%q: %v, want ErrJSON", s, err)
		}
	}
	var mbe *http.MaxBytesError
	if _, err := decode(`{"role":"`+strings.Repeat("a", 200)+`"}`, 100); !errors.As(err, &mbe) {
		t.Errorf("oversized body: %v, want *http.MaxBytesError", err)
	}
}

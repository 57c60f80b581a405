package auth_test

import (
	"strings"
	"testing"

	"github.com/trellis-go/trellis/auth"
)

// SafeNext keeps paths on this site and turns everything else into "/".
func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"/":                             "/",
		"/account?tab=1#keys":           "/account?tab=1#keys",
		"/a/b":                          "/a/b",
		"":                              "/",
		"account":                       "/",
		"//evil.example":                "/",
		"/\\evil.example":               "/",
		"/a\\b":                         "/",
		"/a\x00b":                       "/",
		"/a\x7fb":                       "/",
		"/a\tb":                         "/",
		"https://evil.example/":         "/",
		"/%zz":                          "/",
		"/" + strings.Repeat("a", 2047): "/" + strings.Repeat("a", 2047),
		"/" + strings.Repeat("a", 2048): "/",
	} {
		if got := auth.SafeNext(next); got != want {
			t.Errorf("SafeNext(%.40q) = %.40q, want %.40q", next, got, want)
		}
	}
}

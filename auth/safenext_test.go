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

func TestValidateEmail(t *testing.T) {
	for email, want := range map[string]string{
		"a@example.com": "",
		"":              "Email is required.",
		strings.Repeat("a", 243) + "@example.com": "Email is too long.",
		strings.Repeat("a", 242) + "@example.com": "",
		"\xff@example.com":                        "Email is too long.",
		"no-at-sign":                              "Enter a valid email address, like name@example.com.",
		"a@localhost":                             "Enter a valid email address, like name@example.com.",
		"Name <a@example.com>":                    "Enter a valid email address, like name@example.com.",
	} {
		if got := auth.ValidateEmail(email); got != want {
			t.Errorf("ValidateEmail(%.30q) = %q, want %q", email, got, want)
		}
	}
}

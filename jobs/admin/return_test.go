package admin_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/trellis-go/trellis/trellistest"
)

// TestReturnFieldIsStrict checks that the "return" field of a dashboard
// action only ever leads back into the dashboard: control characters,
// backslashes, other sites, schemes and dot segments fall back to the
// dashboard instead of reaching the Location header.
func TestReturnFieldIsStrict(t *testing.T) {
	e := newAdminApp(t, "sqlite")
	post := func(ret string) *trellistest.Response {
		return e.PostForm("/admin/jobs/retry-all", url.Values{"return": {ret}}, trellistest.Header("Accept", "text/html"))
	}
	for _, ret := range []string{
		"/admin/jobs?state=dead",
		"/admin/jobs/42",
		"/admin/jobs/",
		"/admin/jobs?state=dead&kind=mail%0A",
	} {
		if res := post(ret); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != ret {
			t.Errorf("return %q: %d to %q, want it kept", ret, res.StatusCode, res.Header.Get("Location"))
		}
	}
	for _, ret := range []string{
		"",
		"/admin/jobs\t",
		"/admin/jobs?state=dead\t",
		"/admin/jobs?state=\vdead",
		"/admin/jobs/\x7f",
		"/admin/jobs/\u0085",
		"/admin/jobs\r\nSet-Cookie: x=1",
		"/admin/jobs/\\evil.example",
		"/\\evil.example/admin/jobs",
		"//evil.example/admin/jobs",
		"https://evil.example/admin/jobs",
		"javascript:alert(1)//admin/jobs",
		"/admin/jobs/../../logout",
		"/admin/jobs/./1",
		"/admin/jobsx",
		"/elsewhere",
		"admin/jobs",
		"/admin/jobs?\xff",
		"/admin/jobs/%zz",
	} {
		res := post(ret)
		if res.StatusCode == http.StatusBadRequest {
			continue // refused outright by the framework's input checks
		}
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/jobs" {
			t.Errorf("return %q: %d to %q, want the dashboard", ret, res.StatusCode, res.Header.Get("Location"))
		}
	}
	// NUL never reaches the handler: the framework answers 400 first.
	if res := post("/admin/jobs\x00"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("NUL in return: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

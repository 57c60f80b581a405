package demo_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/trellis-go/trellis/examples/demo"
	"github.com/trellis-go/trellis/trellistest"
)

// TestPoliciesPagesAndAPIsAgree drives the demo's policies
// (policies/*.cedar) through the whole stack: what a page offers is what
// the routes allow, for the owner, another user, the admin and an
// anonymous visitor.
func TestPoliciesPagesAndAPIsAgree(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, s *trellistest.Server) {
		owner := signedIn(t, s, "owner@example.com")
		other := signedIn(t, s, "other@example.com")
		admin := s.AsNewVisitor()
		admin.SignIn(demo.AdminEmail, adminPassword)
		anon := s.AsNewVisitor()
		loc := createNote(t, owner, "Owned", "owner's words")
		id := noteLink.FindStringSubmatch(loc)[1]
		form := trellistest.Header("Content-Type", "application/x-www-form-urlencoded")

		// The owner's page offers edit and delete; the admin's offers
		// delete only; the other user cannot see the note at all.
		page := owner.Get(loc)
		if page.StatusCode != 200 || !strings.Contains(page.Body, loc+"/edit") || !strings.Contains(page.Body, `id="delete-note-`+id+`"`) {
			t.Fatalf("owner's page: %d, want edit and delete buttons", page.StatusCode)
		}
		page = admin.Get(loc)
		if page.StatusCode != 200 || !strings.Contains(page.Body, "owner&#39;s words") {
			t.Fatalf("admin reading another user's note: %d", page.StatusCode)
		}
		if strings.Contains(page.Body, loc+"/edit") || !strings.Contains(page.Body, `id="delete-note-`+id+`"`) {
			t.Error("admin's page: want a delete button and no edit button")
		}
		for _, r := range []struct{ method, path string }{{"GET", loc}, {"GET", loc + "/edit"}, {"PUT", loc}, {"DELETE", loc}} {
			res := other.Do(r.method, r.path, strings.NewReader("title=hijack"), form)
			if res.StatusCode != 404 || strings.Contains(res.Body, "owner&#39;s words") {
				t.Errorf("other user %s %s: %d, want 404", r.method, r.path, res.StatusCode)
			}
			res = anon.Do(r.method, r.path, strings.NewReader("title=hijack"), form)
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
				t.Errorf("anonymous %s %s: %d %q, want a sign-in redirect", r.method, r.path, res.StatusCode, res.Header.Get("Location"))
			}
		}

		// A hidden note and a missing one get the same answer.
		hidden, missing := other.Get(loc), other.Get("/notes/999999")
		if hidden.StatusCode != 404 || missing.StatusCode != 404 || errorText(hidden.Body) != errorText(missing.Body) {
			t.Errorf("hidden %d %q vs missing %d %q: the answers differ", hidden.StatusCode, errorText(hidden.Body), missing.StatusCode, errorText(missing.Body))
		}

		// The admin may not edit: 403 that says so without policy text,
		// as a page or, for htmx, a fragment in the error region.
		for _, r := range []struct{ method, path string }{{"GET", loc + "/edit"}, {"PUT", loc}} {
			res := admin.Do(r.method, r.path, strings.NewReader("title=moderated"), form)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "not allowed") || !strings.Contains(res.Body, "<html") {
				t.Errorf("admin %s %s: %d %.200s, want a 403 page", r.method, r.path, res.StatusCode, res.Body)
			}
			for _, leak := range []string{"note-owner", "permit", "principal", "cedar"} {
				if strings.Contains(res.Body, leak) {
					t.Errorf("admin %s %s: the 403 page leaks %q", r.method, r.path, leak)
				}
			}
		}
		frag := admin.Do("PUT", loc, strings.NewReader("title=moderated&in=card"), form, trellistest.HTMX("note-card-"+id))
		frag.AssertStatus(http.StatusForbidden).AssertFragment().AssertRetarget("#trellis-error").AssertContains("not allowed")
		if got := owner.Get(loc); !strings.Contains(got.Body, "Owned") {
			t.Error("the admin's refused edit changed the note")
		}

		// The admin may delete another user's note.
		res := admin.Do("DELETE", loc, nil)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/notes" {
			t.Fatalf("admin delete: %d %v", res.StatusCode, res.Header)
		}
		if res := owner.Get(loc); res.StatusCode != 404 {
			t.Errorf("after the admin's delete the owner still sees the note: %d", res.StatusCode)
		}

		// A user cannot delete another user's note (nor learn it exists);
		// the owner can delete their own.
		loc = createNote(t, owner, "Second", "")
		if res := other.Do("DELETE", loc, nil); res.StatusCode != 404 {
			t.Errorf("other user deleting: %d, want 404", res.StatusCode)
		}
		if res := owner.Do("DELETE", loc, nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("owner deleting: %d", res.StatusCode)
		}

		// The admin route sets follow the policies too.
		if res := admin.Get("/admin/jobs/stats", trellistest.Header("Accept", "application/json")); res.StatusCode != 200 {
			t.Errorf("admin jobs API: %d", res.StatusCode)
		}
		if res := owner.Get("/admin/jobs/stats", trellistest.Header("Accept", "application/json")); res.StatusCode != http.StatusForbidden ||
			!strings.Contains(res.Body, "not allowed") {
			t.Errorf("user jobs API: %d %.200s, want 403 JSON", res.StatusCode, res.Body)
		}
		if res := anon.Get("/admin/jobs"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Errorf("anonymous jobs admin: %d, want a sign-in redirect", res.StatusCode)
		}
		if res := admin.Get("/admin/users/1/roles", trellistest.Header("Accept", "application/json")); res.StatusCode != 200 {
			t.Errorf("admin role API: %d %.200s", res.StatusCode, res.Body)
		}
		if res := owner.PostForm("/admin/users/2/roles", url.Values{"role": {"admin"}}, trellistest.Header("Accept", "application/json")); res.StatusCode != http.StatusForbidden {
			t.Errorf("user granting a role: %d, want 403", res.StatusCode)
		}
	})
}

// errorMain is the error page's content, without the request id.
var errorMain = regexp.MustCompile(`(?s)<main.*</main>`)

func errorText(body string) string {
	return regexp.MustCompile(`[0-9a-f]{16,}`).ReplaceAllString(errorMain.FindString(body), "")
}

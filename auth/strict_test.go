package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/trellis-go/trellis/trellistest"
)

// TestRoleAPIDecodesStrictly sends role requests a lenient decoder would
// misread: a duplicated member once granted admin (the last one won).
func TestRoleAPIDecodesStrictly(t *testing.T) {
	ta := trellistest.NewApp(t, nil)
	ta.CreateUser("root@example.com", "root password 1", "admin")
	ta.CreateUser("pat@example.com", "pat password 1")
	pat, err := ta.App.Auth.Users.ByEmail(context.Background(), "pat@example.com")
	if err != nil {
		t.Fatal(err)
	}
	ta.SignIn("root@example.com", "root password 1")
	path := fmt.Sprintf("/admin/users/%d/roles", pat.ID)
	for _, body := range []string{
		`{"role":"editor","role":"admin"}`,
		`{"role":"editor","admin":true}`,
		`{"role":"editor"}{"role":"admin"}`,
		`{"role":"editor"} trailing`,
		`{"role":"admin"` + strings.Repeat(" ", 5000) + `}`,
	} {
		res := ta.Do(http.MethodPost, path, strings.NewReader(body),
			trellistest.Header("Content-Type", "application/json"), trellistest.Header("Accept", "application/json"))
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%.40q: %d %s, want 400", body, res.StatusCode, res.Body)
		}
	}
	roles, err := ta.App.Auth.Users.Roles(context.Background(), pat.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(roles) != 0 {
		t.Errorf("malformed requests granted roles %v", roles)
	}
	ta.Do(http.MethodPost, path, strings.NewReader(`{"role":"editor"}`), trellistest.Header("Content-Type", "application/json")).AssertStatus(http.StatusOK)
}

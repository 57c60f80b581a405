package cli

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/trellistest"
)

const policySchema = `entity User { roles: Set<String>, verified: Bool };
entity Anonymous;
entity Site;
action "jobs.admin", "roles.admin" appliesTo { principal: [User, Anonymous], resource: Site };
`

func TestPoliciesCheck(t *testing.T) {
	s := newStack(t, trellistest.SQLite)
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("schema.cedarschema", policySchema)
	write("admin.cedar", `permit (principal is User, action, resource is Site) when { principal.roles.contains("admin") };`)
	plain := s.build
	s.build = func(ctx context.Context, cfg *config.Config, opts ...trellis.Option) (*trellis.App, error) {
		return plain(ctx, cfg, append(opts, trellis.WithPolicyDir(dir))...)
	}
	contains(t, "policies check", s.ok("", "policies", "check"), `^1 policies valid against the schema\n$`)

	write("admin.cedar", "permit (principal, action, resource);\n\npermit (principal, action == Action::\"jobs.amdin\", resource);")
	s.fails(2, filepath.Join(dir, "admin.cedar")+":3:", "policies", "check")

	s.build = plain
	s.fails(1, "the app has no policies", "policies", "check")
}

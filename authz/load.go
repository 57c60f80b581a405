package authz

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/resolved"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"
	"github.com/trellis-go/trellis/config"
)

// ErrInvalid is wrapped by every error that rejects a set of policy
// files: at start-up (New) and on Reload. Such an error is also a
// configuration error (config.IsConfigError), so an app's command line
// exits with status 2.
var ErrInvalid = errors.New("authz: invalid policies")

// Entity types the framework builds principals of. An app's schema must
// declare both: User with (at least) roles: Set<String> and verified:
// Bool, and Anonymous with no attributes.
const (
	UserType      = "User"
	AnonymousType = "Anonymous"
)

// LoadError lists every problem found in a set of policy files, each with
// its file, line and a fix. It matches ErrInvalid and config.Errors with
// errors.Is and errors.As.
type LoadError struct {
	// Problems are the individual findings, in file order.
	Problems config.Errors
}

// Error lists the problems, one per line.
func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return "invalid policies:\n  " + strings.Join(lines, "\n  ")
}

// Unwrap makes a LoadError match ErrInvalid and config.Errors.
func (e *LoadError) Unwrap() []error { return []error{ErrInvalid, e.Problems} }

// policySet is one validated generation of policies: what decisions use
// until a reload swaps in the next one.
type policySet struct {
	policies  *cedar.PolicySet
	schema    *resolved.Schema
	validator *validate.Validator
	files     int
}

// has reports whether the schema declares action.
func (s *policySet) has(action string) bool {
	_, ok := s.schema.Actions[types.NewEntityUID("Action", types.String(action))]
	return ok
}

// inputPos finds the line and column cedar-go reports for parse errors.
var inputPos = regexp.MustCompile(`<input>:(\d+):(\d+)`)

// load reads every *.cedar file and the one *.cedarschema file in fsys
// and validates the policies against the schema. source names fsys in
// messages ("policies", or a directory path). need lists actions the
// app's guards use: the schema must declare each.
func load(fsys fs.FS, source string, need []string) (*policySet, error) {
	var problems config.Errors
	add := func(file string, line int, problem, fix string) {
		where := path.Join(source, file)
		if line > 0 {
			where += ":" + strconv.Itoa(line)
		}
		problems = append(problems, &config.Error{Source: where, Problem: problem, Fix: fix})
	}
	var policyFiles, schemaFiles []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
		case strings.HasSuffix(p, ".cedar"):
			policyFiles = append(policyFiles, p)
		case strings.HasSuffix(p, ".cedarschema"):
			schemaFiles = append(schemaFiles, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("authz: reading %s: %w", source, err)
	}
	const schemaFix = "keep one schema.cedarschema next to the policies: it declares the entity types (User, Anonymous and the app's resources) and every action"
	switch {
	case len(schemaFiles) == 0:
		add("", 0, "no *.cedarschema file", schemaFix)
	case len(schemaFiles) > 1:
		add("", 0, "more than one schema: "+strings.Join(schemaFiles, ", "), schemaFix)
	}
	if len(policyFiles) == 0 {
		add("", 0, "no *.cedar policy files, so every request would be denied", "add the app's policies as *.cedar files")
	}
	if len(problems) > 0 {
		return nil, &LoadError{Problems: problems}
	}

	set := &policySet{policies: cedar.NewPolicySet(), files: len(policyFiles)}
	text, err := fs.ReadFile(fsys, schemaFiles[0])
	if err != nil {
		return nil, fmt.Errorf("authz: reading %s: %w", path.Join(source, schemaFiles[0]), err)
	}
	var sch schema.Schema
	sch.SetFilename(schemaFiles[0])
	if err := sch.UnmarshalCedar(text); err != nil {
		add(schemaFiles[0], 0, "the schema does not parse: "+err.Error(), "fix the schema's syntax (see the Cedar schema reference)")
		return nil, &LoadError{Problems: problems}
	}
	if set.schema, err = sch.Resolve(); err != nil {
		add(schemaFiles[0], 0, "the schema is inconsistent: "+err.Error(), "declare every entity and common type the schema refers to")
		return nil, &LoadError{Problems: problems}
	}
	set.validator = validate.New(set.schema)
	checkPrincipals(set, func(problem, fix string) { add(schemaFiles[0], 0, problem, fix) })
	for _, uid := range slices.SortedFunc(maps.Keys(set.schema.Actions), func(x, y types.EntityUID) int { return strings.Compare(x.String(), y.String()) }) {
		act := set.schema.Actions[uid]
		if act.AppliesTo == nil || !slices.Contains(act.AppliesTo.Principals, UserType) || !slices.Contains(act.AppliesTo.Principals, AnonymousType) {
			add(schemaFiles[0], 0, fmt.Sprintf("action %q does not apply to both User and Anonymous principals, so some requests would fail instead of being decided", string(uid.ID)),
				"declare it with appliesTo { principal: [User, Anonymous], … }")
		}
	}
	for _, action := range need {
		if !set.has(action) {
			add(schemaFiles[0], 0, fmt.Sprintf("the app guards routes with action %q, which the schema does not declare", action),
				fmt.Sprintf(`declare it: action %q appliesTo { principal: [User, Anonymous], resource: … };`, action))
		}
	}

	slices.Sort(policyFiles)
	seen := map[cedar.PolicyID]string{}
	for _, file := range policyFiles {
		text, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("authz: reading %s: %w", path.Join(source, file), err)
		}
		list, err := cedar.NewPolicyListFromBytes(file, text)
		if err != nil {
			line := 0
			msg := err.Error()
			if m := inputPos.FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
				msg = strings.Replace(msg, m[0], "column "+m[2], 1)
			}
			add(file, line, "the policy does not parse: "+strings.TrimPrefix(msg, "parser error: "), "fix the syntax: permit|forbid (principal, action, resource) when { … };")
			continue
		}
		for _, p := range list {
			pos := p.Position()
			id := cedar.PolicyID(file + ":" + strconv.Itoa(pos.Line))
			if v, ok := p.Annotations()["id"]; ok {
				id = cedar.PolicyID(v)
			}
			if prev, dup := seen[id]; dup {
				add(file, pos.Line, fmt.Sprintf("policy id %q is also used at %s", id, prev), `give every policy its own @id("…")`)
				continue
			}
			seen[id] = file + ":" + strconv.Itoa(pos.Line)
			if err := set.validator.Policy(string(id), (*xast.Policy)(p.AST())); err != nil {
				for _, e := range splitErrors(err) {
					add(file, pos.Line, e, "make the policy agree with the schema: declared entity types, actions and attributes")
				}
				continue
			}
			set.policies.Add(id, p)
		}
	}
	if len(problems) > 0 {
		return nil, &LoadError{Problems: problems}
	}
	return set, nil
}

// checkPrincipals reports a schema whose User or Anonymous entity types
// cannot hold the principals Trellis builds.
func checkPrincipals(set *policySet, add func(problem, fix string)) {
	user := types.Entity{
		UID:        types.NewEntityUID(UserType, "0"),
		Attributes: types.NewRecord(types.RecordMap{"roles": types.NewSet(), "verified": types.False}),
	}
	if err := set.validator.Entity(user); err != nil {
		add("the User entity type cannot hold a signed-in user: "+err.Error(),
			"declare entity User { roles: Set<String>, verified: Bool }; (add the attributes the app's principal hook sets)")
	}
	if err := set.validator.Entity(types.Entity{UID: types.NewEntityUID(AnonymousType, anonymousID)}); err != nil {
		add("the Anonymous entity type cannot hold the anonymous visitor: "+err.Error(), "declare entity Anonymous; with no attributes")
	}
}

// splitErrors turns a validator error into one message per finding.
func splitErrors(err error) []string {
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

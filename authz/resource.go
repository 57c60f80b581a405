package authz

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/cedar-policy/cedar-go/types"
	"github.com/trellis-go/trellis/auth"
)

// ErrNotFound is what a ResourceFunc returns (or wraps) when the resource
// does not exist; the guard answers 404. A *render.Error with status 404
// works too.
var ErrNotFound = errors.New("authz: resource not found")

// errBadEntity marks principals and resources that cannot be turned into
// Cedar entities; decisions on them deny.
var errBadEntity = errors.New("authz: bad entity")

// anonymousID is the id of the one anonymous principal.
const anonymousID = "anonymous"

// Ref names an entity: a resource's owner, a parent, a group. Use it as
// an attribute value.
type Ref struct {
	// Type is the entity type, as the schema declares it ("User", "Note").
	Type string
	// ID identifies the entity within its type.
	ID string
}

// User refers to the user with id, for attributes such as a note's
// owner; policies compare it with the principal (resource.owner ==
// principal).
func User(id int64) Ref { return Ref{Type: UserType, ID: strconv.FormatInt(id, 10)} }

// Resource is what a request acts on, as the app describes it to the
// policies: an entity type declared in the schema, an id, and attributes.
type Resource struct {
	// Type is the entity type ("Note").
	Type string
	// ID identifies the resource ("42").
	ID string
	// Attrs are the attributes policies read (resource.owner). Values may
	// be string, bool, int, int64, Ref, []string or []Ref; anything else
	// makes every decision on the resource deny (and log why).
	Attrs map[string]any
	// Value is the app's own object (the loaded note); the guard passes
	// it to the handler, which reads it with Loaded. Policies never see
	// it.
	Value any
}

// entity converts r to a Cedar entity.
func (r Resource) entity() (types.Entity, error) {
	if r.Type == "" {
		return types.Entity{}, fmt.Errorf("%w: a resource needs a Type", errBadEntity)
	}
	attrs, err := record(r.Attrs)
	if err != nil {
		return types.Entity{}, fmt.Errorf("%w: resource %s::%q: %w", errBadEntity, r.Type, r.ID, err)
	}
	return types.Entity{UID: types.NewEntityUID(types.EntityType(r.Type), types.String(r.ID)), Attributes: attrs}, nil
}

// record converts attributes to a Cedar record.
func record(attrs map[string]any) (types.Record, error) {
	if len(attrs) == 0 {
		return types.Record{}, nil
	}
	m := make(types.RecordMap, len(attrs))
	for k, v := range attrs {
		cv, err := value(v)
		if err != nil {
			return types.Record{}, fmt.Errorf("attribute %q: %w", k, err)
		}
		m[types.String(k)] = cv
	}
	return types.NewRecord(m), nil
}

// value converts one attribute value.
func value(v any) (types.Value, error) {
	switch x := v.(type) {
	case string:
		return types.String(x), nil
	case bool:
		return types.Boolean(x), nil
	case int:
		return types.Long(x), nil
	case int64:
		return types.Long(x), nil
	case Ref:
		if x.Type == "" {
			return nil, errors.New("a Ref needs a Type")
		}
		return types.NewEntityUID(types.EntityType(x.Type), types.String(x.ID)), nil
	case []string:
		vs := make([]types.Value, len(x))
		for i, s := range x {
			vs[i] = types.String(s)
		}
		return types.NewSet(vs...), nil
	case []Ref:
		vs := make([]types.Value, len(x))
		for i, ref := range x {
			cv, err := value(ref)
			if err != nil {
				return nil, err
			}
			vs[i] = cv
		}
		return types.NewSet(vs...), nil
	default:
		return nil, fmt.Errorf("unsupported type %T (use string, bool, int, int64, Ref, []string or []Ref)", v)
	}
}

// PrincipalFunc adds app attributes to a signed-in user's principal, for
// example a team or a plan. The schema must declare them on User. An
// error denies the request.
type PrincipalFunc func(ctx context.Context, u *auth.User) (map[string]any, error)

// principal builds the principal entity for user u: User::"<id>" with
// roles, verified and the app's attributes, or Anonymous::"anonymous".
func (a *Authorizer) principal(ctx context.Context, u *auth.User) (types.Entity, error) {
	if u == nil {
		return types.Entity{UID: types.NewEntityUID(AnonymousType, anonymousID)}, nil
	}
	roles := make([]types.Value, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = types.String(r)
	}
	m := types.RecordMap{
		"roles":    types.NewSet(roles...),
		"verified": types.Boolean(u.EmailVerifiedAt != nil),
	}
	if a.opts.Principal != nil {
		extra, err := a.opts.Principal(ctx, u)
		if err != nil {
			return types.Entity{}, fmt.Errorf("%w: principal attributes for user %d: %w", errBadEntity, u.ID, err)
		}
		for k, v := range extra {
			if k == "roles" || k == "verified" {
				return types.Entity{}, fmt.Errorf("%w: the principal hook may not replace the %q attribute", errBadEntity, k)
			}
			cv, err := value(v)
			if err != nil {
				return types.Entity{}, fmt.Errorf("%w: principal attribute %q: %w", errBadEntity, k, err)
			}
			m[types.String(k)] = cv
		}
	}
	return types.Entity{
		UID:        types.NewEntityUID(UserType, types.String(strconv.FormatInt(u.ID, 10))),
		Attributes: types.NewRecord(m),
	}, nil
}

// principalName is how decision logs name u's principal.
func principalName(u *auth.User) string {
	if u != nil {
		return UserType + "::" + strconv.FormatInt(u.ID, 10)
	}
	return AnonymousType
}

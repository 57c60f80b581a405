package session

import (
	"bytes"
	"context"
	"time"
)

// Backend persists sessions as a set of raw values per token, so that
// concurrent requests of one user can each commit only what they changed.
// Tokens reaching a backend are already hashed. Implementations must be
// safe for concurrent use.
type Backend interface {
	// Load returns the values and expiry of an unexpired session.
	Load(ctx context.Context, token string) (values map[string][]byte, expiry time.Time, found bool, err error)
	// Save replaces the session entirely (a new or renewed session).
	Save(ctx context.Context, token string, values map[string][]byte, expiry time.Time) error
	// Apply sets and deletes the given keys of an existing session and
	// moves its expiry, atomically. When the session no longer exists (it
	// was destroyed meanwhile) Apply does nothing and reports false.
	Apply(ctx context.Context, token string, set map[string][]byte, del []string, expiry time.Time) (existed bool, err error)
	// Delete removes the session; a missing session is not an error.
	Delete(ctx context.Context, token string) error
	// DeleteExpired removes expired sessions and reports how many.
	DeleteExpired(ctx context.Context) (int, error)
}

// snapshot is what a request loaded, kept so its commit can be reduced to
// the keys it changed.
type snapshot struct {
	manager *Manager
	loaded  bool // the session data is in the context
	token   string
	values  map[string][]byte
	expiry  time.Time
	// suppressCookie leaves the session cookie out of the response: the
	// commit skipped a pointless refresh, or found the session gone.
	suppressCookie bool
}

type snapshotKey struct{}

// adapter turns a Backend into an scs.CtxStore that merges concurrent
// writes key by key.
type adapter struct {
	backend Backend
	// touchAfter is how much an expiry must move before an unchanged
	// session is written just to extend it.
	touchAfter time.Duration
}

func holder(ctx context.Context) *snapshot {
	s, _ := ctx.Value(snapshotKey{}).(*snapshot)
	return s
}

// FindCtx implements scs.CtxStore.
func (a *adapter) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	values, expiry, found, err := a.backend.Load(ctx, token)
	if err != nil || !found {
		return nil, false, err
	}
	if s := holder(ctx); s != nil {
		s.token, s.values, s.expiry = token, values, expiry
	}
	return join(values), true, nil
}

// CommitCtx implements scs.CtxStore. A session this request loaded is
// committed as a delta: only keys whose encoded value changed are written and
// only keys the request removed are deleted, so a concurrent request's
// writes to other keys survive. A session that only needs its idle expiry
// extended is rewritten at most once per touchAfter.
func (a *adapter) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	values, err := split(b)
	if err != nil {
		return err
	}
	s := holder(ctx)
	if s == nil || s.token != token {
		return a.backend.Save(ctx, token, values, expiry)
	}
	set := map[string][]byte{}
	for k, v := range values {
		if old, ok := s.values[k]; !ok || !bytes.Equal(old, v) {
			set[k] = v
		}
	}
	var del []string
	for k := range s.values {
		if _, ok := values[k]; !ok {
			del = append(del, k)
		}
	}
	if len(set) == 0 && len(del) == 0 && expiry.Sub(s.expiry) < a.touchAfter {
		s.suppressCookie = true // the browser's cookie is current
		return nil
	}
	existed, err := a.backend.Apply(ctx, token, set, del, expiry)
	if err == nil && !existed {
		// Destroyed or renewed by a concurrent request: do not hand the
		// dead token back to the browser.
		s.suppressCookie = true
	}
	return err
}

// DeleteCtx implements scs.CtxStore.
func (a *adapter) DeleteCtx(ctx context.Context, token string) error {
	return a.backend.Delete(ctx, token)
}

// Find, Commit and Delete satisfy scs.Store for callers without a context.
func (a *adapter) Find(token string) ([]byte, bool, error) {
	return a.FindCtx(context.Background(), token)
}

// Commit implements scs.Store.
func (a *adapter) Commit(token string, b []byte, expiry time.Time) error {
	return a.CommitCtx(context.Background(), token, b, expiry)
}

// Delete implements scs.Store.
func (a *adapter) Delete(token string) error {
	return a.DeleteCtx(context.Background(), token)
}

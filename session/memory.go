package session

import (
	"context"
	"maps"
	"sync"
	"time"
)

// Memory is a Backend in process memory: fast, but sessions vanish on
// restart and are not shared between processes. Use it for tests and
// single-process development.
type Memory struct {
	mu       sync.Mutex
	sessions map[string]memSession
	now      func() time.Time
}

type memSession struct {
	values map[string][]byte
	expiry time.Time
}

// NewMemory returns an empty in-memory backend.
func NewMemory() *Memory {
	return &Memory{sessions: map[string]memSession{}, now: time.Now}
}

// Load implements Backend.
func (m *Memory) Load(_ context.Context, token string) (map[string][]byte, time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[token]
	if !ok || !s.expiry.After(m.now()) {
		return nil, time.Time{}, false, nil
	}
	return maps.Clone(s.values), s.expiry, true, nil
}

// Save implements Backend.
func (m *Memory) Save(_ context.Context, token string, values map[string][]byte, expiry time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[token] = memSession{values: maps.Clone(values), expiry: expiry}
	return nil
}

// Apply implements Backend.
func (m *Memory) Apply(_ context.Context, token string, set map[string][]byte, del []string, expiry time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[token]
	if !ok || !s.expiry.After(m.now()) {
		return false, nil
	}
	maps.Copy(s.values, set)
	for _, k := range del {
		delete(s.values, k)
	}
	s.expiry = expiry
	m.sessions[token] = s
	return true, nil
}

// Delete implements Backend.
func (m *Memory) Delete(_ context.Context, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, token)
	return nil
}

// DeleteExpired implements Backend.
func (m *Memory) DeleteExpired(context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, now := 0, m.now()
	for t, s := range m.sessions {
		if !s.expiry.After(now) {
			delete(m.sessions, t)
			n++
		}
	}
	return n, nil
}

// Count reports the number of unexpired sessions.
func (m *Memory) Count(context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, now := 0, m.now()
	for _, s := range m.sessions {
		if s.expiry.After(now) {
			n++
		}
	}
	return n, nil
}

package ratelimit

import (
	"context"
	"sync"
	"time"
)

const (
	numShards = 32 // a power of two: the shard is hash & (numShards-1)
	// sweepEvery is how often, at most, a shard drops its expired keys.
	sweepEvery = int64(time.Minute / time.Microsecond)
	// A shard's map is rebuilt after a sweep when it has shrunk below a
	// quarter of its peak size and that peak was at least minRebuild, since
	// Go maps never give back the room they grew into.
	minRebuild = 1024
)

// Memory is an in-process [Limiter]: a map of key → TAT split into
// independently locked shards. It starts no goroutines. Keys whose bucket
// is full again (TAT <= now) carry no information and are removed lazily:
// at most once a minute per shard, during an Allow on that shard, so memory
// stays bounded by the keys seen within the longest window plus a minute.
//
// Limits are per process: behind a load balancer with n instances a client
// may get up to n times the rate. Use [Redis] to share limits.
type Memory struct {
	clock  func() time.Time
	shards [numShards]shard
}

type shard struct {
	mu        sync.Mutex
	tats      map[string]int64 // key → TAT in Unix microseconds
	peak      int              // largest len(tats) since the map was made
	nextSweep int64            // Unix microseconds
}

// NewMemory returns an empty in-process limiter. The only option is
// [WithClock]; the default clock is time.Now.
func NewMemory(opts ...Option) *Memory {
	o := buildOptions(opts)
	m := &Memory{clock: o.clock}
	if m.clock == nil {
		m.clock = time.Now
	}
	for i := range m.shards {
		m.shards[i].tats = make(map[string]int64)
	}
	return m
}

// Allow implements [Limiter]. It only fails when rate is invalid.
func (m *Memory) Allow(_ context.Context, key string, rate Rate) (Result, error) {
	interval, window, err := rate.params()
	if err != nil {
		return Result{}, err
	}
	now := m.clock().UnixMicro()
	s := &m.shards[shardIndex(key)]
	s.mu.Lock()
	if now >= s.nextSweep {
		s.sweep(now)
		s.nextSweep = now + sweepEvery
	}
	d := decide(s.tats[key], now, interval, window)
	if d.allowed {
		s.tats[key] = d.tat
		if n := len(s.tats); n > s.peak {
			s.peak = n
		}
	}
	s.mu.Unlock()
	return d.result(rate.Limit), nil
}

// sweep drops the keys whose bucket is full at now. The caller holds s.mu.
func (s *shard) sweep(now int64) {
	for k, tat := range s.tats {
		if tat <= now {
			delete(s.tats, k)
		}
	}
	if s.peak >= minRebuild && len(s.tats) < s.peak/4 {
		fresh := make(map[string]int64, len(s.tats))
		for k, tat := range s.tats {
			fresh[k] = tat
		}
		s.tats = fresh
		s.peak = len(fresh)
	}
}

// shardIndex hashes key with 32-bit FNV-1a, inlined to avoid allocating a
// hash.Hash per call.
func shardIndex(key string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return h & (numShards - 1)
}

// count returns how many keys are stored; for tests.
func (m *Memory) count() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.tats)
		s.mu.Unlock()
	}
	return n
}

package ratelimit

// Hooks into unexported details for the external tests (package
// ratelimit_test, which must be external: trellistest imports config, which
// imports this package).

// Count returns how many keys m holds.
func (m *Memory) Count() int { return m.count() }

// Params returns r's emission interval and window in microseconds.
func Params(r Rate) (interval, window int64, err error) { return r.params() }

// SweepEvery is the minimum time between two sweeps of one shard.
const SweepEvery = sweepEvery

// Package ratelimit limits how often an event may happen per key, in
// process ([NewMemory]) or shared between processes through Redis
// ([NewRedis]), and enforces limits on HTTP requests ([Middleware]).
//
// # Algorithm
//
// Both limiters implement GCRA, the generic cell rate algorithm, which
// behaves like a token bucket but stores a single number per key: the
// theoretical arrival time (TAT), the moment at which the key's bucket
// would be full again. For a [Rate] of Limit events per Period with burst B
// (B = Limit when Burst is 0):
//
//	T      = Period / Limit           emission interval, one event's cost
//	window = B × T                    how far ahead of now the TAT may run
//	tat    = max(stored TAT, now)
//	newTAT = tat + T
//	allow  ⇔ newTAT − window ≤ now
//
// When allowed, newTAT is stored. A fresh key therefore allows exactly B
// events at once, then one more every T. After a denial, RetryAfter is
// newTAT − window − now, the wait until one more event fits; ResetAfter is
// always the time until the stored TAT, when the bucket is full again and
// the key can be forgotten; Remaining is ⌊(now + window − TAT) / T⌋, the
// events that would still be allowed right now.
//
// All arithmetic is done on integer microseconds, in Go and in the Redis
// script alike, so for the same sequence of calls and clock readings the
// two limiters return identical results. T is Period/Limit rounded down to
// a whole microsecond, so it must be at least 1µs, and the window may be at
// most 2^50µs (about 35 years).
//
// A key's rate may change between calls: the stored TAT is simply judged
// against the new rate. Denied events are not recorded.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is Limit events per Period, with bursts of up to Burst events at
// once (Burst 0 means Limit). A Burst below Limit smooths traffic: Burst 1
// allows one event every Period/Limit and no bunching at all.
type Rate struct {
	Limit  int
	Period time.Duration
	Burst  int
}

// maxWindow caps Burst × T (in microseconds) so that TAT values stay exact
// in the Redis script, whose numbers are doubles (exact up to 2^53).
const maxWindow = int64(1) << 50

// ParseRate parses "N/duration" such as "10/1m", "5/10m", "100/1s" or
// "20/1h", optionally followed by " burst B" ("10/1m burst 20"). The
// duration uses [time.ParseDuration] syntax; N and B are positive integers.
func ParseRate(s string) (Rate, error) {
	bad := func(why string) (Rate, error) {
		return Rate{}, fmt.Errorf("ratelimit: invalid rate %q: %s (want N/duration, e.g. 10/1m)", s, why)
	}
	fields := strings.Fields(s)
	var r Rate
	switch {
	case len(fields) == 1:
	case len(fields) == 3 && fields[1] == "burst":
		b, err := strconv.Atoi(fields[2])
		if err != nil || b < 1 {
			return bad("burst must be a positive integer")
		}
		r.Burst = b
	default:
		return bad("unexpected text")
	}
	n, d, ok := strings.Cut(fields[0], "/")
	if !ok {
		return bad("missing /")
	}
	limit, err := strconv.Atoi(n)
	if err != nil || limit < 1 {
		return bad("N must be a positive integer")
	}
	period, err := time.ParseDuration(d)
	if err != nil || period <= 0 {
		return bad("the period must be a positive duration such as 1s, 10m or 1h")
	}
	r.Limit, r.Period = limit, period
	if _, _, err := r.params(); err != nil {
		return Rate{}, fmt.Errorf("ratelimit: invalid rate %q: %w", s, err)
	}
	return r, nil
}

// String formats r the way [ParseRate] reads it, e.g. "10/1m" or
// "10/1m burst 20".
func (r Rate) String() string {
	s := strconv.Itoa(r.Limit) + "/" + shortDuration(r.Period)
	if r.Burst != 0 {
		s += " burst " + strconv.Itoa(r.Burst)
	}
	return s
}

// shortDuration writes whole hours, minutes, seconds or milliseconds as
// "1h", "10m", "30s", "500ms" rather than time.Duration's "1h0m0s".
func shortDuration(d time.Duration) string {
	if d > 0 {
		for _, u := range []struct {
			unit time.Duration
			name string
		}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
			if d%u.unit == 0 {
				return strconv.FormatInt(int64(d/u.unit), 10) + u.name
			}
		}
	}
	return d.String()
}

// params returns the emission interval T and the window B×T in
// microseconds, or an error when r cannot be enforced.
func (r Rate) params() (interval, window int64, err error) {
	switch {
	case r.Limit < 1:
		return 0, 0, errors.New("limit must be at least 1")
	case r.Period <= 0:
		return 0, 0, errors.New("period must be positive")
	case r.Burst < 0:
		return 0, 0, errors.New("burst must not be negative")
	}
	interval = int64(r.Period/time.Microsecond) / int64(r.Limit)
	if interval < 1 {
		return 0, 0, errors.New("period/limit is under one microsecond")
	}
	burst := int64(r.Burst)
	if burst == 0 {
		burst = int64(r.Limit)
	}
	if burst > maxWindow/interval {
		return 0, 0, errors.New("burst × period/limit is too long")
	}
	return interval, burst * interval, nil
}

// Result is the outcome of one [Limiter.Allow] call.
type Result struct {
	Allowed bool
	// Limit is the Rate's Limit.
	Limit int
	// Remaining is how many more events would be allowed right now (>= 0).
	Remaining int
	// RetryAfter is, when !Allowed, how long to wait before one more event
	// is allowed; 0 when Allowed.
	RetryAfter time.Duration
	// ResetAfter is the time until the bucket is completely full again.
	ResetAfter time.Duration
}

// Limiter decides whether an event for key is allowed under rate, and
// records it when it is. Implementations are safe for concurrent use.
type Limiter interface {
	Allow(ctx context.Context, key string, rate Rate) (Result, error)
}

// Option configures [NewMemory] and [NewRedis].
type Option func(*options)

type options struct {
	clock func() time.Time
}

// WithClock makes the limiter read the time from now instead of the system
// clock (Memory) or the Redis server's clock (Redis). Tests use it to get
// deterministic results.
//
// With Redis, every process sharing keys must then have closely synchronised
// clocks; skew between them shifts the limits by that much.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.clock = now }
}

func buildOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// decision is the outcome of GCRA in microseconds.
type decision struct {
	allowed    bool
	tat        int64 // the TAT to store when allowed
	remaining  int64
	retryAfter int64
	resetAfter int64
}

// decide runs one GCRA step: stored is the key's TAT (0 or anything <= now
// for a fresh key), now the current time, interval and window from
// Rate.params, all in microseconds. The Redis script mirrors this function
// line for line; keep them in step.
func decide(stored, now, interval, window int64) decision {
	tat := max(stored, now)
	newTAT := tat + interval
	allowAt := newTAT - window
	if now < allowAt {
		return decision{retryAfter: allowAt - now, resetAfter: tat - now}
	}
	return decision{
		allowed:    true,
		tat:        newTAT,
		remaining:  (now + window - newTAT) / interval,
		resetAfter: newTAT - now,
	}
}

func (d decision) result(limit int) Result {
	return Result{
		Allowed:    d.allowed,
		Limit:      limit,
		Remaining:  int(d.remaining),
		RetryAfter: time.Duration(d.retryAfter) * time.Microsecond,
		ResetAfter: time.Duration(d.resetAfter) * time.Microsecond,
	}
}

package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a [Limiter] whose state lives in Redis, so every process using
// the same server and prefix shares the limits. Each Allow is one round
// trip running a Lua script that reads the key's TAT, decides and writes
// the new TAT atomically, with a PX expiry at the moment the bucket is full
// again, so idle keys vanish by themselves.
//
// By default the script reads the time from the Redis server (TIME), so
// application servers with skewed clocks still agree; [WithClock] passes
// the time from Go instead. Each key is a plain string at prefix+key, and
// the script touches only that key, so Redis Cluster works too.
type Redis struct {
	client redis.UniversalClient
	prefix string
	clock  func() time.Time
}

// NewRedis returns a limiter storing its keys in client under prefix (for
// example "myapp:rl:"). The only option is [WithClock].
func NewRedis(client redis.UniversalClient, prefix string, opts ...Option) *Redis {
	o := buildOptions(opts)
	return &Redis{client: client, prefix: prefix, clock: o.clock}
}

// gcraScript mirrors decide in ratelimit.go. All values are integer
// microseconds; Lua numbers are doubles, exact for integers below 2^53,
// which Unix microseconds plus a window of at most 2^50 stay well under.
// The TAT is written back formatted with %d so that it stays an exact
// integer string whatever the server's number conversion (Lua's own
// tostring keeps only 14 significant digits).
//
//	KEYS[1] the key
//	ARGV[1] now, or "" to use the server's TIME
//	ARGV[2] the emission interval T
//	ARGV[3] the window B×T
//
// It returns {allowed (0 or 1), remaining, retry after, reset after}.
var gcraScript = redis.NewScript(`
local now = tonumber(ARGV[1])
if not now then
  if redis.replicate_commands then redis.replicate_commands() end
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local interval = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then
  tat = now
end
local new_tat = tat + interval
local allow_at = new_tat - window
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
local reset = new_tat - now
redis.call('SET', KEYS[1], string.format('%d', new_tat),
  'PX', string.format('%d', math.floor((reset + 999) / 1000)))
return {1, math.floor((now + window - new_tat) / interval), 0, reset}
`)

// Allow implements [Limiter]. It fails when rate is invalid or Redis does
// not answer.
func (l *Redis) Allow(ctx context.Context, key string, rate Rate) (Result, error) {
	interval, window, err := rate.params()
	if err != nil {
		return Result{}, err
	}
	now := ""
	if l.clock != nil {
		now = strconv.FormatInt(l.clock().UnixMicro(), 10)
	}
	v, err := gcraScript.Run(ctx, l.client, []string{l.prefix + key}, now, interval, window).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(v) != 4 {
		return Result{}, fmt.Errorf("ratelimit: redis: script returned %d values, want 4", len(v))
	}
	return decision{
		allowed:    v[0] == 1,
		remaining:  v[1],
		retryAfter: v[2],
		resetAfter: v[3],
	}.result(rate.Limit), nil
}

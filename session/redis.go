package session

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// expiryField holds the expiry (Unix milliseconds) inside a session hash;
// Redis also expires the key itself at that moment.
const expiryField = "__trellis.expiry"

// Redis is a Backend in Redis: each session is a hash of its values, so a
// delta is a few HSET/HDEL commands and never a read-modify-write.
type Redis struct {
	client redis.UniversalClient
	prefix string
}

// NewRedis returns a Backend storing sessions under prefix+"session:".
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix + "session:"}
}

// applyScript applies a delta only when the session still exists.
// KEYS[1] session; ARGV[1] expiry ms; ARGV[2] number of fields to set;
// then field/value pairs to set, then fields to delete.
var applyScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local nset = tonumber(ARGV[2])
local i = 3
for _ = 1, nset do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
  i = i + 1
end
redis.call('HSET', KEYS[1], '` + expiryField + `', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
`)

// Load implements Backend.
func (s *Redis) Load(ctx context.Context, token string) (map[string][]byte, time.Time, bool, error) {
	all, err := s.client.HGetAll(ctx, s.prefix+token).Result()
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("session: loading: %w", err)
	}
	ms, err := strconv.ParseInt(all[expiryField], 10, 64)
	if len(all) == 0 || err != nil || ms <= time.Now().UnixMilli() {
		return nil, time.Time{}, false, nil
	}
	delete(all, expiryField)
	values := make(map[string][]byte, len(all))
	for k, v := range all {
		values[k] = []byte(v)
	}
	return values, time.UnixMilli(ms), true, nil
}

// Save implements Backend.
func (s *Redis) Save(ctx context.Context, token string, values map[string][]byte, expiry time.Time) error {
	key := s.prefix + token
	fields := make([]any, 0, 2*len(values)+2)
	for k, v := range values {
		fields = append(fields, k, v)
	}
	fields = append(fields, expiryField, expiry.UnixMilli())
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		p.HSet(ctx, key, fields...)
		p.PExpireAt(ctx, key, expiry)
		return nil
	})
	if err != nil {
		return fmt.Errorf("session: saving: %w", err)
	}
	return nil
}

// Apply implements Backend.
func (s *Redis) Apply(ctx context.Context, token string, set map[string][]byte, del []string, expiry time.Time) (bool, error) {
	args := make([]any, 0, 2+2*len(set)+len(del))
	args = append(args, expiry.UnixMilli(), len(set))
	for k, v := range set {
		args = append(args, k, v)
	}
	for _, k := range del {
		args = append(args, k)
	}
	n, err := applyScript.Run(ctx, s.client, []string{s.prefix + token}, args...).Int()
	if err != nil {
		return false, fmt.Errorf("session: applying: %w", err)
	}
	return n == 1, nil
}

// Delete implements Backend.
func (s *Redis) Delete(ctx context.Context, token string) error {
	if err := s.client.Del(ctx, s.prefix+token).Err(); err != nil {
		return fmt.Errorf("session: deleting: %w", err)
	}
	return nil
}

// DeleteExpired implements Backend; Redis expires keys itself.
func (s *Redis) DeleteExpired(context.Context) (int, error) { return 0, nil }

package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Level is a flash message's kind.
type Level string

// Flash levels, which the default layout styles.
const (
	Success Level = "success"
	Info    Level = "info"
	Warning Level = "warning"
	Error   Level = "error"
)

// Flash is a message shown once, on the next page or htmx response.
type Flash struct {
	Level   Level
	Message string
}

const flashPrefix = "_flash."

// Flash queues a message for the next response that shows flashes. Each
// message is stored under its own key, so messages added by concurrent
// requests are all kept.
func (m *Manager) Flash(ctx context.Context, level Level, message string) {
	var r [4]byte
	_, _ = rand.Read(r[:])
	key := flashPrefix + strconv.FormatInt(time.Now().UnixNano(), 36) + "." + hex.EncodeToString(r[:])
	m.Put(ctx, key, string(level)+"\x00"+message)
}

// TakeFlashes pops the flashes of the request's session (see PopFlashes);
// templates call it. Outside the session middleware it returns nil.
func TakeFlashes(ctx context.Context) []Flash {
	if m := FromContext(ctx); m != nil {
		return m.PopFlashes(ctx)
	}
	return nil
}

// PopFlashes removes and returns the queued messages, oldest first. It
// does not touch the store when there are none.
func (m *Manager) PopFlashes(ctx context.Context) []Flash {
	var keys []string
	for _, k := range m.Keys(ctx) {
		if strings.HasPrefix(k, flashPrefix) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	out := make([]Flash, 0, len(keys))
	for _, k := range keys {
		level, msg, _ := strings.Cut(m.PopString(ctx, k), "\x00")
		out = append(out, Flash{Level: Level(level), Message: msg})
	}
	return out
}

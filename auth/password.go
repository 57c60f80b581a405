package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password length limits, counted in characters (runes), not bytes.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 256
)

// ErrBusy is returned when the hasher is saturated for longer than a
// request should wait.
var ErrBusy = errors.New("auth: password hashing is busy")

// HashParams are argon2id parameters.
type HashParams struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// Hasher hashes and verifies passwords with argon2id, encoded as PHC
// strings ($argon2id$v=19$m=19456,t=2,p=1$salt$hash). At most a fixed
// number of hashes run at once, so a flood of logins queues instead of
// taking every CPU from other requests.
type Hasher struct {
	params HashParams
	slots  chan struct{}
	wait   time.Duration

	dummyOnce sync.Once
	dummy     string // a real hash to verify unknown accounts against
}

// NewHasher returns a Hasher. concurrency <= 0 means half the CPUs (at
// least one).
func NewHasher(p HashParams, concurrency int) (*Hasher, error) {
	if concurrency <= 0 {
		concurrency = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if p.MemoryKiB == 0 || p.Iterations == 0 || p.Parallelism == 0 {
		return nil, errors.New("auth: argon2id parameters must be positive")
	}
	return &Hasher{params: p, slots: make(chan struct{}, concurrency), wait: 10 * time.Second}, nil
}

// dummyHash is a hash with the configured parameters, made on first use
// (not at start-up: it costs a hash's time and memory).
func (h *Hasher) dummyHash() string {
	h.dummyOnce.Do(func() {
		salt := make([]byte, 16)
		_, _ = rand.Read(salt)
		p := h.params
		h.dummy = encodePHC(p, salt, argon2.IDKey([]byte("trellis-timing-equaliser"), salt, p.Iterations, p.MemoryKiB, p.Parallelism, 32))
	})
	return h.dummy
}

// ValidatePassword reports a user-facing problem with a new password, or "".
func ValidatePassword(pw string) string {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return "Password contains invalid characters."
	case n < MinPasswordLength:
		return fmt.Sprintf("Password must be at least %d characters.", MinPasswordLength)
	case n > MaxPasswordLength:
		return fmt.Sprintf("Password must be at most %d characters.", MaxPasswordLength)
	}
	return ""
}

func (h *Hasher) acquire(ctx context.Context) error {
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return ErrBusy
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC string for pw with a fresh random salt.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	p := h.params
	key := argon2.IDKey([]byte(pw), salt, p.Iterations, p.MemoryKiB, p.Parallelism, 32)
	return encodePHC(p, salt, key), nil
}

// Verify reports whether pw matches the PHC string, and whether the hash
// should be recomputed because the configured parameters changed. An empty
// or malformed hash never matches, but costs as much time as a real one, so
// callers can verify against "" for unknown accounts.
func (h *Hasher) Verify(ctx context.Context, pw, phc string) (ok, rehash bool, err error) {
	p, salt, want, perr := decodePHC(phc)
	if perr != nil {
		// Spend the same time as a real check so unknown accounts are not
		// distinguishable by timing.
		p, salt, want, _ = decodePHC(h.dummyHash())
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(want)))
	h.release()
	ok = perr == nil && subtle.ConstantTimeCompare(got, want) == 1
	return ok, ok && p != h.params, nil
}

var b64 = base64.RawStdEncoding

func encodePHC(p HashParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

var errPHC = errors.New("auth: malformed password hash")

func decodePHC(s string) (HashParams, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return HashParams{}, nil, nil, errPHC
	}
	var p HashParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &p.Parallelism); err != nil ||
		p.MemoryKiB == 0 || p.Iterations == 0 || p.Parallelism == 0 || p.MemoryKiB > 4<<20 || p.Iterations > 100 {
		return HashParams{}, nil, nil, errPHC
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return HashParams{}, nil, nil, errPHC
	}
	return p, salt, key, nil
}

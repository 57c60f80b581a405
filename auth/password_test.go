package auth

import (
	"context"
	"strings"
	"testing"
)

func testHasher(t testing.TB, p HashParams) *Hasher {
	t.Helper()
	h, err := NewHasher(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashAndVerify(t *testing.T) {
	p := HashParams{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}
	h := testHasher(t, p)
	ctx := context.Background()
	phc, err := h.Hash(ctx, "s3cret pässword")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("PHC string %q", phc)
	}
	if again, _ := h.Hash(ctx, "s3cret pässword"); again == phc {
		t.Error("salt not random")
	}
	if ok, rehash, err := h.Verify(ctx, "s3cret pässword", phc); !ok || rehash || err != nil {
		t.Errorf("verify: %v %v %v", ok, rehash, err)
	}
	if ok, _, _ := h.Verify(ctx, "s3cret passwort", phc); ok {
		t.Error("wrong password verified")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=0,t=2,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "$2a$10$bcrypt", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"} {
		if ok, _, err := h.Verify(ctx, "x", bad); ok || err != nil {
			t.Errorf("malformed hash %q: %v %v", bad, ok, err)
		}
	}
	// Stronger parameters later: old hashes still verify and ask for a rehash.
	stronger := testHasher(t, HashParams{MemoryKiB: 19456, Iterations: 3, Parallelism: 1})
	if ok, rehash, _ := stronger.Verify(ctx, "s3cret pässword", phc); !ok || !rehash {
		t.Errorf("parameter change: ok=%v rehash=%v", ok, rehash)
	}
}

func TestHasherHonoursCancellation(t *testing.T) {
	h := testHasher(t, HashParams{MemoryKiB: 1024, Iterations: 1, Parallelism: 1})
	h.slots <- struct{}{} // occupy the only slot
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "password"); err == nil {
		t.Error("hash ran although the context was cancelled and no slot was free")
	}
	h.wait = 1
	if _, err := h.Hash(context.Background(), "password"); err != ErrBusy {
		t.Errorf("saturated hasher: %v, want ErrBusy", err)
	}
}

func TestValidatePassword(t *testing.T) {
	for pw, ok := range map[string]bool{
		"short": false, "12345678": true, "éééééééé": true, strings.Repeat("x", 256): true,
		strings.Repeat("x", 257): false, strings.Repeat("é", 256): true, "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8": false,
	} {
		if got := ValidatePassword(pw) == ""; got != ok {
			t.Errorf("ValidatePassword(%q) ok = %v", pw, got)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/a/b?c=d#e": "/a/b?c=d#e", "//evil": "/", "/\\evil": "/", "http://x": "/", "x": "/",
		"/%0d%0aSet-Cookie:x": "/%0d%0aSet-Cookie:x", "/\nx": "/", "": "/", "/" + strings.Repeat("a", 3000): "/",
	} {
		if got := SafeNext(in); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	h := testHasher(b, HashParams{MemoryKiB: 19456, Iterations: 2, Parallelism: 1})
	for b.Loop() {
		_, _ = h.Hash(context.Background(), "benchmark password")
	}
}

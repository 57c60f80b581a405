package uploads

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestAsyncHasherMatchesSHA256(t *testing.T) {
	for _, n := range []int{0, 1, hashChunk - 1, hashChunk, hashChunk + 1, 4*hashChunk + 7} {
		data := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
		a := newAsyncHasher()
		for rest := data; len(rest) > 0; {
			k := min(len(rest), 4093) // odd-sized writes, as a multipart part gives
			_, _ = a.Write(rest[:k])
			rest = rest[k:]
		}
		sum, size := a.Sum()
		want := sha256.Sum256(data)
		if sum != hex.EncodeToString(want[:]) || size != int64(n) {
			t.Errorf("%d bytes: got %s (%d), want %x", n, sum, size, want)
		}
		a.finish() // a second finish is harmless
	}
}

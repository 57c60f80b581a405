package uploads

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

// hashChunk is how much asyncHasher gathers before handing it over.
const hashChunk = 256 << 10

// asyncHasher computes SHA-256 in its own goroutine, so hashing overlaps
// with reading the request and writing the store. Write copies into
// chunks of hashChunk bytes; at most three are in flight.
type asyncHasher struct {
	h    hash.Hash
	buf  []byte
	n    int64
	free chan []byte
	full chan []byte
	done chan struct{}
}

func newAsyncHasher() *asyncHasher {
	a := &asyncHasher{h: sha256.New(), free: make(chan []byte, 3), full: make(chan []byte, 3), done: make(chan struct{})}
	for range 2 {
		a.free <- make([]byte, 0, hashChunk)
	}
	a.buf = make([]byte, 0, hashChunk)
	full, free, done, h := a.full, a.free, a.done, a.h
	go func() {
		defer close(done)
		for b := range full {
			h.Write(b)
			free <- b[:0]
		}
	}()
	return a
}

// Write never fails.
func (a *asyncHasher) Write(p []byte) (int, error) {
	n := len(p)
	a.n += int64(n)
	for len(p) > 0 {
		c := copy(a.buf[len(a.buf):cap(a.buf)], p)
		a.buf = a.buf[:len(a.buf)+c]
		p = p[c:]
		if len(a.buf) == cap(a.buf) {
			a.full <- a.buf
			a.buf = <-a.free
		}
	}
	return n, nil
}

// Sum finishes and returns the hex digest and the byte count; the hasher
// must not be used afterwards.
func (a *asyncHasher) Sum() (string, int64) {
	a.finish()
	return hex.EncodeToString(a.h.Sum(nil)), a.n
}

// finish hands over the last chunk and stops the goroutine; safe to call
// more than once.
func (a *asyncHasher) finish() {
	if a.full == nil {
		return
	}
	if len(a.buf) > 0 {
		a.full <- a.buf
	}
	close(a.full)
	a.full = nil
	<-a.done
}

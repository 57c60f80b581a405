package storage

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// TestCopyChunksStartsWriteback: the copy hands every writebackEvery bytes
// to writeback as it goes, in order and without gaps, and copies every
// byte, whatever sizes the source's reads have.
func TestCopyChunksStartsWriteback(t *testing.T) {
	data := make([]byte, 2*writebackEvery+3*chunkSize+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	var dst bytes.Buffer
	var ranges [][2]int64
	n, err := copyChunks(&dst, iotest.HalfReader(bytes.NewReader(data)), func(off, n int64) {
		ranges = append(ranges, [2]int64{off, n})
	})
	if err != nil || n != int64(len(data)) || !bytes.Equal(dst.Bytes(), data) {
		t.Fatalf("copied %d of %d bytes (%v), equal %v", n, len(data), err, bytes.Equal(dst.Bytes(), data))
	}
	var next int64
	for _, r := range ranges {
		if r[0] != next || r[1] < writebackEvery {
			t.Fatalf("writeback ranges %v: each should start where the last ended and hold at least %d bytes", ranges, writebackEvery)
		}
		next = r[0] + r[1]
	}
	if len(ranges) != 2 || next > n {
		t.Errorf("writeback ranges %v for %d bytes; want two, within the file (the fsync writes the rest)", ranges, n)
	}

	// A short copy starts no writeback; a failing source fails the copy.
	ranges = nil
	if _, err := copyChunks(io.Discard, bytes.NewReader(data[:chunkSize]), func(off, n int64) { ranges = append(ranges, [2]int64{off, n}) }); err != nil || ranges != nil {
		t.Errorf("a 256 KB copy: %v, writeback %v", err, ranges)
	}
	if _, err := copyChunks(io.Discard, iotest.ErrReader(io.ErrClosedPipe), func(int64, int64) {}); err != io.ErrClosedPipe {
		t.Errorf("a failing source: %v", err)
	}
}

package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// tmpDir holds files being written; a crash can leave some behind, which
// SweepTemp removes.
const tmpDir = ".tmp"

// Local stores objects as files under one directory, opened as an
// os.Root: on top of ValidKey, the operating system refuses any path that
// would leave the directory (symbolic links included). It keeps no content
// type (the file record holds it): Info.ContentType is empty.
type Local struct {
	root   *os.Root
	dir    string
	signer *Signer
}

// ErrNoSigner is returned by SignedURL of a local store made without a
// signer (storage.signing_key is not set).
var ErrNoSigner = errors.New("storage: signed local URLs need storage.signing_key")

// NewLocal opens (creating it when missing) dir as a store. Signed URLs
// are signed by signer and point at its route.
func NewLocal(dir string, signer *Signer) (*Local, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("storage: creating %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: opening %s: %w", dir, err)
	}
	if err := root.MkdirAll(tmpDir, 0o750); err != nil {
		_ = root.Close()
		return nil, fmt.Errorf("storage: creating %s/%s: %w", dir, tmpDir, err)
	}
	return &Local{root: root, dir: dir, signer: signer}, nil
}

// Dir is the store's directory.
func (l *Local) Dir() string { return l.dir }

// Close releases the directory handle.
func (l *Local) Close() error { return l.root.Close() }

// Put writes to a temporary file, syncs it and renames it into place, so
// a reader never sees a partial object and a failure leaves none.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64, _ string) (err error) {
	if err := checkKey(key); err != nil {
		return err
	}
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	tmp := tmpDir + "/" + hex.EncodeToString(rnd[:])
	f, err := l.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("storage: creating a temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = l.root.Remove(tmp)
		}
	}()
	src := r
	if size >= 0 {
		src = io.LimitReader(r, size+1)
	}
	n, err := copyChunks(f, ctxReader{ctx, src}, func(off, n int64) { startWriteback(f, off, n) })
	if err != nil {
		return fmt.Errorf("storage: writing %s: %w", key, err)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("storage: writing %s: got %d bytes, want %d", key, n, size)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("storage: syncing %s: %w", key, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("storage: closing %s: %w", key, err)
	}
	if err = l.root.MkdirAll(path.Dir(key), 0o750); err != nil {
		return fmt.Errorf("storage: creating the directory of %s: %w", key, err)
	}
	if err = l.root.Rename(tmp, key); err != nil {
		return fmt.Errorf("storage: renaming into %s: %w", key, err)
	}
	return nil
}

// Open opens the object's file.
func (l *Local) Open(_ context.Context, key string) (Object, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	f, err := l.root.Open(key)
	if err != nil {
		return nil, notFound(key, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("storage: stat %s: %w", key, err)
	}
	if !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("storage: %s: %w", key, ErrNotFound)
	}
	return &localObject{File: f, info: Info{Key: key, Size: st.Size(), ModTime: st.ModTime()}}, nil
}

type localObject struct {
	*os.File
	info Info
}

func (o *localObject) Info() Info { return o.info }

// Stat describes the object's file.
func (l *Local) Stat(_ context.Context, key string) (Info, error) {
	if err := checkKey(key); err != nil {
		return Info{}, err
	}
	st, err := l.root.Stat(key)
	if err != nil {
		return Info{}, notFound(key, err)
	}
	if !st.Mode().IsRegular() {
		return Info{}, fmt.Errorf("storage: %s: %w", key, ErrNotFound)
	}
	return Info{Key: key, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// Delete removes the object's file.
func (l *Local) Delete(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := l.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: deleting %s: %w", key, err)
	}
	return nil
}

// Walk visits every file whose path is a valid key.
func (l *Local) Walk(ctx context.Context, fn func(Info) error) error {
	return fs.WalkDir(l.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			if p == tmpDir {
				return fs.SkipDir
			}
			return nil
		}
		if !ValidKey(p) || !d.Type().IsRegular() {
			return nil
		}
		st, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		return fn(Info{Key: p, Size: st.Size(), ModTime: st.ModTime()})
	})
}

// SweepTemp removes temporary files older than before, left by writes a
// crash interrupted.
func (l *Local) SweepTemp(_ context.Context, before time.Time) (int, error) {
	entries, err := fs.ReadDir(l.root.FS(), tmpDir)
	if err != nil {
		return 0, fmt.Errorf("storage: listing %s: %w", tmpDir, err)
	}
	n := 0
	for _, e := range entries {
		st, err := e.Info()
		if err != nil || !st.ModTime().Before(before) || strings.ContainsAny(e.Name(), `/\`) {
			continue
		}
		if err := l.root.Remove(tmpDir + "/" + e.Name()); err == nil {
			n++
		}
	}
	return n, nil
}

// SignedURL returns the signer's route for key with an expiry and an HMAC
// over the key, the expiry and the response headers.
func (l *Local) SignedURL(_ context.Context, key string, ttl time.Duration, opts SignOptions) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	if l.signer == nil {
		return "", ErrNoSigner
	}
	return l.signer.URL(key, time.Now().Add(ttl), opts), nil
}

func notFound(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: %s: %w", key, ErrNotFound)
	}
	return fmt.Errorf("storage: %s: %w", key, err)
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// chunkSize is how much Put gathers before each write: sources such as a
// multipart part return a few kilobytes per read, and one system call per
// read would halve the throughput.
const chunkSize = 256 << 10

// writebackEvery is how many bytes copyChunks writes between asking the
// kernel to start writing them to disk. Without it the whole file waits
// in the page cache for the final fsync, which then takes as long as the
// copy did (50 ms for 200 MB here); with it the disk works while the
// upload is still arriving and the fsync has little left to do.
const writebackEvery = 4 << 20

// copyChunks copies src to dst in writes of chunkSize bytes (the last one
// shorter). Reading the next chunk (from the network, hashing it) overlaps
// with writing the previous one to disk, in a second goroutine; it holds
// at most three chunks. Every writebackEvery bytes it calls writeback
// with the range written since the last call.
func copyChunks(dst io.Writer, src io.Reader, writeback func(off, n int64)) (int64, error) {
	const depth = 3
	free := make(chan []byte, depth)
	for range depth {
		free <- make([]byte, chunkSize)
	}
	full := make(chan []byte, depth)
	werr := make(chan error, 1)
	go func() {
		var (
			err          error
			written, off int64 // off: where the range not yet handed to the disk starts
		)
		for b := range full {
			if err == nil {
				var n int
				n, err = dst.Write(b)
				written += int64(n)
				if written-off >= writebackEvery {
					writeback(off, written-off)
					off = written
				}
			}
			free <- b[:cap(b)]
		}
		werr <- err
	}()
	var total int64
	var rerr error
	for {
		buf := <-free
		n, err := io.ReadFull(src, buf)
		if n > 0 {
			full <- buf[:n]
			total += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
	}
	close(full)
	if err := <-werr; err != nil {
		return total, err
	}
	return total, rerr
}

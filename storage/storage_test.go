package storage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trellis-go/trellis/internal/s3fake"
	"github.com/trellis-go/trellis/storage"
)

var secret = bytes.Repeat([]byte("k"), 32)

// stores returns every store kind on a fresh location: the same table of
// tests runs on each.
func stores(t *testing.T) map[string]storage.Store {
	signer, err := storage.NewSigner(secret, "/files/signed")
	if err != nil {
		t.Fatal(err)
	}
	local, err := storage.NewLocal(filepath.Join(t.TempDir(), "files"), signer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = local.Close() })
	fake := s3fake.Start(t)
	s3, err := storage.NewS3(storage.S3Options{Endpoint: fake.URL, Bucket: fake.Bucket, AccessKey: fake.AccessKey, SecretKey: fake.SecretKey, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s3.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	return map[string]storage.Store{"local": local, "s3": s3}
}

func TestStores(t *testing.T) {
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			data := make([]byte, 6<<20+123) // more than one S3 part
			_, _ = rand.Read(data)
			key := storage.NewKey()
			if _, err := st.Stat(ctx, key); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("Stat of a missing key: %v, want ErrNotFound", err)
			}
			if _, err := st.Open(ctx, key); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("Open of a missing key: %v, want ErrNotFound", err)
			}
			if err := st.Put(ctx, key, bytes.NewReader(data), int64(len(data)), "application/octet-stream"); err != nil {
				t.Fatal(err)
			}
			info, err := st.Stat(ctx, key)
			if err != nil || info.Size != int64(len(data)) || info.Key != key {
				t.Fatalf("Stat = %+v, %v", info, err)
			}
			obj, err := st.Open(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if obj.Info().Size != int64(len(data)) {
				t.Fatalf("Open size %d", obj.Info().Size)
			}
			if _, err := obj.Seek(5<<20, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			tail, err := io.ReadAll(obj)
			_ = obj.Close()
			if err != nil || !bytes.Equal(tail, data[5<<20:]) {
				t.Fatalf("seek+read: %d bytes, %v", len(tail), err)
			}

			// Unknown size streams to EOF.
			key2 := storage.NewKey()
			if err := st.Put(ctx, key2, io.MultiReader(bytes.NewReader(data[:1000]), strings.NewReader("!")), -1, "text/plain"); err != nil {
				t.Fatal(err)
			}
			if info, err := st.Stat(ctx, key2); err != nil || info.Size != 1001 {
				t.Fatalf("unknown-size put: %+v %v", info, err)
			}

			// A reader that fails leaves nothing behind.
			key3 := storage.NewKey()
			err = st.Put(ctx, key3, io.MultiReader(bytes.NewReader(data[:100]), failing{}), 200, "text/plain")
			if err == nil {
				t.Fatal("Put with a failing reader succeeded")
			}
			if _, err := st.Stat(ctx, key3); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("failed Put left an object: %v", err)
			}
			// A short body with a declared size is refused.
			if err := st.Put(ctx, key3, bytes.NewReader(data[:10]), 20, "text/plain"); err == nil {
				t.Fatal("short body accepted")
			}

			seen := map[string]int64{}
			if err := st.Walk(ctx, func(i storage.Info) error { seen[i.Key] = i.Size; return nil }); err != nil {
				t.Fatal(err)
			}
			if len(seen) != 2 || seen[key] != int64(len(data)) || seen[key2] != 1001 {
				t.Fatalf("Walk saw %v", seen)
			}

			u, err := st.SignedURL(ctx, key2, time.Minute, storage.SignOptions{ContentType: "text/plain", Disposition: "attachment"})
			if err != nil || u == "" {
				t.Fatalf("SignedURL: %q %v", u, err)
			}
			if name == "s3" {
				res, err := http.Get(u)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				_ = res.Body.Close()
				if res.StatusCode != 200 || len(body) != 1001 || !strings.Contains(u, "X-Amz-Signature=") || !strings.Contains(u, "X-Amz-Expires=60") {
					t.Fatalf("presigned GET: %d, %d bytes, url %s", res.StatusCode, len(body), u)
				}
			}

			if err := st.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Stat(ctx, key); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("deleted object still there: %v", err)
			}
			if err := st.Delete(ctx, key); err != nil {
				t.Fatalf("deleting a missing key: %v", err)
			}

			for _, bad := range badKeys(key2) {
				if err := st.Put(ctx, bad, strings.NewReader("x"), 1, "text/plain"); !errors.Is(err, storage.ErrInvalidKey) {
					t.Errorf("Put(%q) = %v, want ErrInvalidKey", bad, err)
				}
				if _, err := st.Open(ctx, bad); !errors.Is(err, storage.ErrInvalidKey) {
					t.Errorf("Open(%q) = %v, want ErrInvalidKey", bad, err)
				}
				if _, err := st.Stat(ctx, bad); !errors.Is(err, storage.ErrInvalidKey) {
					t.Errorf("Stat(%q) = %v, want ErrInvalidKey", bad, err)
				}
				if err := st.Delete(ctx, bad); !errors.Is(err, storage.ErrInvalidKey) {
					t.Errorf("Delete(%q) = %v, want ErrInvalidKey", bad, err)
				}
				if _, err := st.SignedURL(ctx, bad, time.Minute, storage.SignOptions{}); !errors.Is(err, storage.ErrInvalidKey) {
					t.Errorf("SignedURL(%q) = %v, want ErrInvalidKey", bad, err)
				}
			}
		})
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// badKeys are traversal and malformed keys, derived from a valid one.
func badKeys(valid string) []string {
	id := valid[6:]
	return []string{
		"", "../../etc/passwd", "/etc/passwd", valid[:2] + "/../" + id,
		"..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/" + id, valid[:6] + "..",
		`ab\cd\` + id, valid + "\x00", valid[:len(valid)-1] + "\x00",
		"/" + valid[1:], strings.ToUpper(valid), valid + "/", valid[:len(valid)-1],
		valid[:6] + "aa" + id[2:],  // prefix does not match the id
		valid[:len(valid)-1] + "b", // non-canonical last character
		"./" + valid[2:], valid[:2] + "//" + id[:len(id)-1],
	}
}

func TestValidKey(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		k := storage.NewKey()
		if !storage.ValidKey(k) || len(k) != storage.KeyLen {
			t.Fatalf("NewKey() = %q is not valid", k)
		}
		if seen[k] {
			t.Fatalf("NewKey repeated %q", k)
		}
		seen[k] = true
	}
	valid := storage.NewKey()
	for _, bad := range badKeys(valid) {
		if storage.ValidKey(bad) {
			t.Errorf("ValidKey(%q) = true", bad)
		}
	}
}

func FuzzValidKey(f *testing.F) {
	f.Add(storage.NewKey())
	f.Add("../x")
	f.Fuzz(func(t *testing.T, k string) {
		if !storage.ValidKey(k) {
			return
		}
		if filepath.Clean(k) != k || strings.Contains(k, "..") || filepath.IsAbs(k) || strings.ContainsAny(k, "\\\x00%") {
			t.Fatalf("ValidKey accepted %q", k)
		}
	})
}

func TestLocalRefusesSymlinkEscape(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	signer, _ := storage.NewSigner(secret, "/s")
	st, err := storage.NewLocal(filepath.Join(dir, "files"), signer)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key := storage.NewKey()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("top secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Someone with shell access plants a link where a key's directory goes.
	if err := os.Symlink(outside, filepath.Join(dir, "files", key[:2])); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Open(context.Background(), key); err == nil {
		t.Fatal("Open followed a symbolic link out of the store")
	}
}

func TestSigner(t *testing.T) {
	s, err := storage.NewSigner(secret, "/files/signed")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := storage.NewSigner([]byte("short"), "/x"); err == nil {
		t.Fatal("short secret accepted")
	}
	key := storage.NewKey()
	now := time.Now()
	opts := storage.SignOptions{ContentType: "image/png", Disposition: "inline"}
	raw := s.URL(key, now.Add(time.Minute), opts)
	u, _ := url.Parse(raw)
	if u.Path != "/files/signed/"+key {
		t.Fatalf("path %q", u.Path)
	}
	got, err := s.Verify(key, u.Query(), now)
	if err != nil || got != opts {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	if _, err := s.Verify(key, u.Query(), now.Add(2*time.Minute)); !errors.Is(err, storage.ErrBadSignature) {
		t.Fatalf("expired URL: %v", err)
	}
	other, _ := storage.NewSigner(bytes.Repeat([]byte("z"), 32), "/files/signed")
	if _, err := other.Verify(key, u.Query(), now); !errors.Is(err, storage.ErrBadSignature) {
		t.Fatalf("other secret: %v", err)
	}
	for name, tamper := range map[string]func(q url.Values){
		"type":        func(q url.Values) { q.Set("t", "text/html") },
		"disposition": func(q url.Values) { q.Set("d", "inline") },
		"expiry":      func(q url.Values) { q.Set("e", q.Get("e")+"0") },
		"signature":   func(q url.Values) { q.Set("s", strings.Repeat("A", 43)) },
		"no sig":      func(q url.Values) { q.Del("s") },
	} {
		q := u.Query()
		if name == "disposition" {
			q.Set("d", "attachment")
		}
		tamper(q)
		if name == "disposition" {
			q.Set("d", "inline; x")
		}
		if _, err := s.Verify(key, q, now); !errors.Is(err, storage.ErrBadSignature) {
			t.Errorf("tampered %s: %v", name, err)
		}
	}
	if _, err := s.Verify(storage.NewKey(), u.Query(), now); !errors.Is(err, storage.ErrBadSignature) {
		t.Error("signature accepted for another key")
	}
}

// TestLocalWithoutSignerRefusesSignedURLs: without storage.signing_key a
// local store says what is missing instead of signing with nothing.
func TestLocalWithoutSignerRefusesSignedURLs(t *testing.T) {
	st, err := storage.NewLocal(filepath.Join(t.TempDir(), "files"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.SignedURL(context.Background(), storage.NewKey(), time.Minute, storage.SignOptions{}); !errors.Is(err, storage.ErrNoSigner) {
		t.Fatalf("SignedURL without a signer: %v, want ErrNoSigner", err)
	}
}

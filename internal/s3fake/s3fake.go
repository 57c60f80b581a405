// Package s3fake serves an in-memory S3-compatible server (gofakes3) on a
// loopback httptest server, for tests of the S3 store.
package s3fake

import (
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is a running fake S3 server with one bucket.
type Server struct {
	// URL is the endpoint, http://127.0.0.1:port.
	URL string
	// Bucket is the bucket created for the test.
	Bucket string
	// AccessKey and SecretKey are credentials the server accepts.
	AccessKey, SecretKey string
}

// Start serves a fake S3 with bucket "trellis-test" until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("trellis-test"); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(ts.Close)
	return &Server{URL: ts.URL, Bucket: "trellis-test", AccessKey: "test-access-key", SecretKey: "test-secret-key-0123456789"}
}

package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Options configure an S3 store.
type S3Options struct {
	// Endpoint is the server's URL, such as "https://s3.eu-west-1.amazonaws.com"
	// or "http://127.0.0.1:9000".
	Endpoint string
	// Bucket holds the objects; it must exist.
	Bucket string
	// Region is the bucket's region ("us-east-1" when empty).
	Region string
	// AccessKey and SecretKey are the credentials.
	AccessKey string
	// SecretKey is the secret matching AccessKey.
	SecretKey string
	// PathStyle addresses the bucket as endpoint/bucket instead of
	// bucket.endpoint (needed by most self-hosted servers).
	PathStyle bool
	// Transport, when set, replaces the HTTP transport (tests).
	Transport http.RoundTripper
}

// S3 stores objects in an S3-compatible bucket through minio-go.
type S3 struct {
	client *minio.Client
	bucket string
}

// partSize is the multipart chunk for uploads of unknown size: the
// smallest S3 accepts, so an upload holds at most this much in memory.
const partSize = 5 << 20

// NewS3 returns a store on the bucket. It does not contact the server;
// Check does.
func NewS3(o S3Options) (*S3, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("storage: S3 endpoint %q is not an http(s)://host[:port] URL", o.Endpoint)
	}
	lookup := minio.BucketLookupAuto
	if o.PathStyle {
		lookup = minio.BucketLookupPath
	}
	region := o.Region
	if region == "" {
		region = "us-east-1"
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       region,
		BucketLookup: lookup,
		Transport:    o.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: S3 client: %w", err)
	}
	return &S3{client: c, bucket: o.Bucket}, nil
}

// Check reports whether the bucket exists and the credentials reach it.
func (s *S3) Check(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("storage: S3 bucket %q: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("storage: S3 bucket %q does not exist", s.bucket)
	}
	return nil
}

// Put uploads the object; S3 makes it visible only once complete.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	_, err := s.client.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{
		ContentType: contentType, PartSize: partSize,
		// Unsigned payload: no second SHA-256 pass over the body (TLS
		// protects it in production), and servers that do not decode
		// aws-chunked multipart parts read the bytes as sent.
		DisableContentSha256: true,
	})
	if err != nil {
		return fmt.Errorf("storage: uploading %s: %w", key, err)
	}
	return nil
}

// Open fetches the object lazily: reads and seeks become ranged GETs.
func (s *S3) Open(ctx context.Context, key string) (Object, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s3Error(key, err)
	}
	return &s3Object{Object: obj, info: info}, nil
}

type s3Object struct {
	*minio.Object
	info Info
}

func (o *s3Object) Info() Info { return o.info }

// Stat asks the server for the object's metadata.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := checkKey(key); err != nil {
		return Info{}, err
	}
	st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s3Error(key, err)
	}
	return Info{Key: key, Size: st.Size, ContentType: st.ContentType, ModTime: st.LastModified}, nil
}

// Delete removes the object.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if errors.Is(s3Error(key, err), ErrNotFound) {
			return nil
		}
		return fmt.Errorf("storage: deleting %s: %w", key, err)
	}
	return nil
}

// Walk lists the bucket; objects whose names are not valid keys are
// skipped (they were not written by Trellis).
func (s *S3) Walk(ctx context.Context, fn func(Info) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine when fn fails
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			return fmt.Errorf("storage: listing bucket %q: %w", s.bucket, o.Err)
		}
		if !ValidKey(o.Key) {
			continue
		}
		if err := fn(Info{Key: o.Key, Size: o.Size, ContentType: o.ContentType, ModTime: o.LastModified}); err != nil {
			return err
		}
	}
	return nil
}

// SignedURL presigns a GET whose response carries the given type and
// disposition (S3's response-content-* parameters, covered by the
// signature). S3 accepts at most seven days.
func (s *S3) SignedURL(ctx context.Context, key string, ttl time.Duration, opts SignOptions) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	params := url.Values{}
	if opts.ContentType != "" {
		params.Set("response-content-type", opts.ContentType)
	}
	if opts.Disposition != "" {
		params.Set("response-content-disposition", opts.Disposition)
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, key, ttl, params)
	if err != nil {
		return "", fmt.Errorf("storage: presigning %s: %w", key, err)
	}
	return u.String(), nil
}

func s3Error(key string, err error) error {
	switch minio.ToErrorResponse(err).Code {
	case minio.NoSuchKey, "NotFound":
		return fmt.Errorf("storage: %s: %w", key, ErrNotFound)
	}
	return fmt.Errorf("storage: %s: %w", key, err)
}

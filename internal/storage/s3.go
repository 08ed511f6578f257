// Package storage is riptide's S3 client: streamed multipart uploads,
// presigned GET URLs and the bucket checks the API and dev stack need. It
// works with AWS S3 and any S3-compatible server.
package storage

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Settings describe the bucket that receives the media. The envconfig tags
// are read by internal/config, which loads them as RIPTIDE_S3_*.
type Settings struct {
	// Endpoint is empty for AWS; set it for any S3-compatible server.
	Endpoint        string
	Region          string `default:"us-east-1"`
	Bucket          string `default:"riptide"`
	AccessKeyID     string `split_words:"true"`
	SecretAccessKey string `split_words:"true"`
	// PathStyle addresses the bucket as endpoint/bucket/key, which most
	// self-hosted S3 servers need.
	PathStyle  bool          `split_words:"true"`
	PresignTTL time.Duration `split_words:"true" default:"24h"`
	// PartSize and Concurrency shape multipart uploads. Parts are read
	// straight from the file, so neither costs memory.
	PartSize    int64 `split_words:"true" default:"16777216"`
	Concurrency int   `default:"4"`
}

// Store uploads to and signs URLs for one bucket.
type Store struct {
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
	// Multipart settings.
	partSize    int64
	concurrency int
	presignTTL  time.Duration
}

// New builds a Store from the S3 settings. Credentials come from the settings
// when given, else from the AWS default chain (environment, profile, IAM role).
func New(ctx context.Context, c Settings) (*Store, error) {
	return newS3(ctx, c, nil)
}

// newS3 is New with the HTTP client a client's target needs (nil: the
// SDK's own).
func newS3(ctx context.Context, c Settings, hc *http.Client) (*Store, error) {
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(c.Region)}
	if hc != nil {
		// The SDK wants its own buildable client (it may add CA bundles
		// to it); it dials as hc's transport does: through the guard.
		bc := awshttp.NewBuildableClient()
		if tr, ok := hc.Transport.(*http.Transport); ok {
			bc = bc.WithTransportOptions(func(t *http.Transport) {
				t.DialContext, t.Proxy = tr.DialContext, tr.Proxy
			})
		}
		opts = append(opts, awsconfig.WithHTTPClient(bc))
	}
	if c.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3 config: %w", err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
		o.UsePathStyle = c.PathStyle
		// Many S3-compatible servers reject the SDK's default trailing
		// checksums; send them only where S3 requires them.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &Store{
		client:      client,
		presign:     s3.NewPresignClient(client),
		bucket:      c.Bucket,
		presignTTL:  c.PresignTTL,
		partSize:    c.PartSize,
		concurrency: max(c.Concurrency, 1),
	}, nil
}

// Bucket is the bucket this store writes to.
func (s *Store) Bucket() string { return s.bucket }

// Client exposes the underlying S3 client (tests and tools).
func (s *Store) Client() *s3.Client { return s.client }

// Upload streams path to key in parts, so memory stays bounded by part size
// times concurrency whatever the file size. S3 publishes a multipart object
// only when it completes, so a failed upload never leaves a partial object.
// Every object gets an explicit Content-Type, application/octet-stream when
// contentType is empty: never one a server guesses from the key's name.
func (s *Store) Upload(ctx context.Context, key, path, contentType string, onProgress func(sent int64)) (int64, error) {
	contentType = cmp.Or(contentType, OctetStream)
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err := s.uploadFile(ctx, key, f, st.Size(), contentType, onProgress); err != nil {
		return 0, fmt.Errorf("upload s3://%s/%s: %w", s.bucket, key, err)
	}
	return st.Size(), nil
}

// PresignGet returns a GET URL for key valid for the configured TTL.
func (s *Store) PresignGet(ctx context.Context, key string) (string, error) {
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)},
		s3.WithPresignExpires(s.presignTTL))
	if err != nil {
		return "", fmt.Errorf("presign s3://%s/%s: %w", s.bucket, key, err)
	}
	return req.URL, nil
}

// Delete removes the object at key. S3 answers a key without an object as
// it answers a deleted one, so deleting twice is no error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}); err != nil {
		return fmt.Errorf("delete s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// Ping checks that the bucket is reachable with the configured credentials.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)})
	return err
}

// EnsureBucket creates the bucket unless it exists already.
func (s *Store) EnsureBucket(ctx context.Context) error {
	_, err := s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.bucket)})
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	if err == nil || errors.As(err, &owned) || errors.As(err, &exists) {
		return nil
	}
	return fmt.Errorf("create bucket %s: %w", s.bucket, err)
}

// HTTPStatus extracts the HTTP status of an S3 error, or 0.
func HTTPStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// OctetStream is the Content-Type of an object riptide does not type.
const OctetStream = "application/octet-stream"

// PutObject writes a small object in one request (batch manifests).
func (s *Store) PutObject(ctx context.Context, key string, body []byte, contentType string) error {
	contentType = cmp.Or(contentType, OctetStream)
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String(contentType), ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// GetObject reads a whole object; only for small ones such as manifests.
func (s *Store) GetObject(ctx context.Context, key string) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", s.bucket, key, err)
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// Keys lists the keys under prefix, at most limit of them, in S3's order
// (by key).
func (s *Store) Keys(ctx context.Context, prefix string, limit int) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() && len(keys) < limit {
		out, err := p.NextPage(ctx)
		if err != nil {
			return keys, fmt.Errorf("list s3://%s/%s: %w", s.bucket, prefix, err)
		}
		for _, o := range out.Contents {
			if len(keys) < limit {
				keys = append(keys, aws.ToString(o.Key))
			}
		}
	}
	return keys, nil
}

// Stat returns the size of the object at key.
func (s *Store) Stat(ctx context.Context, key string) (int64, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if HTTPStatus(err) == 404 {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("head s3://%s/%s: %w", s.bucket, key, err)
	}
	return aws.ToInt64(out.ContentLength), nil
}

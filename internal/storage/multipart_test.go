//go:build integration

package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/devstack"
)

// newTestStore starts versitygw on loopback and returns a Store on a fresh
// bucket with 5 MiB parts (S3's minimum) and 3 parts in flight.
func newTestStore(t *testing.T) *Store {
	t.Helper()
	bin := os.Getenv("RIPTIDE_VERSITYGW_BIN")
	if bin == "" {
		if os.Getenv("RIPTIDE_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("RIPTIDE_VERSITYGW_BIN is required")
		}
		t.Skip("RIPTIDE_VERSITYGW_BIN not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	port, err := devstack.FreePort()
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := devstack.StartS3(ctx, devstack.S3Options{Bin: bin, Dir: t.TempDir(), Addr: addr,
		AccessKey: "test", SecretKey: "test-secret", Log: io.Discard})
	require.NoError(t, err)
	t.Cleanup(func() { p.Stop(10 * time.Second) })
	s, err := New(ctx, Settings{Endpoint: "http://" + addr, Region: "us-east-1", Bucket: "multipart",
		AccessKeyID: "test", SecretAccessKey: "test-secret", PathStyle: true, PresignTTL: time.Hour,
		PartSize: minPartSize, Concurrency: 3})
	require.NoError(t, err)
	require.NoError(t, s.EnsureBucket(ctx))
	return s
}

func randomFile(t *testing.T, size int) (string, []byte) {
	t.Helper()
	b := make([]byte, size)
	_, _ = rand.Read(b)
	path := filepath.Join(t.TempDir(), "media.bin")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return path, b
}

func (s *Store) get(t *testing.T, key string) []byte {
	t.Helper()
	out, err := s.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	require.NoError(t, err)
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	return b
}

func (s *Store) pendingUploads(t *testing.T) int {
	t.Helper()
	out, err := s.client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(s.bucket)})
	require.NoError(t, err)
	return len(out.Uploads)
}

func TestUploadSendsPartsStraightFromTheFile(t *testing.T) {
	s := newTestStore(t)
	for _, size := range []int{0, 1234, minPartSize, 3*minPartSize + 4321} {
		path, want := randomFile(t, size)
		var sent atomic.Int64
		n, err := s.Upload(context.Background(), "k", path, "video/mp4", func(d int64) { sent.Add(d) })
		require.NoError(t, err, "size %d", size)
		require.EqualValues(t, size, n)
		require.EqualValues(t, size, sent.Load(), "progress adds up to the size")
		require.True(t, bytes.Equal(want, s.get(t, "k")), "size %d: object differs", size)
	}
	require.Zero(t, s.pendingUploads(t))
}

// A cancelled upload leaves neither an object nor parts behind.
func TestCancelledUploadAbortsTheMultipartUpload(t *testing.T) {
	s := newTestStore(t)
	path, _ := randomFile(t, 6*minPartSize)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := s.Upload(ctx, "cancelled", path, "", func(int64) { cancel() }) // after the first part
	require.Error(t, err)
	require.True(t, errors.Is(err, context.Canceled), "%v", err)
	require.Zero(t, s.pendingUploads(t), "multipart upload aborted")
	_, err = s.client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String("cancelled")})
	var nf *types.NotFound
	require.True(t, errors.As(err, &nf), "no object: %v", err)
}

func TestPartSizeGrowsToStayWithinTheS3PartLimit(t *testing.T) {
	for _, tc := range []struct{ configured, size, want int64 }{
		{16 << 20, 1 << 30, 16 << 20},
		{16 << 20, 200 << 30, (200<<30 + maxParts - 1) / maxParts},
		{1 << 20, 10 << 20, minPartSize},
	} {
		require.Equal(t, tc.want, partSizeFor(tc.configured, tc.size))
	}
}

// An upload that stores its key aborts the multipart uploads of that key an
// earlier attempt left behind (its abort could not reach S3), and only
// those.
func TestUploadAbortsLeftoversOfItsKey(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	for _, key := range []string{"job/a.mp4", "job/a.mp4", "job/a.mp4.other"} {
		_, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
		require.NoError(t, err)
	}
	require.Equal(t, 3, s.pendingUploads(t))
	time.Sleep(1100 * time.Millisecond) // S3 dates uploads to the second
	for _, size := range []int{1234, 2*minPartSize + 1} {
		path, want := randomFile(t, size)
		_, err := s.Upload(ctx, "job/a.mp4", path, "video/mp4", nil)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, s.get(t, "job/a.mp4")))
		require.Equal(t, 1, s.pendingUploads(t), "size %d: the other key's upload is left alone", size)
	}
}

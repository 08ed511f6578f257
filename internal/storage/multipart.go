package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3's multipart limits.
const (
	maxParts    = 10000
	minPartSize = 5 << 20
)

// abortTimeout bounds the abort of a failed multipart upload, which runs
// even when the caller's context is cancelled so no parts are left behind.
const abortTimeout = 30 * time.Second

// uploadFile uploads an open file of the given size. Every request body is
// an io.SectionReader over the file: nothing is copied into memory, and the
// SDK can seek back to retry a request. The SDK's transfer manager copies
// each part into a pooled buffer instead (part size × (concurrency + 1) per
// upload, dropped after each upload), which put the worker at 771 MiB with
// four uploads in flight.
func (s *Store) uploadFile(ctx context.Context, key string, f *os.File, size int64, contentType string, onProgress func(int64)) error {
	started := time.Now()
	progress := func(n int64) {
		if onProgress != nil {
			onProgress(n)
		}
	}
	partSize := partSizeFor(s.partSize, size)
	if size <= partSize {
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(s.bucket), Key: aws.String(key), ContentType: optional(contentType),
			Body: io.NewSectionReader(f, 0, size), ContentLength: aws.Int64(size),
		})
		if err == nil {
			progress(size)
			s.abortLeftovers(ctx, key, started)
		}
		return err
	}

	created, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), ContentType: optional(contentType),
	})
	if err != nil {
		return err
	}
	uploadID := created.UploadId
	parts, err := s.uploadParts(ctx, key, uploadID, f, size, partSize, progress)
	if err == nil {
		_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: uploadID,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		})
	}
	if err == nil {
		s.abortLeftovers(ctx, key, started)
	}
	if err != nil {
		// S3 publishes the object only on completion; abort so the parts
		// stop taking space (and money) in the bucket.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer cancel()
		if aerr := s.abort(actx, key, uploadID); aerr != nil {
			err = errors.Join(err, fmt.Errorf("aborting multipart upload %s: %w", aws.ToString(uploadID), aerr))
		}
	}
	return err
}

// abort aborts a multipart upload until it stays gone. A part upload the
// server was still handling when the abort arrived can bring the upload
// back (S3 documents this; versitygw does it), so abort checks with
// ListParts and aborts again.
func (s *Store) abort(ctx context.Context, key string, uploadID *string) error {
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: uploadID,
		})
		var gone *types.NoSuchUpload
		if err != nil && !errors.As(err, &gone) {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		_, err = s.client.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: uploadID})
		if errors.As(err, &gone) {
			return nil
		}
		if attempt == 5 {
			return fmt.Errorf("upload still present after %d aborts (last check: %v)", attempt, err)
		}
		wait *= 2
	}
}

// abortLeftovers aborts the unfinished multipart uploads of key begun before
// this upload (started), once key is stored: those an earlier attempt could
// not abort because S3 was unreachable when it failed (an outage, a
// partition) or its worker died mid-upload. Keys are fixed per job, so such
// an upload is a dead attempt of the same job, or a late one whose result
// is no longer wanted (two jobs given the same filename overwrite each
// other anyway). Best effort: the object is stored whatever happens here.
func (s *Store) abortLeftovers(ctx context.Context, key string, started time.Time) {
	out, err := s.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{
		Bucket: aws.String(s.bucket), Prefix: aws.String(key),
	})
	if err != nil {
		return
	}
	for _, u := range out.Uploads {
		if aws.ToString(u.Key) != key || !aws.ToTime(u.Initiated).Before(started) {
			continue
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		_ = s.abort(actx, key, u.UploadId)
		cancel()
	}
}

// uploadParts sends the file's parts with s.concurrency requests in flight
// and returns them in order, or the first error (which stops the rest).
func (s *Store) uploadParts(ctx context.Context, key string, uploadID *string, f *os.File, size, partSize int64, progress func(int64)) ([]types.CompletedPart, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	n := int((size + partSize - 1) / partSize)
	next := make(chan int32)
	var (
		mu    sync.Mutex
		parts = make([]types.CompletedPart, 0, n)
		wg    sync.WaitGroup
	)
	for range min(s.concurrency, n) {
		wg.Go(func() {
			for num := range next {
				if ctx.Err() != nil {
					continue // drain next
				}
				off := int64(num-1) * partSize
				length := min(partSize, size-off)
				out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
					Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: uploadID,
					PartNumber: aws.Int32(num), Body: io.NewSectionReader(f, off, length), ContentLength: aws.Int64(length),
				})
				if err != nil {
					cancel(fmt.Errorf("part %d: %w", num, err))
					continue // drain next
				}
				progress(length)
				mu.Lock()
				parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
				mu.Unlock()
			}
		})
	}
feed:
	for num := int32(1); int(num) <= n; num++ {
		select {
		case next <- num:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	slices.SortFunc(parts, func(a, b types.CompletedPart) int {
		return cmp.Compare(aws.ToInt32(a.PartNumber), aws.ToInt32(b.PartNumber))
	})
	return parts, nil
}

// partSizeFor is the configured part size, raised to S3's minimum and so
// that the file needs at most maxParts parts.
func partSizeFor(configured, size int64) int64 {
	return max(configured, minPartSize, (size+maxParts-1)/maxParts)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

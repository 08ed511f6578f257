package storage

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/riptide-dev/riptide/workflows"
)

// blobStore is one Azure Blob container, with an account key or a SAS
// token. Uploads are block uploads read straight from the file.
type blobStore struct {
	client     *azblob.Client
	container  *container.Client
	name       string
	sasOnly    bool
	blockSize  int64
	parallel   uint16
	presignTTL time.Duration
}

func newBlob(t workflows.StorageTarget, tuning Settings, hc *http.Client) (*blobStore, error) {
	if t.AccountName == "" || t.Bucket == "" {
		return nil, fmt.Errorf("blob storage needs account_name and container")
	}
	service := strings.TrimSuffix(cmp.Or(t.Endpoint, "https://"+t.AccountName+".blob.core.windows.net"), "/") + "/"
	s := &blobStore{
		name: t.Bucket, blockSize: min(max(tuning.PartSize, 1<<20), 4000<<20),
		parallel: uint16(max(tuning.Concurrency, 1)), presignTTL: tuning.PresignTTL,
	}
	var err error
	opts := &azblob.ClientOptions{ClientOptions: policy.ClientOptions{Transport: hc}}
	switch {
	case t.AccountKey != "":
		var cred *azblob.SharedKeyCredential
		if cred, err = azblob.NewSharedKeyCredential(t.AccountName, t.AccountKey); err != nil {
			return nil, fmt.Errorf("blob account_key: %w", err)
		}
		s.client, err = azblob.NewClientWithSharedKeyCredential(service, cred, opts)
	case t.SASToken != "":
		s.sasOnly = true
		s.client, err = azblob.NewClientWithNoCredential(service+"?"+strings.TrimPrefix(t.SASToken, "?"), opts)
	default:
		return nil, fmt.Errorf("blob storage needs account_key or sas_token")
	}
	if err != nil {
		return nil, fmt.Errorf("blob client: %w", err)
	}
	s.container = s.client.ServiceClient().NewContainerClient(t.Bucket)
	return s, nil
}

func (s *blobStore) Upload(ctx context.Context, key, path, contentType string, onProgress func(int64)) (int64, error) {
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
	var last int64
	_, err = s.client.UploadFile(ctx, s.name, key, f, &azblob.UploadFileOptions{
		BlockSize: s.blockSize, Concurrency: s.parallel,
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: &contentType},
		Progress: func(total int64) {
			// Cumulative, and it may go back on a retried block.
			if onProgress != nil && total > last {
				onProgress(total - last)
				last = total
			}
		},
	})
	if err != nil {
		// Uncommitted blocks are never visible and Azure drops them.
		return 0, fmt.Errorf("upload blob %s/%s: %w", s.name, key, err)
	}
	return st.Size(), nil
}

func (s *blobStore) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteBlob(ctx, s.name, key, nil)
	if err != nil && !bloberror.HasCode(err, bloberror.BlobNotFound) {
		return fmt.Errorf("delete blob %s/%s: %w", s.name, key, err)
	}
	return nil
}

func (s *blobStore) Stat(ctx context.Context, key string) (int64, error) {
	p, err := s.container.NewBlobClient(key).GetProperties(ctx, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("stat blob %s/%s: %w", s.name, key, err)
	}
	if p.ContentLength == nil {
		return 0, nil
	}
	return *p.ContentLength, nil
}

// PresignGet signs a read-only SAS URL with the account key. A SAS token
// cannot sign a narrower one, and handing out the token itself would hand
// out the client's credential: ErrNoSignedURL.
func (s *blobStore) PresignGet(_ context.Context, key string) (string, error) {
	if s.sasOnly {
		return "", ErrNoSignedURL
	}
	u, err := s.container.NewBlobClient(key).GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(s.presignTTL), nil)
	if err != nil {
		return "", fmt.Errorf("sign blob %s/%s: %w", s.name, key, err)
	}
	return u, nil
}

func (s *blobStore) Ping(ctx context.Context) error {
	if s.sasOnly {
		// A SAS token scoped to blobs may not read the container's
		// properties; Verify's upload is the real check.
		return nil
	}
	_, err := s.container.GetProperties(ctx, nil)
	return err
}

package storage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sync"

	"github.com/riptide-dev/riptide/workflows"
)

// Provider is one bucket (or container) of any provider: the slice of a
// storage service riptide uses. Uploads stream from the file (multipart,
// blocks or resumable chunks), so memory stays flat in file size.
type Provider interface {
	// Upload streams the file at path to key; onProgress receives the
	// bytes sent since its last call. A failed upload leaves no object.
	Upload(ctx context.Context, key, path, contentType string, onProgress func(sent int64)) (int64, error)
	// Delete removes key; a key without an object is no error.
	Delete(ctx context.Context, key string) error
	// Stat returns the size of the object at key, ErrNotFound when none.
	Stat(ctx context.Context, key string) (int64, error)
	// PresignGet returns a time-limited GET URL for key ("" with
	// ErrNoSignedURL when the credentials cannot sign one).
	PresignGet(ctx context.Context, key string) (string, error)
	// Ping checks the bucket is reachable with the credentials.
	Ping(ctx context.Context) error
}

// Errors of Provider methods.
var (
	ErrNotFound    = errors.New("no such object")
	ErrNoSignedURL = errors.New("these credentials cannot sign a URL")
)

var (
	_ Provider = (*Store)(nil)
	_ Provider = (*blobStore)(nil)
	_ Provider = (*gcsStore)(nil)
)

// Open builds the provider client of a target. Tuning (part size,
// concurrency, presign TTL) comes from the deployment's settings.
// hc makes every request (the network guard's client: endpoints and
// token URLs come from clients); nil: http.DefaultClient.
func Open(ctx context.Context, t workflows.StorageTarget, tuning Settings, hc *http.Client) (Provider, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	switch t.Provider {
	case workflows.ProviderS3, workflows.ProviderOSS:
		s := tuning
		s.Endpoint, s.Bucket, s.AccessKeyID, s.SecretAccessKey, s.PathStyle = t.Endpoint, t.Bucket, t.AccessKey, t.SecretKey, t.PathStyle
		s.Region = t.Region
		if s.Region == "" {
			s.Region = "us-east-1"
		}
		if t.AccessKey == "" {
			// Never the worker's own ambient credentials for a client's bucket.
			return nil, fmt.Errorf("%s storage needs access_key and secret_key", t.Provider)
		}
		return newS3(ctx, s, hc)
	case workflows.ProviderBlob:
		return newBlob(t, tuning, hc)
	case workflows.ProviderGCS:
		return newGCS(ctx, t, tuning, hc)
	}
	return nil, fmt.Errorf("unknown storage provider %q", t.Provider)
}

// Verify proves a target usable as the hosted service does before saving
// it: it uploads a small object under the target's prefix, reads its size
// back and deletes it.
func Verify(ctx context.Context, p Provider, prefix string) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	key := path.Join(prefix, ".riptide-verify-"+hex.EncodeToString(rnd[:]))
	dir, err := os.MkdirTemp("", "riptide-verify")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "verify.txt")
	body := []byte("riptide storage check\n")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		return err
	}
	if _, err := p.Upload(ctx, key, file, "text/plain", nil); err != nil {
		return fmt.Errorf("test upload: %w", err)
	}
	if n, err := p.Stat(ctx, key); err != nil || n != int64(len(body)) {
		_ = p.Delete(context.WithoutCancel(ctx), key)
		return fmt.Errorf("test object unreadable (size %d): %v", n, err)
	}
	if err := p.Delete(ctx, key); err != nil {
		return fmt.Errorf("test delete: %w", err)
	}
	return nil
}

// Cache keeps one client per target, keyed by a hash of the whole target
// (credentials included, so a rotated key gets a new client).
type Cache struct {
	Tuning Settings
	// HTTP makes the providers' requests (nil: http.DefaultClient).
	HTTP   *http.Client
	mu     sync.Mutex
	byHash map[[32]byte]Provider
}

// maxCached bounds the cache; past it, it starts over.
const maxCached = 256

// Open returns the cached client of t, building it once.
func (c *Cache) Open(ctx context.Context, t workflows.StorageTarget) (Provider, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(b)
	c.mu.Lock()
	p, ok := c.byHash[h]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err = Open(ctx, t, c.Tuning, c.HTTP)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byHash == nil || len(c.byHash) >= maxCached {
		c.byHash = map[[32]byte]Provider{}
	}
	c.byHash[h] = p
	return p, nil
}

package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	gcs "cloud.google.com/go/storage"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/option"

	"github.com/riptide-dev/riptide/workflows"
)

// gcsStore is one Google Cloud Storage bucket, with a service account's
// JSON key. Uploads are resumable uploads in ChunkSize chunks: the writer
// holds one chunk, whatever the file's size.
type gcsStore struct {
	client     *gcs.Client
	bucket     *gcs.BucketHandle
	name       string
	email      string
	key        []byte
	insecure   bool
	chunk      int
	presignTTL time.Duration
}

// serviceAccount is the part of a service account's JSON key riptide reads.
type serviceAccount struct {
	Type        string `json:"type"`
	ProjectID   string `json:"project_id"`
	ClientEmail string `json:"client_email"`
	PrivateKey  string `json:"private_key"`
}

// gcsScope is what riptide does with a bucket: write and delete objects.
const gcsScope = "https://www.googleapis.com/auth/devstorage.read_write"

func newGCS(ctx context.Context, t workflows.StorageTarget, tuning Settings, hc *http.Client) (*gcsStore, error) {
	var sa serviceAccount
	if err := json.Unmarshal([]byte(t.ServiceAccountJSON), &sa); err != nil || sa.Type != "service_account" || sa.ClientEmail == "" || sa.PrivateKey == "" {
		return nil, errors.New("gcs service_account_json must be a service account's JSON key (type service_account, client_email, private_key)")
	}
	if t.Bucket == "" {
		return nil, errors.New("gcs storage needs bucket")
	}
	jwt, err := google.JWTConfigFromJSON([]byte(t.ServiceAccountJSON), gcsScope)
	if err != nil {
		return nil, fmt.Errorf("gcs service_account_json: %w", err)
	}
	// The token exchange goes through the same (guarded) client as the
	// API calls: its token_uri comes from the client's JSON.
	tctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, hc)
	authed := &http.Client{Transport: &oauth2.Transport{Source: jwt.TokenSource(tctx), Base: hc.Transport}}
	opts := []option.ClientOption{option.WithHTTPClient(authed)}
	if t.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(strings.TrimSuffix(t.Endpoint, "/")+"/storage/v1/"))
	}
	client, err := gcs.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("gcs client: %w", err)
	}
	chunk := int(max(tuning.PartSize, 256<<10))
	chunk -= chunk % (256 << 10)
	return &gcsStore{
		client: client, bucket: client.Bucket(t.Bucket), name: t.Bucket,
		email: sa.ClientEmail, key: []byte(sa.PrivateKey), chunk: chunk,
		insecure: strings.HasPrefix(t.Endpoint, "http://"), presignTTL: tuning.PresignTTL,
	}, nil
}

func (s *gcsStore) Upload(ctx context.Context, key, path, contentType string, onProgress func(int64)) (int64, error) {
	if contentType == "" {
		contentType = OctetStream
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	// Cancelling the writer's context is how a resumable upload is
	// abandoned: no object appears.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := s.bucket.Object(key).NewWriter(wctx)
	w.ChunkSize = s.chunk
	w.ContentType = contentType
	var last int64
	w.ProgressFunc = func(total int64) {
		if onProgress != nil && total > last {
			onProgress(total - last)
			last = total
		}
	}
	n, err := io.Copy(w, f)
	if err != nil {
		cancel()
		_ = w.Close()
		return 0, fmt.Errorf("upload gs://%s/%s: %w", s.name, key, err)
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("upload gs://%s/%s: %w", s.name, key, err)
	}
	return n, nil
}

func (s *gcsStore) Delete(ctx context.Context, key string) error {
	err := s.bucket.Object(key).Delete(ctx)
	if err != nil && !errors.Is(err, gcs.ErrObjectNotExist) {
		return fmt.Errorf("delete gs://%s/%s: %w", s.name, key, err)
	}
	return nil
}

func (s *gcsStore) Stat(ctx context.Context, key string) (int64, error) {
	a, err := s.bucket.Object(key).Attrs(ctx)
	if errors.Is(err, gcs.ErrObjectNotExist) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("stat gs://%s/%s: %w", s.name, key, err)
	}
	return a.Size, nil
}

// PresignGet signs a V4 URL with the service account's private key, on
// the client's endpoint (the emulator's in tests).
func (s *gcsStore) PresignGet(_ context.Context, key string) (string, error) {
	u, err := s.bucket.SignedURL(key, &gcs.SignedURLOptions{
		GoogleAccessID: s.email, PrivateKey: s.key, Method: http.MethodGet,
		Expires: time.Now().Add(s.presignTTL), Scheme: gcs.SigningSchemeV4, Insecure: s.insecure,
	})
	if err != nil {
		return "", fmt.Errorf("sign gs://%s/%s: %w", s.name, key, err)
	}
	return u, nil
}

func (s *gcsStore) Ping(ctx context.Context) error {
	_, err := s.bucket.Attrs(ctx)
	return err
}

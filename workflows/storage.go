package workflows

import "path"

// Storage providers of a StorageTarget.
const (
	ProviderS3   = "s3"   // AWS S3, R2, MinIO, versitygw, any S3-compatible server
	ProviderOSS  = "oss"  // Alibaba OSS, through its S3-compatible API
	ProviderBlob = "blob" // Azure Blob Storage
	ProviderGCS  = "gcs"  // Google Cloud Storage
)

// DefaultBaseFolder is the base_folder of a tenant's saved storage when
// the client names none (the hosted service's default).
const DefaultBaseFolder = "videos"

// StorageTarget is a bucket (or container) a job's objects go to instead
// of the deployment's (RIPTIDE_S3_*): a per-request `storage` object or a
// tenant's saved storage (POST /user/*). It holds credentials: it travels
// in workflow inputs only (which the payload codec encrypts), never in a
// memo, a log or an API response; StorageRef is what may be shown.
type StorageTarget struct {
	Provider string
	// Bucket is the bucket (S3, OSS, GCS) or container (Azure Blob).
	Bucket   string
	Endpoint string `json:",omitempty"`
	Region   string `json:",omitempty"`
	// S3 and OSS.
	AccessKey string `json:",omitempty"`
	SecretKey string `json:",omitempty"`
	PathStyle bool   `json:",omitempty"`
	// Azure Blob: an account key or a SAS token.
	AccountName string `json:",omitempty"`
	AccountKey  string `json:",omitempty"`
	SASToken    string `json:",omitempty"`
	// GCS.
	ProjectID          string `json:",omitempty"`
	ServiceAccountJSON string `json:",omitempty"`
	// Prefix goes before every key (folder_prefix/base_folder of a saved
	// storage); empty for a per-request target.
	Prefix string `json:",omitempty"`
}

// StorageRef names a job's target without its credentials: the job's
// memo and view carry it.
type StorageRef struct {
	Provider string `json:"provider"`
	Bucket   string `json:"bucket"`
	Endpoint string `json:"endpoint,omitempty"`
	Prefix   string `json:"prefix,omitempty"`
}

// Ref is t without credentials; nil for nil.
func (t *StorageTarget) Ref() *StorageRef {
	if t == nil {
		return nil
	}
	return &StorageRef{Provider: t.Provider, Bucket: t.Bucket, Endpoint: t.Endpoint, Prefix: t.Prefix}
}

// prefixed is key under the target's prefix.
func (t *StorageTarget) prefixed(key string) string {
	if t == nil || t.Prefix == "" {
		return key
	}
	return path.Join(t.Prefix, key)
}

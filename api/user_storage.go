package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"google.golang.org/api/googleapi"

	"github.com/riptide-dev/riptide/internal/codec"
	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/internal/storage"
	"github.com/riptide-dev/riptide/workflows"
)

// Storage targets: POST/DELETE /user/{s3,bucket,oss,blob,gcs} save a
// tenant's storage in its entity workflow (workflows.Tenant) once a test
// upload and delete succeeded; POST /jobs, /batches and /jobs/bulk take a
// per-request `storage` object, verified the same way before anything
// starts. A job's target is the request's, else the tenant's, else the
// deployment's bucket (nil).

// TargetOpener opens the client of a storage target; *storage.Cache is one.
type TargetOpener interface {
	Open(ctx context.Context, t workflows.StorageTarget) (storage.Provider, error)
}

// storageFields is every field of a storage object; which ones a provider
// takes is storageAllowed's.
type storageFields struct {
	Provider           string `json:"provider"`
	Endpoint           string `json:"endpoint"`
	Bucket             string `json:"bucket"`
	Container          string `json:"container"`
	Region             string `json:"region"`
	AccessKey          string `json:"access_key"`
	SecretKey          string `json:"secret_key"`
	PathStyle          *bool  `json:"path_style"`
	AccountName        string `json:"account_name"`
	AccountKey         string `json:"account_key"`
	SASToken           string `json:"sas_token"`
	ProjectID          string `json:"project_id"`
	ServiceAccountJSON string `json:"service_account_json"`
	FolderPrefix       string `json:"folder_prefix"`
	BaseFolder         string `json:"base_folder"`
}

// storageAllowed are each provider's fields (folder_prefix and base_folder
// only for a saved storage, provider only per request).
var storageAllowed = map[string][]string{
	workflows.ProviderS3:   {"endpoint", "bucket", "region", "access_key", "secret_key", "path_style"},
	workflows.ProviderOSS:  {"endpoint", "bucket", "region", "access_key", "secret_key"},
	workflows.ProviderBlob: {"endpoint", "account_name", "container", "bucket", "account_key", "sas_token"},
	workflows.ProviderGCS:  {"endpoint", "bucket", "project_id", "service_account_json"},
}

// Limits of storage fields.
const (
	maxBucketChars = 255
	maxSecretChars = 4096
	maxSAJSONBytes = 16 << 10
)

// parseStorage validates a storage object. provider is fixed by a /user/*
// route ("" for a per-request object, which names it); prefix names the
// fields in errors ("storage." per request).
func parseStorage(raw json.RawMessage, provider, prefix string, saved bool, guard *netguard.Guard) (*workflows.StorageTarget, *apiError) {
	bad := func(code, field, format string, args ...any) (*workflows.StorageTarget, *apiError) {
		return nil, fieldError(code, prefix+field, format, args...)
	}
	if trimmed := bytes.TrimLeft(raw, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		if prefix != "" {
			return nil, fieldError(codeInvalidType, "storage", "storage must be an object")
		}
		return nil, newError(http.StatusBadRequest, codeInvalidJSON, "request body must be a JSON object")
	}
	var keys map[string]json.RawMessage
	if e := decodeObject(bytes.NewReader(raw), &keys); e != nil {
		return nil, e
	}
	var f storageFields
	if e := decodeObject(bytes.NewReader(raw), &f); e != nil {
		if e.Field != "" {
			e.Field = prefix + e.Field
			e.Message = prefix + e.Message
		}
		return nil, e
	}
	if provider == "" {
		if f.Provider == "" {
			return bad(codeMissingField, "provider", "%sprovider is required: s3, blob, gcs or oss", prefix)
		}
		provider = f.Provider
	}
	allowed, ok := storageAllowed[provider]
	if !ok || (provider != f.Provider && f.Provider != "") {
		return bad(codeInvalidField, "provider", "%sprovider must be one of s3, blob, gcs, oss", prefix)
	}
	for k := range keys {
		switch {
		case k == "provider" && !saved, (k == "folder_prefix" || k == "base_folder") && saved, slices.Contains(allowed, k):
		default:
			return bad(codeUnknownField, k, "%s%s: field is not used by %s storage", prefix, k, provider)
		}
	}
	t := &workflows.StorageTarget{Provider: provider, Bucket: f.Bucket, Region: f.Region}
	if f.Endpoint != "" {
		if e := checkURL(prefix+"endpoint", f.Endpoint, guard); e != nil {
			return nil, e
		}
		t.Endpoint = strings.TrimSuffix(f.Endpoint, "/")
	}
	if f.Region != "" && (len(f.Region) > 64 || strings.ContainsFunc(f.Region, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	})) {
		return bad(codeInvalidField, "region", "%sregion must be a region id such as us-east-1", prefix)
	}
	for name, v := range map[string]string{"access_key": f.AccessKey, "secret_key": f.SecretKey, "account_name": f.AccountName,
		"account_key": f.AccountKey, "sas_token": f.SASToken, "project_id": f.ProjectID} {
		if len(v) > maxSecretChars || strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) {
			return bad(codeInvalidField, name, "%s%s must be at most %d characters without spaces or control characters", prefix, name, maxSecretChars)
		}
	}
	bucketField := "bucket"
	switch provider {
	case workflows.ProviderS3, workflows.ProviderOSS:
		for _, r := range []struct{ name, v string }{{"bucket", f.Bucket}, {"access_key", f.AccessKey}, {"secret_key", f.SecretKey}} {
			if r.v == "" {
				return bad(codeMissingField, r.name, "%s%s is required for %s storage", prefix, r.name, provider)
			}
		}
		t.AccessKey, t.SecretKey = f.AccessKey, f.SecretKey
		// Self-hosted S3 servers (MinIO, versitygw) want path-style;
		// AWS and R2 take both. OSS takes virtual-hosted style only.
		t.PathStyle = provider == workflows.ProviderS3 && t.Endpoint != ""
		if f.PathStyle != nil {
			t.PathStyle = *f.PathStyle
		}
		if provider == workflows.ProviderOSS && t.Endpoint == "" {
			if f.Region == "" {
				return bad(codeMissingField, "region", "%sregion (such as cn-hangzhou) or endpoint is required for oss storage", prefix)
			}
			// Alibaba's S3-compatible endpoint for AWS SDKs.
			t.Endpoint = "https://s3.oss-" + f.Region + ".aliyuncs.com"
		}
	case workflows.ProviderBlob:
		bucketField = "container"
		if f.Container != "" && f.Bucket != "" && f.Container != f.Bucket {
			return bad(codeInvalidField, "container", "%scontainer and bucket name the same container: send one", prefix)
		}
		t.Bucket = f.Container + map[bool]string{true: f.Bucket}[f.Container == ""]
		switch {
		case f.AccountName == "":
			return bad(codeMissingField, "account_name", "%saccount_name is required for blob storage", prefix)
		case t.Bucket == "":
			return bad(codeMissingField, "container", "%scontainer is required for blob storage", prefix)
		case (f.AccountKey == "") == (f.SASToken == ""):
			return bad(codeMissingField, "account_key", "%sblob storage needs account_key or sas_token (one of them)", prefix)
		}
		t.AccountName, t.AccountKey, t.SASToken = f.AccountName, f.AccountKey, f.SASToken
	case workflows.ProviderGCS:
		if f.Bucket == "" {
			return bad(codeMissingField, "bucket", "%sbucket is required for gcs storage", prefix)
		}
		if f.ServiceAccountJSON == "" {
			return bad(codeMissingField, "service_account_json", "%sservice_account_json is required for gcs storage", prefix)
		}
		var sa struct {
			Type        string `json:"type"`
			ProjectID   string `json:"project_id"`
			ClientEmail string `json:"client_email"`
			PrivateKey  string `json:"private_key"`
		}
		if len(f.ServiceAccountJSON) > maxSAJSONBytes || json.Unmarshal([]byte(f.ServiceAccountJSON), &sa) != nil ||
			sa.Type != "service_account" || sa.ClientEmail == "" || sa.PrivateKey == "" {
			return bad(codeInvalidField, "service_account_json",
				"%sservice_account_json must be a service account's JSON key (a string holding type service_account, client_email, private_key)", prefix)
		}
		t.ServiceAccountJSON = f.ServiceAccountJSON
		t.ProjectID = f.ProjectID
		if t.ProjectID == "" {
			t.ProjectID = sa.ProjectID
		}
	}
	if utf8.RuneCountInString(t.Bucket) > maxBucketChars || strings.ContainsFunc(t.Bucket, func(r rune) bool {
		return r == '/' || r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r)
	}) {
		return bad(codeInvalidField, bucketField, "%s%s must be a bucket name (at most %d characters, no slashes or spaces)", prefix, bucketField, maxBucketChars)
	}
	if saved {
		fp, e := cleanPrefix(prefix+"folder_prefix", f.FolderPrefix)
		if e != nil {
			return nil, e
		}
		base := f.BaseFolder
		if _, set := keys["base_folder"]; !set {
			base = workflows.DefaultBaseFolder
		}
		bf, e := cleanPrefix(prefix+"base_folder", base)
		if e != nil {
			return nil, e
		}
		t.Prefix = path.Join(fp, bf)
		if t.Prefix == "." {
			t.Prefix = ""
		}
	}
	return t, nil
}

// cleanPrefix validates a key prefix as cleanFolder does a folder.
func cleanPrefix(field, s string) (string, *apiError) {
	out, e := cleanFolder(s)
	if e != nil {
		e.Field = field
		e.Message = field + strings.TrimPrefix(e.Message, "folder")
	}
	return out, e
}

// verifyStorage opens t's client and proves it with a test upload, read
// and delete. Its error names the field to fix and never quotes the
// provider's answer, which may carry a credential.
func (s *server) verifyStorage(ctx context.Context, t *workflows.StorageTarget, prefix string) *apiError {
	h := targetHash(t)
	if s.verified.fresh(h) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	p, err := s.Targets.Open(ctx, *t)
	if err == nil {
		err = storage.Verify(ctx, p, t.Prefix)
	}
	if err != nil {
		field, msg := classifyStorageError(t, err)
		// The provider's error stays at debug level: Azure's may quote a
		// request URL, which for a SAS token carries the token.
		s.Logger.WarnContext(ctx, "Storage verification failed", "provider", t.Provider, "bucket", t.Bucket, "field", prefix+field, "reason", msg)
		s.Logger.DebugContext(ctx, "Storage verification error", "provider", t.Provider, "error", redactStorageError(t, err))
		return fieldError(codeStorageVerification, prefix+field, "%s storage verification failed (a test upload to %s %q): %s",
			t.Provider, map[bool]string{true: "container", false: "bucket"}[t.Provider == workflows.ProviderBlob], t.Bucket, msg)
	}
	s.verified.add(h)
	return nil
}

// verifyTimeout bounds a verification.
const verifyTimeout = 30 * time.Second

// codeStorageVerification: the storage refused the test upload.
const codeStorageVerification = "storage_verification_failed"

// classifyStorageError maps a provider error to the field at fault and a
// message of riptide's own words.
func classifyStorageError(t *workflows.StorageTarget, err error) (field, msg string) {
	creds := map[string]string{workflows.ProviderS3: "secret_key", workflows.ProviderOSS: "secret_key",
		workflows.ProviderBlob: "account_key", workflows.ProviderGCS: "service_account_json"}[t.Provider]
	if t.Provider == workflows.ProviderBlob && t.AccountKey == "" {
		creds = "sas_token"
	}
	bucket := "bucket"
	if t.Provider == workflows.ProviderBlob {
		bucket = "container"
	}
	status := storage.HTTPStatus(err)
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		status = gerr.Code
	}
	switch {
	case bloberror.HasCode(err, bloberror.ContainerNotFound), status == http.StatusNotFound,
		strings.Contains(err.Error(), "NoSuchBucket"):
		return bucket, "the " + bucket + " does not exist"
	case bloberror.HasCode(err, bloberror.AuthenticationFailed, bloberror.AuthorizationFailure, bloberror.AuthorizationPermissionMismatch),
		status == http.StatusForbidden, status == http.StatusUnauthorized,
		strings.Contains(err.Error(), "InvalidAccessKeyId"), strings.Contains(err.Error(), "SignatureDoesNotMatch"),
		strings.Contains(err.Error(), "oauth2"):
		return creds, "the credentials were refused"
	case netguard.IsBlocked(err):
		return "endpoint", "the endpoint is not a public address"
	case netguard.IsNetError(err):
		return "endpoint", "the endpoint could not be reached"
	case status != 0:
		return creds, "the storage answered HTTP " + http.StatusText(status)
	}
	return creds, "the storage refused the test upload"
}

func targetHash(t *workflows.StorageTarget) [32]byte {
	b, _ := json.Marshal(t)
	return sha256.Sum256(b)
}

// verifiedTargets remembers recent successful verifications, so a burst
// of jobs to one target pays for one test upload.
type verifiedTargets struct {
	mu   sync.Mutex
	seen map[[32]byte]time.Time
}

// verifiedFor is how long a verification stands.
const verifiedFor = 5 * time.Minute

func (v *verifiedTargets) fresh(h [32]byte) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	at, ok := v.seen[h]
	return ok && time.Since(at) < verifiedFor
}

func (v *verifiedTargets) add(h [32]byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil || len(v.seen) > 1024 {
		v.seen = map[[32]byte]time.Time{}
	}
	v.seen[h] = time.Now()
}

// resolveStorage settles a new job's (or batch's) target: the request's
// (verified), else the tenant's saved one, else nil (the deployment's).
func (s *server) resolveStorage(c *gin.Context, in *workflows.JobInput) *apiError {
	ctx := c.Request.Context()
	if in.Storage != nil {
		return s.verifyStorage(ctx, in.Storage, "storage.")
	}
	t, err := s.tenantStorage(ctx, tenantOf(c))
	if err != nil {
		s.Logger.ErrorContext(ctx, "Reading the tenant's storage failed", "error", err)
		return temporalError(err)
	}
	in.Storage = t
	return nil
}

// tenantStorage is the tenant's saved target; nil when it saved none.
func (s *server) tenantStorage(ctx context.Context, tenant string) (*workflows.StorageTarget, error) {
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	// The entity's memo, not a query: creating a job must not need a
	// worker to be up.
	desc, err := s.Temporal.DescribeWorkflow(ctx, workflows.TenantWorkflowID(tenant), "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	info := desc.RawResponse.GetWorkflowExecutionInfo()
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return nil, nil
	}
	p, ok := info.GetMemo().GetFields()[workflows.TenantStorageMemoKey]
	if !ok {
		return nil, nil
	}
	var t *workflows.StorageTarget
	if err := codec.Of(s.Temporal).FromPayload(p, &t); err != nil {
		return nil, err
	}
	return t, nil
}

// storageResponse is the answer of POST and DELETE /user/*.
type storageResponse struct {
	Message      string `json:"message"`
	Provider     string `json:"provider"`
	Bucket       string `json:"container_or_bucket"`
	FolderPrefix string `json:"folder_prefix"`
}

// saveUserStorage handles POST /user/{provider}.
func (s *server) saveUserStorage(provider string) gin.HandlerFunc {
	return func(c *gin.Context) {
		raw, err := readBody(c, s.MaxBodyBytes)
		if err != nil {
			abort(c, decodeError(err))
			return
		}
		t, e := parseStorage(raw, provider, "", true, s.Guard)
		if e != nil {
			abort(c, e)
			return
		}
		if e := s.verifyStorage(c.Request.Context(), t, ""); e != nil {
			abort(c, e)
			return
		}
		tenant := tenantOf(c)
		ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
		defer cancel()
		op := s.Temporal.NewWithStartWorkflowOperation(workflows.TenantStartOptions(s.TaskQueue, tenant),
			workflows.TenantWorkflowType, workflows.TenantInput{Tenant: tenant})
		h, err := s.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: op,
			UpdateOptions: client.UpdateWorkflowOptions{
				UpdateName: workflows.SetTenantStorageUpdate, Args: []any{*t}, WaitForStage: client.WorkflowUpdateStageCompleted,
			},
		})
		var ref *workflows.StorageRef
		if err == nil {
			err = h.Get(ctx, &ref)
		}
		if err != nil {
			s.Logger.ErrorContext(ctx, "Saving the tenant's storage failed", "provider", provider, "error", err)
			abort(c, temporalError(err))
			return
		}
		s.Logger.InfoContext(ctx, "Tenant storage saved", "provider", provider, "bucket", t.Bucket)
		c.JSON(http.StatusOK, storageResponse{
			Message: "Storage configuration saved and verified", Provider: provider, Bucket: t.Bucket, FolderPrefix: t.Prefix,
		})
	}
}

// deleteUserStorage handles DELETE /user/{provider}: it removes the saved
// storage when it is that provider's; new jobs then go to the
// deployment's bucket (jobs already stored keep theirs).
func (s *server) deleteUserStorage(provider string) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
		defer cancel()
		h, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: workflows.TenantWorkflowID(tenantOf(c)), UpdateName: workflows.ClearTenantStorageUpdate,
			Args: []any{provider}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		var ref *workflows.StorageRef
		if err == nil {
			err = h.Get(ctx, &ref)
		}
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) || (err == nil && ref == nil) {
			abort(c, newError(http.StatusNotFound, codeNotFound, "no %s storage is configured", provider))
			return
		}
		if err != nil {
			s.Logger.ErrorContext(ctx, "Removing the tenant's storage failed", "provider", provider, "error", err)
			abort(c, temporalError(err))
			return
		}
		c.JSON(http.StatusOK, storageResponse{
			Message: "Storage configuration removed", Provider: provider, Bucket: ref.Bucket, FolderPrefix: ref.Prefix,
		})
	}
}

// readBody reads a bounded request body.
func readBody(c *gin.Context, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	return buf.Bytes(), err
}

// userStorageRoutes are the /user/* routes and the provider each saves.
var userStorageRoutes = map[string]string{
	"/user/s3": workflows.ProviderS3, "/user/bucket": workflows.ProviderS3, "/user/oss": workflows.ProviderOSS,
	"/user/blob": workflows.ProviderBlob, "/user/gcs": workflows.ProviderGCS,
}

// redactStorageError is err's text with t's secrets cut out.
func redactStorageError(t *workflows.StorageTarget, err error) string {
	msg := err.Error()
	for _, secret := range []string{t.SecretKey, t.AccountKey, t.SASToken, t.ServiceAccountJSON} {
		if secret != "" {
			msg = strings.ReplaceAll(msg, secret, "[redacted]")
		}
	}
	if i := strings.Index(msg, "sig="); i >= 0 {
		msg = msg[:i] + "sig=[redacted]"
	}
	return msg
}

//go:build integration

package e2e

// Storage providers (issue #15): one job per provider lands in that
// provider's bucket, on real servers on loopback: a second versitygw (S3),
// Azurite (Azure Blob, npm) and fake-gcs-server (GCS). Each starts per test
// from the tools make test-tools caches.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gcs "cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/option"

	"github.com/riptide-dev/riptide/internal/devstack"
	"github.com/riptide-dev/riptide/internal/storage"
	"github.com/riptide-dev/riptide/workflows"
)

// Azurite's documented development account.
const (
	azuriteAccount = "devstoreaccount1"
	azuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// providerUnderTest is one started storage server: the storage object a
// request sends, and a way to read an object straight from it.
type providerUnderTest struct {
	name    string
	bucket  string
	request map[string]any
	read    func(t *testing.T, key string) ([]byte, error)
	// secret is a credential the target's requests carry.
	secret string
}

func toolOrSkip(t *testing.T, env, name string) string {
	t.Helper()
	p, err := devstack.LookupTool(env, name, "make test-tools")
	if err != nil {
		if os.Getenv("RIPTIDE_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return p
}

// startProc runs a server until the test ends and waits for its port.
func startProc(t *testing.T, addr, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	logf, err := os.Create(filepath.Join(t.TempDir(), filepath.Base(bin)+".log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s log:\n%s", filepath.Base(bin), b[max(0, len(b)-4000):])
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		require.True(t, time.Now().Before(deadline), "%s did not listen on %s", bin, addr)
		time.Sleep(100 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) (string, int) {
	t.Helper()
	port, err := devstack.FreePort()
	require.NoError(t, err)
	return fmt.Sprintf("127.0.0.1:%d", port), port
}

// startSecondS3 starts another versitygw with its own keys and bucket.
func startSecondS3(t *testing.T) *providerUnderTest {
	t.Helper()
	bin := toolOrSkip(t, devstack.VersitygwBinEnv, "versitygw")
	addr, _ := freeAddr(t)
	p, err := devstack.StartS3(context.Background(), devstack.S3Options{Bin: bin, Dir: filepath.Join(t.TempDir(), "s3"), Addr: addr,
		AccessKey: "tenant-key", SecretKey: "tenant-secret-s3", Log: io.Discard})
	require.NoError(t, err)
	t.Cleanup(func() { p.Stop(10 * time.Second) })
	st, err := storage.New(context.Background(), storage.Settings{Endpoint: "http://" + addr, Region: "us-east-1", Bucket: "tenant-s3",
		AccessKeyID: "tenant-key", SecretAccessKey: "tenant-secret-s3", PathStyle: true, PresignTTL: time.Hour, PartSize: 5 << 20, Concurrency: 2})
	require.NoError(t, err)
	require.NoError(t, st.EnsureBucket(context.Background()))
	return &providerUnderTest{
		name: workflows.ProviderS3, bucket: "tenant-s3",
		request: map[string]any{"provider": "s3", "endpoint": "http://" + addr, "bucket": "tenant-s3", "region": "us-east-1",
			"access_key": "tenant-key", "secret_key": "tenant-secret-s3"},
		read:   func(_ *testing.T, key string) ([]byte, error) { return st.GetObject(context.Background(), key) },
		secret: "tenant-secret-s3",
	}
}

// startAzurite starts Azurite's blob service in memory.
func startAzurite(t *testing.T) *providerUnderTest {
	t.Helper()
	bin := toolOrSkip(t, "RIPTIDE_AZURITE_BIN", "azurite-blob")
	addr, port := freeAddr(t)
	startProc(t, addr, bin, "--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port), "--inMemoryPersistence",
		"--skipApiVersionCheck", "--disableProductStyleUrl")
	endpoint := "http://" + addr + "/" + azuriteAccount
	cred, err := azblob.NewSharedKeyCredential(azuriteAccount, azuriteKey)
	require.NoError(t, err)
	c, err := azblob.NewClientWithSharedKeyCredential(endpoint+"/", cred, nil)
	require.NoError(t, err)
	_, err = c.CreateContainer(context.Background(), "tenant-blob", nil)
	require.NoError(t, err)
	return &providerUnderTest{
		name: workflows.ProviderBlob, bucket: "tenant-blob",
		request: map[string]any{"provider": "blob", "endpoint": endpoint, "account_name": azuriteAccount,
			"container": "tenant-blob", "account_key": azuriteKey},
		secret: azuriteKey,
		read: func(_ *testing.T, key string) ([]byte, error) {
			r, err := c.DownloadStream(context.Background(), "tenant-blob", key, nil)
			if err != nil {
				return nil, err
			}
			defer r.Body.Close()
			return io.ReadAll(r.Body)
		},
	}
}

// startFakeGCS starts fake-gcs-server in memory, with a token endpoint the
// service account's JWT is exchanged at (the emulator checks no token).
func startFakeGCS(t *testing.T) *providerUnderTest {
	t.Helper()
	bin := toolOrSkip(t, "RIPTIDE_FAKE_GCS_BIN", "fake-gcs-server")
	addr, port := freeAddr(t)
	startProc(t, addr, bin, "-scheme", "http", "-host", "127.0.0.1", "-port", fmt.Sprint(port), "-backend", "memory",
		"-public-host", addr, "-external-url", "http://"+addr, "-log-level", "warn")
	tokens := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Method != http.MethodPost || r.Form.Get("assertion") == "" {
			http.Error(w, "want a JWT bearer grant", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"e2e-token","token_type":"Bearer","expires_in":3600}`))
	}))
	t.Cleanup(tokens.Close)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	privateKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	sa, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "e2e-project", "private_key_id": "e2e",
		"private_key":  privateKey,
		"client_email": "riptide@e2e-project.iam.gserviceaccount.com", "token_uri": tokens.URL + "/token",
	})
	require.NoError(t, err)
	c, err := gcs.NewClient(context.Background(), option.WithEndpoint("http://"+addr+"/storage/v1/"), option.WithoutAuthentication())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Bucket("tenant-gcs").Create(context.Background(), "e2e-project", nil))
	return &providerUnderTest{
		name: workflows.ProviderGCS, bucket: "tenant-gcs",
		request: map[string]any{"provider": "gcs", "endpoint": "http://" + addr, "bucket": "tenant-gcs",
			"project_id": "e2e-project", "service_account_json": string(sa)},
		// A line of the key's body: the JSON it travels in escapes the
		// PEM's line breaks.
		secret: strings.Split(privateKey, "\n")[1],
		read: func(_ *testing.T, key string) ([]byte, error) {
			r, err := c.Bucket("tenant-gcs").Object(key).NewReader(context.Background())
			if err != nil {
				return nil, err
			}
			defer r.Close()
			return io.ReadAll(r)
		},
	}
}

// getBytes fetches a URL with no credentials but the URL's own.
func getBytes(t *testing.T, url string) (int, []byte) {
	t.Helper()
	res, err := (&http.Client{Timeout: 30 * time.Second}).Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, b
}

// checkJobInProvider runs a job with subtitles and a thumbnail whose
// storage is p (per request when storage is set), and checks every object
// is in p's bucket, none in the deployment's, that the signed URLs serve
// the stored bytes and that DELETE /jobs/{id}/file deletes them there.
func checkJobInProvider(t *testing.T, p *providerUnderTest, body map[string]any, wantPrefix string) {
	t.Helper()
	body["url"] = stack.media + "/" + devstack.SamplePage
	body["webhook_url"] = stack.hookURL
	body["download_subtitles"], body["download_thumbnail"] = true, true
	id := submit(t, body)
	done := stack.hooks.waitTerminal(t, id, jobTimeout)
	require.Equal(t, "job_completed", done.Body["type"], "%s", done.Raw)

	status, job := call(t, http.MethodGet, "/jobs/"+id, nil)
	require.Equal(t, http.StatusOK, status)
	ref, ok := job["storage"].(map[string]any)
	require.True(t, ok, "storage: %v", job["storage"])
	require.Equal(t, p.name, ref["provider"])
	require.Equal(t, p.bucket, ref["bucket"])
	raw, _ := json.Marshal(job)
	for _, secret := range []string{"tenant-secret-s3", azuriteKey, "PRIVATE KEY"} {
		require.NotContains(t, string(raw), secret, "the job view must not show a credential")
	}
	// The job's input carries the target's credentials: Temporal holds
	// them only encrypted.
	if p.secret != "" {
		requireSecretsOnlyEncrypted(t, workflows.JobWorkflowID(id), p.secret)
	}
	keys := map[string]string{"s3_url": job["s3_key"].(string)}
	for urlField, keyField := range map[string]string{"subtitle_url": "subtitle_key", "thumbnail_url": "thumbnail_key"} {
		k, ok := job[keyField].(string)
		require.True(t, ok, "%s: %v", keyField, job[keyField])
		keys[urlField] = k
	}
	for urlField, key := range keys {
		require.True(t, strings.HasPrefix(key, wantPrefix), "%s %q under %q", urlField, key, wantPrefix)
		direct, err := p.read(t, key)
		require.NoError(t, err, "%s %s in %s", urlField, key, p.name)
		require.NotEmpty(t, direct)
		u, ok := job[urlField].(string)
		require.True(t, ok, "%s: %v", urlField, job[urlField])
		code, signed := getBytes(t, u)
		require.Equal(t, http.StatusOK, code, "%s", urlField)
		require.True(t, bytes.Equal(direct, signed), "%s serves the stored bytes", urlField)
		if _, err := stack.store.Stat(context.Background(), key); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("%s is in the deployment's bucket too (%v)", key, err)
		}
	}
	media, _ := p.read(t, keys["s3_url"])
	require.ElementsMatch(t, []string{"video", "audio"}, streams(t, media))
	sub, _ := p.read(t, keys["subtitle_url"])
	require.Contains(t, string(sub), "Hello from riptide")

	status, del := call(t, http.MethodDelete, "/jobs/"+id+"/file", nil)
	require.Equal(t, http.StatusOK, status, "%v", del)
	for _, key := range keys {
		_, err := p.read(t, key)
		require.Error(t, err, "%s is still in %s after DELETE /jobs/{id}/file", key, p.name)
	}
}

func TestPerRequestStorageOnEveryProvider(t *testing.T) {
	requireStack(t)
	t.Parallel()
	for _, start := range []func(*testing.T) *providerUnderTest{startSecondS3, startAzurite, startFakeGCS} {
		p := start(t)
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			checkJobInProvider(t, p, map[string]any{"folder": "e2e/providers", "storage": p.request}, "e2e/providers/")
		})
	}
}

// TestTenantStorageVerifiedSavedAndOverridden saves the (default)
// tenant's storage through /user/*, so it runs alone: not in parallel
// with the jobs that expect the deployment's bucket.
func TestTenantStorageVerifiedSavedAndOverridden(t *testing.T) {
	requireStack(t)
	s3p, blobp, gcsp := startSecondS3(t), startAzurite(t), startFakeGCS(t)
	saved := func(p *providerUnderTest, extra map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range p.request {
			if k != "provider" {
				out[k] = v
			}
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}

	// Wrong credentials or bucket: 400 naming the field, nothing saved.
	for _, c := range []struct {
		path  string
		body  map[string]any
		field string
	}{
		{"/user/s3", saved(s3p, map[string]any{"secret_key": "wrong-secret"}), "secret_key"},
		{"/user/bucket", saved(s3p, map[string]any{"bucket": "no-such-bucket"}), "bucket"},
		{"/user/blob", saved(blobp, map[string]any{"account_key": "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk="}), "account_key"},
		{"/user/blob", saved(blobp, map[string]any{"container": "no-such-container"}), "container"},
		{"/user/gcs", saved(gcsp, map[string]any{"bucket": "no-such-bucket"}), "bucket"},
		{"/user/gcs", saved(gcsp, map[string]any{"service_account_json": `{"type":"authorized_user"}`}), "service_account_json"},
	} {
		status, resp := call(t, http.MethodPost, c.path, c.body)
		require.Equal(t, http.StatusBadRequest, status, "%s %v: %v", c.path, c.field, resp)
		require.Equal(t, c.field, resp["field"], "%s: %v", c.path, resp)
		raw, _ := json.Marshal(resp)
		require.NotContains(t, string(raw), "wrong-secret")
	}
	status, resp := call(t, http.MethodDelete, "/user/s3", nil)
	require.Equal(t, http.StatusNotFound, status, "nothing was saved: %v", resp)

	status, resp = call(t, http.MethodPost, "/user/s3", saved(s3p, map[string]any{"folder_prefix": "acme"}))
	require.Equal(t, http.StatusOK, status, "%v", resp)
	require.Equal(t, map[string]any{"message": resp["message"], "provider": "s3", "container_or_bucket": "tenant-s3",
		"folder_prefix": "acme/videos"}, resp)
	t.Cleanup(func() { call(t, http.MethodDelete, "/user/s3", nil) })

	// The tenant's saved storage takes the job...
	checkJobInProvider(t, s3p, map[string]any{"folder": "e2e/tenant"}, "acme/videos/e2e/tenant/")
	// ...unless the request brings its own.
	checkJobInProvider(t, blobp, map[string]any{"folder": "e2e/override", "storage": blobp.request}, "e2e/override/")

	status, resp = call(t, http.MethodDelete, "/user/blob", nil)
	require.Equal(t, http.StatusNotFound, status, "the saved storage is s3's: %v", resp)
	status, resp = call(t, http.MethodDelete, "/user/s3", nil)
	require.Equal(t, http.StatusOK, status, "%v", resp)
	require.Equal(t, "tenant-s3", resp["container_or_bucket"])

	// Closed so its history can be recorded; the next POST /user/* starts it again.
	wid := workflows.TenantWorkflowID(workflows.DefaultTenant)
	require.NoError(t, stack.temporal.TerminateWorkflow(context.Background(), wid, "", "e2e: recording the history"))
	recordHistory(t, stack.temporal, "tenant_storage", wid, "")
}

// TestBatchEpisodesInheritPerRequestStorage: a feed batch with its own
// storage puts every episode there (the manifest stays riptide's, in the
// deployment's bucket).
func TestBatchEpisodesInheritPerRequestStorage(t *testing.T) {
	requireStack(t)
	t.Parallel()
	p := startAzurite(t)
	clip, err := os.ReadFile(filepath.Join(stack.mediaDir, devstack.SampleMP4))
	require.NoError(t, err)
	feed := serveClipFeed(clip, "Stored", 2, 0)
	t.Cleanup(feed.Close)
	status, resp := call(t, http.MethodPost, "/batches", map[string]any{"show_url": feed.URL + "/feed.xml",
		"webhook_url": stack.hookURL, "folder": "e2e/batch-storage", "storage": p.request})
	require.Equal(t, http.StatusCreated, status, "%v", resp)
	var ids []string
	require.Eventually(t, func() bool {
		_, b := call(t, http.MethodGet, "/batch/"+resp["batch_id"].(string), nil)
		ids = nil
		for _, id := range b["episode_jobs"].([]any) {
			ids = append(ids, id.(string))
		}
		return len(ids) == 2
	}, jobTimeout, 200*time.Millisecond)
	for _, id := range ids {
		done := stack.hooks.waitTerminal(t, id, jobTimeout)
		require.Equal(t, "job_completed", done.Body["type"], "%s", done.Raw)
		_, job := call(t, http.MethodGet, "/jobs/"+id, nil)
		require.Equal(t, map[string]any{"provider": "blob", "bucket": p.bucket, "endpoint": p.request["endpoint"]}, job["storage"])
		key := job["s3_key"].(string)
		direct, err := p.read(t, key)
		require.NoError(t, err, "episode %s in %s", key, p.name)
		require.Equal(t, clip, direct)
		code, signed := getBytes(t, job["s3_url"].(string))
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, clip, signed)
	}
}

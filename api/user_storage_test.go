package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riptide-dev/riptide/internal/netguard"
	"github.com/riptide-dev/riptide/internal/storage"
	"github.com/riptide-dev/riptide/workflows"
)

const testSA = `{"type":"service_account","project_id":"p1","client_email":"a@p1.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n"}`

func TestParseStorageAcceptsEachProvidersShape(t *testing.T) {
	g := netguard.New(nil)
	sa, _ := json.Marshal(testSA)
	for _, c := range []struct {
		name, provider, body string
		saved                bool
		want                 workflows.StorageTarget
	}{
		{"s3 on AWS", "", `{"provider":"s3","bucket":"b","access_key":"AK","secret_key":"SK","region":"eu-west-1"}`, false,
			workflows.StorageTarget{Provider: "s3", Bucket: "b", Region: "eu-west-1", AccessKey: "AK", SecretKey: "SK"}},
		{"s3 endpoint is path style", "", `{"provider":"s3","endpoint":"https://r2.example.com/","bucket":"b","access_key":"AK","secret_key":"SK"}`, false,
			workflows.StorageTarget{Provider: "s3", Bucket: "b", Endpoint: "https://r2.example.com", AccessKey: "AK", SecretKey: "SK", PathStyle: true}},
		{"oss from region", "", `{"provider":"oss","bucket":"b","region":"cn-hangzhou","access_key":"AK","secret_key":"SK"}`, false,
			workflows.StorageTarget{Provider: "oss", Bucket: "b", Region: "cn-hangzhou", Endpoint: "https://s3.oss-cn-hangzhou.aliyuncs.com", AccessKey: "AK", SecretKey: "SK"}},
		{"blob sas", "", `{"provider":"blob","account_name":"acct","container":"c","sas_token":"sv=1&sig=x"}`, false,
			workflows.StorageTarget{Provider: "blob", Bucket: "c", AccountName: "acct", SASToken: "sv=1&sig=x"}},
		{"gcs project from key", "", `{"provider":"gcs","bucket":"b","service_account_json":` + string(sa) + `}`, false,
			workflows.StorageTarget{Provider: "gcs", Bucket: "b", ProjectID: "p1", ServiceAccountJSON: testSA}},
		{"saved default base folder", "s3", `{"bucket":"b","access_key":"AK","secret_key":"SK","folder_prefix":"acme/"}`, true,
			workflows.StorageTarget{Provider: "s3", Bucket: "b", AccessKey: "AK", SecretKey: "SK", Prefix: "acme/videos"}},
		{"saved no base folder", "blob", `{"account_name":"a","container":"c","account_key":"k","base_folder":""}`, true,
			workflows.StorageTarget{Provider: "blob", Bucket: "c", AccountName: "a", AccountKey: "k"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, e := parseStorage(json.RawMessage(c.body), c.provider, "storage.", c.saved, g)
			require.Nil(t, e)
			require.Equal(t, c.want, *got)
		})
	}
}

func TestParseStorageRejectsBadObjectsNamingTheField(t *testing.T) {
	g := netguard.New(nil)
	for _, c := range []struct {
		name, provider, body, field, code string
		saved                             bool
	}{
		{"no provider", "", `{"bucket":"b"}`, "storage.provider", codeMissingField, false},
		{"unknown provider", "", `{"provider":"ftp"}`, "storage.provider", codeInvalidField, false},
		{"other provider's field", "", `{"provider":"s3","bucket":"b","access_key":"a","secret_key":"s","account_key":"k"}`, "storage.account_key", codeUnknownField, false},
		{"prefix per request", "", `{"provider":"s3","bucket":"b","access_key":"a","secret_key":"s","folder_prefix":"x"}`, "storage.folder_prefix", codeUnknownField, false},
		{"unknown field", "", `{"provider":"s3","bucket":"b","colour":"red"}`, "storage.colour", codeUnknownField, false},
		{"no secret", "", `{"provider":"s3","bucket":"b","access_key":"a"}`, "storage.secret_key", codeMissingField, false},
		{"bucket with slash", "", `{"provider":"s3","bucket":"a/b","access_key":"a","secret_key":"s"}`, "storage.bucket", codeInvalidField, false},
		{"private endpoint", "", `{"provider":"s3","endpoint":"http://127.0.0.1:9000","bucket":"b","access_key":"a","secret_key":"s"}`, "storage.endpoint", codeInvalidField, false},
		{"endpoint not http", "", `{"provider":"s3","endpoint":"ftp://x.example","bucket":"b","access_key":"a","secret_key":"s"}`, "storage.endpoint", codeInvalidField, false},
		{"bad region", "", `{"provider":"s3","bucket":"b","region":"EU WEST","access_key":"a","secret_key":"s"}`, "storage.region", codeInvalidField, false},
		{"oss without region", "", `{"provider":"oss","bucket":"b","access_key":"a","secret_key":"s"}`, "storage.region", codeMissingField, false},
		{"blob both keys", "", `{"provider":"blob","account_name":"a","container":"c","account_key":"k","sas_token":"t"}`, "storage.account_key", codeMissingField, false},
		{"blob no container", "", `{"provider":"blob","account_name":"a","account_key":"k"}`, "storage.container", codeMissingField, false},
		{"gcs not a service account", "", `{"provider":"gcs","bucket":"b","service_account_json":"{\"type\":\"authorized_user\"}"}`, "storage.service_account_json", codeInvalidField, false},
		{"gcs key as object", "", `{"provider":"gcs","bucket":"b","service_account_json":{"type":"service_account"}}`, "storage.service_account_json", codeInvalidType, false},
		{"secret with newline", "", `{"provider":"s3","bucket":"b","access_key":"a","secret_key":"s\n"}`, "storage.secret_key", codeInvalidField, false},
		{"saved prefix escapes", "s3", `{"bucket":"b","access_key":"a","secret_key":"s","folder_prefix":"../x"}`, "folder_prefix", codeInvalidField, true},
		{"saved base absolute", "s3", `{"bucket":"b","access_key":"a","secret_key":"s","base_folder":"/v"}`, "base_folder", codeInvalidField, true},
		{"saved provider field", "s3", `{"provider":"s3","bucket":"b","access_key":"a","secret_key":"s"}`, "provider", codeUnknownField, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			prefix := "storage."
			if c.saved {
				prefix = ""
			}
			_, e := parseStorage(json.RawMessage(c.body), c.provider, prefix, c.saved, g)
			require.NotNil(t, e)
			require.Equal(t, http.StatusBadRequest, e.Status)
			require.Equal(t, c.field, e.Field, e.Message)
			require.Equal(t, c.code, e.Code, e.Message)
			require.True(t, strings.Contains(e.Message, strings.TrimPrefix(c.field, prefix)), e.Message)
		})
	}
}

func TestClassifyStorageErrorNamesTheFieldAndQuotesNoSecret(t *testing.T) {
	tgt := &workflows.StorageTarget{Provider: "blob", AccountName: "a", SASToken: "sv=1&sig=SECRET", Bucket: "c"}
	field, msg := classifyStorageError(tgt, errors.New("PUT https://a.blob.core.windows.net/c/x?sv=1&sig=SECRET: 500"))
	require.Equal(t, "sas_token", field)
	require.NotContains(t, msg, "SECRET")
	require.NotContains(t, redactStorageError(tgt, errors.New("GET /c?sv=1&sig=SECRET")), "SECRET")
	field, _ = classifyStorageError(&workflows.StorageTarget{Provider: "gcs"}, storage.ErrNotFound)
	require.Equal(t, "service_account_json", field)
}

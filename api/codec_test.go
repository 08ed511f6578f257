package api

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/riptide-dev/riptide/internal/codec"
)

const testUI = "http://127.0.0.1:8233"

func codecRouter(t *testing.T) (http.Handler, *codec.Codec) {
	t.Helper()
	keys, err := codec.ParseKeys([]string{codec.NewKeyEntry("k1")})
	require.NoError(t, err)
	cd, err := codec.New(keys)
	require.NoError(t, err)
	return NewRouter(Deps{Temporal: &mocks.Client{}, Keys: []string{testKey}, Logger: slog.New(slog.DiscardHandler),
		TemporalUI: testUI + "/namespaces", Codec: cd}), cd
}

func codecCall(h http.Handler, path, body, key, origin string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(apiKeyHeader, key)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestCodecServerDecodesForTheUI(t *testing.T) {
	h, cd := codecRouter(t)
	plain, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"webhook_url": "https://u:hunter2@hooks.example"})
	require.NoError(t, err)
	sealed, err := cd.Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: append(sealed, plain)})
	require.NoError(t, err)

	rec := codecCall(h, "/codec/decode", string(body), testKey, testUI)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, testUI, rec.Header().Get("Access-Control-Allow-Origin"))
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(rec.Body.Bytes(), &out))
	require.Len(t, out.Payloads, 2)
	require.Contains(t, string(out.Payloads[0].Data), "hunter2", "decrypted")
	require.Equal(t, plain.Data, out.Payloads[1].Data, "a plain payload passes through")

	// And back: encode seals with the first key.
	rec = codecCall(h, "/codec/encode", string(body), testKey, "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.NotContains(t, rec.Body.String(), "hunter2")
	require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"), "no CORS without the UI's origin")
}

func TestCodecServerNeedsTheKeyAndTheUIOrigin(t *testing.T) {
	h, _ := codecRouter(t)
	requireError(t, codecCall(h, "/codec/decode", `{"payloads":[]}`, "", testUI), http.StatusUnauthorized, codeUnauthorized, "")
	requireError(t, codecCall(h, "/codec/decode", `{"payloads":[]}`, "wrong", testUI), http.StatusUnauthorized, codeUnauthorized, "")

	// The browser's preflight carries no key: answered for the UI's origin only.
	pre := func(origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodOptions, "/codec/decode", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := pre(testUI)
	require.Equal(t, http.StatusNoContent, rec.Code)
	require.Equal(t, testUI, rec.Header().Get("Access-Control-Allow-Origin"))
	require.Contains(t, rec.Header().Get("Access-Control-Allow-Headers"), "X-Namespace")
	rec = pre("http://evil.example")
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
}

func TestCodecServerBadInput(t *testing.T) {
	h, _ := codecRouter(t)
	requireError(t, codecCall(h, "/codec/decode", `not json`, testKey, ""), http.StatusBadRequest, codeInvalidJSON, "payloads")
	unknown := `{"payloads":[{"metadata":{"encoding":"` + b64("binary/encrypted") + `","encryption-key-id":"` + b64("gone") + `"},"data":"AAAA"}]}`
	m := requireError(t, codecCall(h, "/codec/decode", unknown, testKey, ""), http.StatusBadRequest, codeInvalidPayload, "payloads")
	require.Contains(t, m["error"], `"gone"`)
	big := `{"payloads":[{"data":"` + strings.Repeat("A", codecMaxBodyBytes) + `"}]}`
	requireError(t, codecCall(h, "/codec/decode", big, testKey, ""), http.StatusRequestEntityTooLarge, codeBodyTooLarge, "")
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestLogURLDropsCredentials(t *testing.T) {
	require.Equal(t, "https://feeds.example/show.rss", logURL("https://user:pw@feeds.example/show.rss?token=s3cr3t#frag"))
	require.Equal(t, "(unparsable URL)", logURL("http://[::1"))
}

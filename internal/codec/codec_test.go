package codec

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

func mustCodec(t *testing.T, entries ...string) *Codec {
	t.Helper()
	keys, err := ParseKeys(entries)
	require.NoError(t, err)
	c, err := New(keys)
	require.NoError(t, err)
	return c
}

type secretInput struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

func TestRoundTripHidesThePlaintext(t *testing.T) {
	dc := DataConverter(mustCodec(t, NewKeyEntry("k1")))
	in := secretInput{URL: "https://user:pass@example.com/x", Secret: "whsec_marker_1234"}
	p, err := dc.ToPayload(in)
	require.NoError(t, err)
	require.Equal(t, EncodingEncrypted, string(p.Metadata[MetadataEncoding]))
	require.Equal(t, "k1", string(p.Metadata[MetadataKeyID]))
	for _, needle := range []string{in.Secret, "pass@example", "json/plain", base64.StdEncoding.EncodeToString([]byte(in.Secret))} {
		require.NotContains(t, string(p.Data), needle)
	}
	var out secretInput
	require.NoError(t, dc.FromPayload(p, &out))
	require.Equal(t, in, out)

	// A random nonce: the same value never seals to the same bytes.
	p2, err := dc.ToPayload(in)
	require.NoError(t, err)
	require.False(t, bytes.Equal(p.Data, p2.Data))
}

func TestRotation(t *testing.T) {
	oldKey, newKey := NewKeyEntry("2025"), NewKeyEntry("2026")
	before := DataConverter(mustCodec(t, oldKey))
	p, err := before.ToPayload("recorded before the rotation")
	require.NoError(t, err)

	after := DataConverter(mustCodec(t, newKey, oldKey))
	var s string
	require.NoError(t, after.FromPayload(p, &s), "the old key still decrypts")
	require.Equal(t, "recorded before the rotation", s)
	p2, err := after.ToPayload("written after")
	require.NoError(t, err)
	require.Equal(t, "2026", string(p2.Metadata[MetadataKeyID]), "the first key encrypts")
}

func TestTamperingFails(t *testing.T) {
	c := mustCodec(t, NewKeyEntry("k1"))
	dc := DataConverter(c)
	p, err := dc.ToPayload("value")
	require.NoError(t, err)

	flipped := &commonpb.Payload{Metadata: p.Metadata, Data: bytes.Clone(p.Data)}
	flipped.Data[len(flipped.Data)-1] ^= 1
	var s string
	err = dc.FromPayload(flipped, &s)
	require.ErrorContains(t, err, "does not decrypt")

	// The key id is authenticated: relabelling a payload for another key
	// of the same process fails too.
	two := mustCodec(t, NewKeyEntry("k1"), NewKeyEntry("k2"))
	sealed, err := two.Encode([]*commonpb.Payload{{Data: []byte("x")}})
	require.NoError(t, err)
	sealed[0].Metadata[MetadataKeyID] = []byte("k2")
	_, err = two.Decode(sealed)
	require.ErrorContains(t, err, "does not decrypt")

	_, err = c.Decode([]*commonpb.Payload{{Metadata: p.Metadata, Data: []byte("short")}})
	require.Error(t, err)
}

func TestWrongKeyFailsClearly(t *testing.T) {
	p, err := DataConverter(mustCodec(t, NewKeyEntry("gone"))).ToPayload("value")
	require.NoError(t, err)

	// A key id this process does not hold: non-retryable, named.
	var s string
	err = DataConverter(mustCodec(t, NewKeyEntry("current"))).FromPayload(p, &s)
	require.ErrorContains(t, err, `key "gone"`)
	require.ErrorContains(t, err, "RIPTIDE_ENCRYPTION_KEYS")
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	require.True(t, appErr.NonRetryable())
	require.Equal(t, ErrTypeUnknownKey, appErr.Type())
	var taskErr *converter.WorkflowTaskFailureError
	require.True(t, errors.As(err, &taskErr), "in a workflow task it fails the task (retried), not the workflow")

	// Same id, other bytes.
	err = DataConverter(mustCodec(t, NewKeyEntry("gone"))).FromPayload(p, &s)
	require.ErrorContains(t, err, `key "gone"`)
}

func TestPlainPayloadsPassThrough(t *testing.T) {
	plain, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"recorded": "before encryption"})
	require.NoError(t, err)
	var m map[string]string
	require.NoError(t, DataConverter(mustCodec(t, NewKeyEntry("k1"))).FromPayload(plain, &m))
	require.Equal(t, "before encryption", m["recorded"])
}

func TestFailureMessagesAreEncrypted(t *testing.T) {
	dc := DataConverter(mustCodec(t, NewKeyEntry("k1")))
	fc := FailureConverter(dc)
	f := fc.ErrorToFailure(temporal.NewApplicationError("upload to https://u:s3cr3t@h failed", "Technical"))
	require.NotContains(t, f.String(), "s3cr3t")
	err := fc.FailureToError(f)
	require.ErrorContains(t, err, "s3cr3t", "the client side decodes the message back")
}

func TestParseKeys(t *testing.T) {
	good := NewKeyEntry("a")
	keys, err := ParseKeys([]string{" " + good + " ", "", NewKeyEntry("b")})
	require.NoError(t, err)
	require.Len(t, keys, 2)

	raw := strings.SplitN(good, ":", 2)[1]
	for _, bad := range [][]string{
		{"nokey"},
		{":" + raw},
		{"a:not base64!"},
		{"a:" + base64.StdEncoding.EncodeToString([]byte("short"))},
		{good, good},
	} {
		_, err := ParseKeys(bad)
		require.Error(t, err, "%q", bad)
		require.NotContains(t, err.Error(), raw, "errors never quote a key")
	}
	_, err = New(nil)
	require.Error(t, err)
}

// BenchmarkRoundTrip seals and opens a job-state-sized payload (2 KiB).
func BenchmarkRoundTrip(b *testing.B) {
	keys, _ := ParseKeys([]string{NewKeyEntry("k1")})
	c, _ := New(keys)
	p := []*commonpb.Payload{{Metadata: map[string][]byte{MetadataEncoding: []byte("json/plain")}, Data: bytes.Repeat([]byte("x"), 2048)}}
	b.SetBytes(2048)
	for b.Loop() {
		sealed, err := c.Encode(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Decode(sealed); err != nil {
			b.Fatal(err)
		}
	}
}

func TestWithoutKeysNothingIsEncryptedAndEncryptedPayloadsNameTheirKey(t *testing.T) {
	dc := DataConverter(nil)
	p, err := dc.ToPayload("plain")
	require.NoError(t, err)
	require.Equal(t, "json/plain", string(p.Metadata[MetadataEncoding]))
	var s string
	require.NoError(t, dc.FromPayload(p, &s))

	sealed, err := DataConverter(mustCodec(t, NewKeyEntry("prod-1"))).ToPayload("secret")
	require.NoError(t, err)
	err = dc.FromPayload(sealed, &s)
	require.ErrorContains(t, err, `key "prod-1"`)
}

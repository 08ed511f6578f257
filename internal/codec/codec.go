// Package codec encrypts every payload riptide hands Temporal (workflow and
// activity inputs and results, memos, query and update answers, heartbeat
// details, failure messages) with AES-256-GCM, following Temporal's
// data-converter encryption pattern: Temporal stores only ciphertext, and
// only processes holding the key (worker, API, the codec server the API
// serves for the Temporal UI) see the data.
//
// Keys are named so they rotate: RIPTIDE_ENCRYPTION_KEYS is a comma
// separated list of <id>:<base64 of 32 bytes>; the first encrypts, every
// one decrypts. Each encrypted payload carries the id of the key that
// sealed it. Payloads that are not encrypted (histories written before
// encryption was turned on) pass through decoding unchanged.
package codec

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

const (
	// MetadataEncoding is the metadata key Temporal's converters read.
	MetadataEncoding = converter.MetadataEncoding
	// EncodingEncrypted marks a payload sealed by this codec, as in
	// Temporal's encryption sample.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID names the key that sealed the payload.
	MetadataKeyID = "encryption-key-id"
	// ErrTypeUnknownKey is the (non-retryable) application error type of
	// a payload sealed with a key this process was not given.
	ErrTypeUnknownKey = "RiptideUnknownEncryptionKey"
	// KeySize is an AES-256 key's length in bytes.
	KeySize = 32
)

// Key is one named AES-256 key.
type Key struct {
	ID   string
	aead cipher.AEAD
}

// ParseKeys parses RIPTIDE_ENCRYPTION_KEYS entries, each <id>:<base64 of 32
// bytes> (standard or URL alphabet, padded or not). Errors never quote a
// key's bytes.
func ParseKeys(entries []string) ([]Key, error) {
	var keys []Key
	seen := map[string]bool{}
	for i, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		id, b64, ok := strings.Cut(e, ":")
		id = strings.TrimSpace(id)
		if !ok || id == "" {
			return nil, fmt.Errorf("encryption key #%d: want <id>:<base64 of %d bytes>", i+1, KeySize)
		}
		if seen[id] {
			return nil, fmt.Errorf("encryption key %q is listed twice", id)
		}
		seen[id] = true
		raw, err := decodeBase64(strings.TrimSpace(b64))
		if err != nil {
			return nil, fmt.Errorf("encryption key %q: not base64", id)
		}
		if len(raw) != KeySize {
			return nil, fmt.Errorf("encryption key %q: %d bytes, want %d (AES-256)", id, len(raw), KeySize)
		}
		k, err := newKey(id, raw)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

func newKey(id string, raw []byte) (Key, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return Key{}, fmt.Errorf("encryption key %q: %v", id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return Key{}, fmt.Errorf("encryption key %q: %v", id, err)
	}
	return Key{ID: id, aead: aead}, nil
}

// NewKeyEntry returns a fresh RIPTIDE_ENCRYPTION_KEYS entry named id.
func NewKeyEntry(id string) string {
	raw := make([]byte, KeySize)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails
	return id + ":" + base64.StdEncoding.EncodeToString(raw)
}

// Codec is the encrypting converter.PayloadCodec.
type Codec struct {
	keys []Key
	byID map[string]Key
}

// New returns a codec sealing with keys[0] and opening with any of keys.
func New(keys []Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("codec: no encryption key")
	}
	c := &Codec{keys: keys, byID: make(map[string]Key, len(keys))}
	for _, k := range keys {
		c.byID[k.ID] = k
	}
	return c, nil
}

// PlainOnly is the codec of a process without keys: it encrypts nothing,
// passes plain payloads through, and answers an encrypted one with the
// error naming its key id (a worker or API started without the keys of a
// deployment that has them), not a converter's "unknown encoding".
func PlainOnly() *Codec { return &Codec{byID: map[string]Key{}} }

// KeyIDs are the ids of the codec's keys, the encrypting one first.
func (c *Codec) KeyIDs() []string {
	ids := make([]string, len(c.keys))
	for i, k := range c.keys {
		ids[i] = k.ID
	}
	return ids
}

// Encode implements converter.PayloadCodec: each payload, serialized whole
// (metadata included, so not even its encoding shows), is sealed with the
// first key under a random nonce; the key id is authenticated too.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	if len(c.keys) == 0 {
		return payloads, nil
	}
	k := c.keys[0]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: serializing payload: %w", err)
		}
		nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:    []byte(k.ID),
			},
			Data: k.aead.Seal(nonce, nonce, plain, []byte(k.ID)),
		}
	}
	return out, nil
}

// Decode implements converter.PayloadCodec. A payload that is not
// encrypted passes through; one sealed with a key the codec lacks is a
// non-retryable error naming the key id; one altered after sealing fails
// authentication.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		k, ok := c.byID[id]
		if !ok {
			return nil, taskFailure(UnknownKeyError(id))
		}
		data := p.GetData()
		if len(data) < k.aead.NonceSize() {
			return nil, taskFailure(fmt.Errorf("codec: encrypted payload too short for key %q", id))
		}
		nonce, sealed := data[:k.aead.NonceSize()], data[k.aead.NonceSize():]
		plain, err := k.aead.Open(nil, nonce, sealed, []byte(id))
		if err != nil {
			return nil, taskFailure(fmt.Errorf("codec: payload does not decrypt with key %q: it was altered, or sealed with another key under the same id", id))
		}
		var dec commonpb.Payload
		if err := proto.Unmarshal(plain, &dec); err != nil {
			return nil, taskFailure(fmt.Errorf("codec: decrypted payload (key %q) is not a payload: %w", id, err))
		}
		out[i] = &dec
	}
	return out, nil
}

// taskFailure marks a decoding error so that, met while a worker runs a
// workflow task (the workflow's input, an activity's result), it fails the
// task, which Temporal retries, instead of the workflow execution: once the
// operator restores the key, the workflow resumes where it was. Elsewhere
// (activities, clients) it is the error it wraps.
func taskFailure(err error) error { return converter.NewWorkflowTaskFailureError(err) }

// UnknownKeyError is the non-retryable error of a payload sealed with key
// id, which RIPTIDE_ENCRYPTION_KEYS does not list.
func UnknownKeyError(id string) error {
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("codec: payload encrypted with key %q, which RIPTIDE_ENCRYPTION_KEYS does not list: add it back (keep old keys until every workflow that used them is closed and past retention)", id),
		ErrTypeUnknownKey, nil)
}

// Encrypted reports whether p was sealed by this codec (by any key).
func Encrypted(p *commonpb.Payload) bool {
	return string(p.GetMetadata()[MetadataEncoding]) == EncodingEncrypted
}

// DataConverter wraps Temporal's default converter with c; with a nil c,
// with PlainOnly (no encryption).
func DataConverter(c *Codec) converter.DataConverter {
	if c == nil {
		c = PlainOnly()
	}
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter encodes failure messages and stack traces with dc (so
// they are encrypted when dc encrypts); clients decode them back, so error
// texts read through the SDK are unchanged.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true})
}

// DecodeMessage decrypts, in place, every payload of msg (a history, an
// event, a describe response) that c sealed; search attributes are never
// encrypted and stay as they are.
func (c *Codec) DecodeMessage(ctx context.Context, msg proto.Message) error {
	return proxy.VisitPayloads(ctx, msg, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return c.Decode(p)
		},
	})
}

package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks (standardwebhooks.com) headers. Receivers verify them
// with the official libraries of any language.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
	// SecretPrefix starts every signing secret; base64 of the key follows.
	SecretPrefix = "whsec_"
)

// Signer signs deliveries with every active secret, so a receiver keeps
// verifying while it rotates from one secret to the next.
type Signer struct {
	keys [][]byte
}

// NewSigner parses secrets of the form whsec_<base64>. No secrets gives a
// signer that signs nothing.
func NewSigner(secrets []string) (*Signer, error) {
	s := &Signer{}
	for i, sec := range secrets {
		sec = strings.TrimSpace(sec)
		if sec == "" {
			continue
		}
		b64, ok := strings.CutPrefix(sec, SecretPrefix)
		if !ok {
			return nil, fmt.Errorf("webhook secret %d must start with %s", i+1, SecretPrefix)
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("webhook secret %d is not valid base64 after %s", i+1, SecretPrefix)
		}
		if len(key) < 16 {
			return nil, errors.New("webhook secrets must hold at least 16 bytes")
		}
		s.keys = append(s.keys, key)
	}
	return s, nil
}

// Signature is the webhook-signature value for one delivery: "v1,<base64
// HMAC-SHA256 of id.timestamp.body>" per secret, space separated; "" when
// there is no secret.
func (s *Signer) Signature(id string, ts time.Time, body []byte) string {
	if s == nil {
		return ""
	}
	sigs := make([]string, 0, len(s.keys))
	for _, k := range s.keys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
		mac.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(sigs, " ")
}

// SetHeaders sets the Standard Webhooks headers of one delivery attempt.
// The id is the event's, the same on every attempt; the timestamp is the
// attempt's, so a receiver's replay window applies to each.
func (s *Signer) SetHeaders(h http.Header, id string, ts time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	if sig := s.Signature(id, ts, body); sig != "" {
		h.Set(HeaderSignature, sig)
	}
}

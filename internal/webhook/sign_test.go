package webhook

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The test vector published with the Standard Webhooks specification.
const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS     = 1614265330
	specBody   = `{"test": 2432232314}`
	specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignatureMatchesSpecVector(t *testing.T) {
	s, err := NewSigner([]string{specSecret})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Signature(specID, time.Unix(specTS, 0), []byte(specBody)); got != specSig {
		t.Fatalf("signature %q, want %q", got, specSig)
	}
}

func TestRotationSignsWithEverySecret(t *testing.T) {
	other := "whsec_" + "c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24="
	s, err := NewSigner([]string{specSecret, " ", other})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	s.SetHeaders(h, specID, time.Unix(specTS, 0), []byte(specBody))
	sigs := strings.Split(h.Get(HeaderSignature), " ")
	if len(sigs) != 2 || sigs[0] != specSig || sigs[1] == specSig || !strings.HasPrefix(sigs[1], "v1,") {
		t.Fatalf("signatures %q", sigs)
	}
	if h.Get(HeaderID) != specID || h.Get(HeaderTimestamp) != "1614265330" {
		t.Fatalf("headers %v", h)
	}
}

func TestNoSecretNoSignature(t *testing.T) {
	s, err := NewSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	s.SetHeaders(h, "evt_1", time.Unix(1, 0), nil)
	if _, ok := h[http.CanonicalHeaderKey(HeaderSignature)]; ok || h.Get(HeaderID) != "evt_1" {
		t.Fatalf("headers %v", h)
	}
}

func TestNewSignerRejectsBadSecrets(t *testing.T) {
	for _, bad := range []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_c2hvcnQ="} {
		if _, err := NewSigner([]string{bad}); err == nil {
			t.Errorf("NewSigner(%q) accepted", bad)
		} else if strings.Contains(err.Error(), bad) {
			t.Errorf("error %q leaks the secret", err)
		}
	}
}

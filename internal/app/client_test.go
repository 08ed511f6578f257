package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riptide-dev/riptide/internal/config"
)

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "riptide-worker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestClientOptions(t *testing.T) {
	cert, key := writeCert(t)
	logger := slog.New(slog.DiscardHandler)
	base := config.Temporal{Address: "riptide.a1b2c.tmprl.cloud:7233", Namespace: "riptide.a1b2c"}

	t.Run("plain", func(t *testing.T) {
		o, err := ClientOptions(base, logger, nil)
		if err != nil || o.ConnectionOptions.TLS != nil || o.Credentials != nil {
			t.Fatalf("plain connection: tls %v, credentials %v, err %v", o.ConnectionOptions.TLS, o.Credentials, err)
		}
		if o.HostPort != base.Address || o.Namespace != base.Namespace {
			t.Fatalf("got %s / %s", o.HostPort, o.Namespace)
		}
	})
	t.Run("mTLS with private CA", func(t *testing.T) {
		c := base
		c.TLSCert, c.TLSKey, c.TLSCA, c.TLSServerName = cert, key, cert, "temporal.internal"
		o, err := ClientOptions(c, logger, nil)
		if err != nil {
			t.Fatal(err)
		}
		tc := o.ConnectionOptions.TLS
		if tc == nil || len(tc.Certificates) != 1 || tc.RootCAs == nil || tc.ServerName != "temporal.internal" {
			t.Fatalf("tls config %+v", tc)
		}
		if o.Credentials != nil {
			t.Fatal("no API key set, but credentials are")
		}
	})
	t.Run("API key turns TLS on", func(t *testing.T) {
		c := base
		c.APIKey = "key-123"
		o, err := ClientOptions(c, logger, nil)
		if err != nil || o.ConnectionOptions.TLS == nil || o.Credentials == nil {
			t.Fatalf("tls %v, credentials %v, err %v", o.ConnectionOptions.TLS, o.Credentials, err)
		}
		if o.ConnectionOptions.TLS.RootCAs != nil {
			t.Fatal("no CA set: the system roots must be used")
		}
	})
	for name, c := range map[string]config.Temporal{
		"cert without key": {TLSCert: cert},
		"missing cert":     {TLSCert: cert + ".missing", TLSKey: key},
		"CA without PEM":   {TLSCA: key + ".missing"},
		"CA not a cert":    {TLSCA: writeFile(t, "not pem")},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ClientOptions(c, logger, nil); err == nil || !strings.Contains(err.Error(), "RIPTIDE_TEMPORAL_TLS_") {
				t.Fatalf("err = %v, want one naming the setting", err)
			}
		})
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

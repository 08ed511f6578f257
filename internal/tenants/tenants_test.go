package tenants

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riptide-dev/riptide/workflows"
)

func TestHashKey(t *testing.T) {
	// sha256("abc")
	if got, want := HashKey("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Fatalf("HashKey = %s, want %s", got, want)
	}
}

func TestPlainKeysAreTheDefaultTenants(t *testing.T) {
	s, err := Build([]string{"k1", " k2 ", ""}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"k1", "k2"} {
		if tenant, ok := s.Lookup(k); !ok || tenant != workflows.DefaultTenant {
			t.Errorf("Lookup(%q) = %q, %v", k, tenant, ok)
		}
	}
	for _, k := range []string{"", "k3", "k1 "} {
		if _, ok := s.Lookup(k); ok {
			t.Errorf("Lookup(%q) accepted", k)
		}
	}
	if got := s.Tenants(); len(got) != 1 || got[0] != workflows.DefaultTenant {
		t.Errorf("Tenants = %v", got)
	}
}

const goodFile = `{"tenants":[
 {"id":"acme","keys":["sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  "limits":{"storage_bytes":1000,"max_file_size_bytes":500,"max_resolution":720,"max_duration_seconds":60,"concurrent_jobs":3}},
 {"id":"beta-2","keys":[]}
]}`

func TestParseFile(t *testing.T) {
	f, err := Parse([]byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Build([]string{"plain"}, f)
	if err != nil {
		t.Fatal(err)
	}
	if tenant, ok := s.Lookup("abc"); !ok || tenant != "acme" {
		t.Fatalf("Lookup(abc) = %q, %v", tenant, ok)
	}
	if tenant, _ := s.Lookup("plain"); tenant != workflows.DefaultTenant {
		t.Fatalf("a plain key belongs to %q", tenant)
	}
	want := workflows.TenantLimits{StorageBytes: 1000, MaxFileSizeBytes: 500, MaxResolution: 720, MaxDurationSeconds: 60, ConcurrentJobs: 3}
	if got := s.Limits("acme"); got != want {
		t.Fatalf("Limits = %+v", got)
	}
	if got := s.Tenants(); strings.Join(got, ",") != "acme,beta-2,default" {
		t.Fatalf("Tenants = %v", got)
	}
}

func TestBadFiles(t *testing.T) {
	digest := HashKey("x")
	for name, tc := range map[string]struct{ doc, want string }{
		"not json":         {`{`, "decode"},
		"unknown field":    {`{"tenants":[{"id":"a","keys":[],"limts":{}}]}`, "limts"},
		"unknown limit":    {`{"tenants":[{"id":"a","keys":[],"limits":{"storage_gb":1}}]}`, "storage_gb"},
		"bad id":           {`{"tenants":[{"id":"Acme Corp","keys":[]}]}`, "not a tenant ID"},
		"empty id":         {`{"tenants":[{"id":"","keys":[]}]}`, "not a tenant ID"},
		"quote in id":      {`{"tenants":[{"id":"a'b","keys":[]}]}`, "not a tenant ID"},
		"duplicate tenant": {`{"tenants":[{"id":"a","keys":[]},{"id":"a","keys":[]}]}`, "twice"},
		"plain key":        {`{"tenants":[{"id":"a","keys":["sk_live_secret"]}]}`, "not a key digest"},
		"short digest":     {`{"tenants":[{"id":"a","keys":["sha256:abcd"]}]}`, "not a key digest"},
		"shared key":       {`{"tenants":[{"id":"a","keys":["` + digest + `"]},{"id":"b","keys":["` + digest + `"]}]}`, "both"},
		"negative limit":   {`{"tenants":[{"id":"a","keys":[],"limits":{"concurrent_jobs":-1}}]}`, "negative"},
		"trailing data":    {`{"tenants":[]} {}`, "after"},
	} {
		t.Run(name, func(t *testing.T) {
			f, err := Parse([]byte(tc.doc))
			if err == nil {
				_, err = Build(nil, f)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "sk_live_secret") {
				t.Fatalf("the error echoes a key: %v", err)
			}
		})
	}
}

func writeFile(t *testing.T, path, doc string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestReloadKeepsThePreviousConfigOnABadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tenants.json")
	t0 := time.Now().Add(-time.Hour)
	writeFile(t, path, `{"tenants":[{"id":"a","keys":["`+HashKey("ka")+`"]}]}`, t0)
	var logs bytes.Buffer
	s, err := NewStore([]string{"plain"}, path, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if tenant, ok := s.Current().Lookup("ka"); !ok || tenant != "a" {
		t.Fatalf("ka: %q %v", tenant, ok)
	}
	// Unchanged: nothing happens.
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	// A new key and a revoked one, without a restart.
	writeFile(t, path, `{"tenants":[{"id":"a","keys":["`+HashKey("ka2")+`"]}]}`, t0.Add(time.Minute))
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Current().Lookup("ka"); ok {
		t.Fatal("a revoked key still works")
	}
	if tenant, ok := s.Current().Lookup("ka2"); !ok || tenant != "a" {
		t.Fatal("the added key does not work")
	}
	// A bad file keeps the previous configuration and says why.
	writeFile(t, path, `{"tenants":[{"id":"a","keys":["sk_oops_plain"]}]}`, t0.Add(2*time.Minute))
	if err := s.Reload(); err == nil {
		t.Fatal("a bad file reloaded")
	}
	if _, ok := s.Current().Lookup("ka2"); !ok {
		t.Fatal("a bad file dropped the previous configuration")
	}
	if _, ok := s.Current().Lookup("plain"); !ok {
		t.Fatal("the plain keys went with the bad file")
	}
	if !strings.Contains(logs.String(), "not a key digest") || strings.Contains(logs.String(), "sk_oops_plain") ||
		strings.Contains(logs.String(), "ka2") {
		t.Fatalf("logs: %s", logs.String())
	}
	// A file gone at start is an error.
	if _, err := NewStore(nil, filepath.Join(t.TempDir(), "none.json"), nil); err == nil {
		t.Fatal("a missing file at start is accepted")
	}
}

func TestWatchPicksUpAChangedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tenants.json")
	t0 := time.Now().Add(-time.Hour)
	writeFile(t, path, `{"tenants":[{"id":"a","keys":["`+HashKey("k1")+`"]}]}`, t0)
	s, err := NewStore(nil, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Watch(ctx, 10*time.Millisecond); close(done) }()
	writeFile(t, path, `{"tenants":[{"id":"a","keys":["`+HashKey("k2")+`"]}]}`, t0.Add(time.Minute))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := s.Current().Lookup("k2"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the changed file was never read")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, ok := s.Current().Lookup("k1"); ok {
		t.Fatal("the removed key still works")
	}
	cancel()
	<-done
}

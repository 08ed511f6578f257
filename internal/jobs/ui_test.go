package jobs

import "testing"

func TestUIURL(t *testing.T) {
	got := UIURL("http://127.0.0.1:8233/", "prod ns", "job-5b0c", "01a2/x")
	want := "http://127.0.0.1:8233/namespaces/prod%20ns/workflows/job-5b0c/01a2%2Fx/history"
	if got != want {
		t.Fatalf("UIURL = %q, want %q", got, want)
	}
}

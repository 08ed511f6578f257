package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

// runYtdlp runs the installed yt-dlp as a user would, writing into outDir:
// --ignore-config (no user or system config), no proxy (flag and
// environment), output template outDir/out.%(ext)s. It returns the wall
// time of the whole run.
func runYtdlp(ctx context.Context, outDir string, args ...string) (time.Duration, error) {
	args = append([]string{"--ignore-config", "--proxy", "", "--no-progress", "--no-playlist",
		"-o", outDir + "/out.%(ext)s"}, args...)
	cmd := exec.CommandContext(ctx, "yt-dlp", args...)
	cmd.Env = withoutProxies(os.Environ())
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("yt-dlp %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return time.Since(start), nil
}

// ytdlpCLI times yt-dlp downloading into a temporary directory under dir,
// removed afterwards.
func ytdlpCLI(ctx context.Context, dir string, args ...string) (time.Duration, error) {
	out, err := os.MkdirTemp(dir, "ytdlp-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(out)
	return runYtdlp(ctx, out, args...)
}

// withoutProxies drops the proxy variables from env: the baselines talk to
// loopback directly, as the worker does.
func withoutProxies(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(name) {
		case "http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// downloadStrategy reads the download_strategy of the job's view (GET
// /jobs/{id}); empty when the view has none (a riptide without native
// segmented downloads).
func (st *stack) downloadStrategy(ctx context.Context, jobID string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, st.apiURL+"/jobs/"+jobID, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("x-api-key", benchAPIKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /jobs/%s: %s", jobID, res.Status)
	}
	var v struct {
		DownloadStrategy *string `json:"download_strategy"`
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		return "", err
	}
	if v.DownloadStrategy == nil {
		return "", nil
	}
	return *v.DownloadStrategy, nil
}

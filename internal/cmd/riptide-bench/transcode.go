package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	mux "github.com/riptide-dev/riptide/internal/ffmpeg"
	"github.com/riptide-dev/riptide/internal/formats"
	"github.com/riptide-dev/riptide/workflows"
)

// transcodeFPS is the frame rate of the transcode section's source.
const transcodeFPS = 30

type transcodeResult struct {
	seconds  int
	mux, raw time.Duration // riptide's Mux activity; ffmpeg alone
}

// benchTranscode re-encodes one 1280x720 clip of -transcode-seconds to
// H.264 in a riptide job (video_codec h264, the default CRF), timing its
// Mux activity from the history, against ffmpeg alone with the same
// arguments (ffmpeg.MuxArgs) on the same file.
func benchTranscode(ctx context.Context, st *stack, o options, r *report) error {
	src := filepath.Join(st.mediaDir, "transcode.mp4")
	err := ffmpeg(ctx, "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate="+strconv.Itoa(transcodeFPS),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", strconv.Itoa(o.transcodeSeconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", src)
	if err != nil {
		return err
	}
	defer os.Remove(src)

	w, err := st.startWorker(ctx, "transcode", 1)
	if err != nil {
		return err
	}
	tc := &workflows.Transcode{VideoCodec: "h264", CRF: workflows.DefaultCRF}
	id, err := st.submitBody(ctx, map[string]any{"url": st.mediaURL + "/transcode.mp4", "folder": "bench/transcode", "video_codec": "h264"})
	var js *workflows.JobState
	if err == nil {
		js, err = st.wait(ctx, id)
	}
	w.Stop(10 * time.Second)
	if err != nil {
		return err
	}
	stages, err := st.stageTimes(ctx, id)
	if err != nil {
		return err
	}
	st.deleteObject(ctx, js.Key)

	mp4, _ := formats.Lookup("mp4")
	out := filepath.Join(st.dir, "transcode-raw.mp4")
	defer os.Remove(out)
	args := mux.MuxArgs(mux.MuxSpec{Inputs: []string{src}, Format: mp4, AudioCodec: "aac", Transcode: tc, Out: out})
	start := time.Now()
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil { // -progress goes to stdout, discarded
		return fmt.Errorf("ffmpeg %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	res := &transcodeResult{seconds: o.transcodeSeconds, mux: stages.Run["Mux"], raw: time.Since(start)}
	r.transcode = res
	logf("transcode: mux stage %s (%.0f fps), ffmpeg alone %s (%.0f fps)", res.mux, res.fps(res.mux), res.raw, res.fps(res.raw))
	return nil
}

func (t *transcodeResult) fps(d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(t.seconds*transcodeFPS) / d.Seconds()
}

func (t *transcodeResult) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "| transcode to H.264 (libx264 veryfast, CRF %d, %d threads), %d s of 1280x720 at %d fps: mux stage | %.0f fps (%s) | %.0f fps (%s): `ffmpeg` alone, same arguments | **%.2f** | ≈ 1 |\n",
		workflows.DefaultCRF, mux.EncodeThreads, t.seconds, transcodeFPS, t.fps(t.mux), secs(t.mux), t.fps(t.raw), secs(t.raw), ratio(t.raw, t.mux))
}

// submitBody starts a job with the given POST /jobs body.
func (st *stack) submitBody(ctx context.Context, body map[string]any) (string, error) {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.apiURL+"/jobs", bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	req.Header.Set("x-api-key", benchAPIKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var out struct {
		JobID string `json:"job_id"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("POST /jobs: %s %v", res.Status, err)
	}
	return out.JobID, nil
}

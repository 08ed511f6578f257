package activities

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.temporal.io/sdk/activity"

	"github.com/riptide-dev/riptide/internal/ffmpeg"
	"github.com/riptide-dev/riptide/internal/formats"
	"github.com/riptide-dev/riptide/internal/heartbeat"
	"github.com/riptide-dev/riptide/internal/segdl"
	"github.com/riptide-dev/riptide/internal/ytdlp"
	"github.com/riptide-dev/riptide/workflows"
)

// The native segmented downloader (internal/segdl): yt-dlp, or riptide's
// own playlist reader for a direct .m3u8 URL, says where the media is;
// riptide fetches it, every stream at once and several parts of each at
// once, through the network guard. Whatever it cannot take exactly as
// yt-dlp would (segdl.ErrNotNative) goes to yt-dlp's own downloader, so
// what works through yt-dlp keeps working.

// downloadHLSNative downloads the on-demand HLS playlist at u natively:
// for a master playlist, the variant max_resolution picks and its separate
// audio. handled is false for what it leaves to the live recorder or
// yt-dlp: a live, empty or missing playlist, one it cannot read, a master
// playlist for an audio-only job (yt-dlp picks its best audio).
func (a *Activities) downloadHLSNative(ctx context.Context, dir string, u *url.URL, in workflows.DownloadInput) (*workflows.DownloadResult, bool, error) {
	if !a.NativeDownload {
		return nil, false, nil
	}
	client := a.httpFor(ctx)
	pl, err := segdl.LoadHLS(ctx, client, nil, u)
	if err != nil {
		if segdl.IsNotNative(err) || errorType(err) == workflows.ErrTypeNotFound {
			return nil, false, nil
		}
		return nil, true, err
	}
	medias := []*segdl.Media{pl.Media}
	if pl.Master != nil {
		if formats.IsAudio(in.Format) {
			return nil, false, nil
		}
		v := pl.Master.PickVariant(in.MaxHeight)
		uris := []*url.URL{v.URI}
		if audio := pl.Master.AudioFor(v); audio != nil {
			uris = append(uris, audio)
		}
		medias = medias[:0]
		for _, mu := range uris {
			p, err := segdl.LoadHLS(ctx, client, nil, mu)
			if err != nil {
				if segdl.IsNotNative(err) {
					return nil, false, nil
				}
				return nil, true, err
			}
			if p.Media == nil {
				return nil, false, nil
			}
			medias = append(medias, p.Media)
		}
	}
	if err := checkDuration(medias[0].Duration, in.MaxDuration); err != nil {
		return nil, true, err
	}
	streams := make([]segdl.Stream, len(medias))
	for i, m := range medias {
		streams[i] = segdl.Stream{Path: filepath.Join(dir, "src."+strconv.Itoa(i)+"."+m.FileExt()), Parts: m.Parts}
	}
	res, probed, err := a.fetchStreams(ctx, dir, streams)
	if err == nil {
		res.Streams, err = a.inspectDownloads(ctx, res.Files, probed)
	}
	if err != nil {
		return nil, true, err
	}
	res.Title, res.Source, res.Strategy = manifestTitle(u), "hls", workflows.DownloadNativeHLS
	return res, true, nil
}

// downloadDASHNative downloads the static DASH manifest at u natively (no
// yt-dlp process: its resolution was most of the gap to a raw download):
// the video max_resolution picks and the best audio, or the audio alone
// for an audio format. handled is false for what it leaves to yt-dlp: a
// live, DRM-protected or multi-period manifest, a shape segdl does not
// read (segdl.ErrNotNative), a document that is no manifest, subtitles
// asked for from a manifest that has some.
func (a *Activities) downloadDASHNative(ctx context.Context, dir string, u *url.URL, in workflows.DownloadInput) (*workflows.DownloadResult, bool, error) {
	if !a.NativeDownload {
		return nil, false, nil
	}
	m, err := segdl.LoadDASH(ctx, a.httpFor(ctx), nil, u)
	if err != nil {
		if segdl.IsNotNative(err) || errorType(err) == workflows.ErrTypeNotFound {
			return nil, false, nil
		}
		return nil, true, err
	}
	reps, ok := m.Pick(in.MaxHeight, formats.IsAudio(in.Format))
	if !ok || (in.Subtitles && m.Text) {
		// yt-dlp picks from what is there, and reads the subtitles.
		return nil, false, nil
	}
	if err := checkDuration(m.Duration, in.MaxDuration); err != nil {
		return nil, true, err
	}
	streams := make([]segdl.Stream, len(reps))
	for i, r := range reps {
		parts, err := r.Parts()
		if err != nil {
			return nil, !segdl.IsNotNative(err), err
		}
		streams[i] = segdl.Stream{Path: filepath.Join(dir, "src."+strconv.Itoa(i)+"."+r.Ext), Parts: parts}
	}
	res, probed, err := a.fetchStreams(ctx, dir, streams)
	if err == nil {
		res.Streams, err = a.inspectDownloads(ctx, res.Files, probed)
	}
	if err != nil {
		return nil, true, err
	}
	res.Title, res.Source, res.Strategy = manifestTitle(u), "dash", workflows.DownloadNativeDASH
	return res, true, nil
}

// manifestTitle is what yt-dlp's generic extractor names a bare manifest:
// its file name.
func manifestTitle(u *url.URL) string {
	title, _ := url.PathUnescape(strings.TrimSuffix(path.Base(u.Path), path.Ext(u.Path)))
	return title
}

// fetchStreams downloads streams with segdl, heartbeating where each
// stands and resuming from the previous attempt's marks. It returns the
// inspections it made of the streams' first MiB while they downloaded
// (nil for a stream that was whole by then), for inspectDownloads.
func (a *Activities) fetchStreams(ctx context.Context, dir string, streams []segdl.Stream) (*workflows.DownloadResult, []*workflows.MediaInfo, error) {
	var prev workflows.Progress
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &prev)
	}
	var resume []segdl.Mark
	if prev.Segmented != nil {
		for _, m := range prev.Segmented.Streams {
			resume = append(resume, segdl.Mark(m))
		}
	}
	// Each stream's media is inspected from a copy of its first MiB while
	// the rest downloads (a probe of a TS file costs as much as fetching a
	// hundred fragments); a stream that is whole by then, at its end.
	probes := make([]mediaProbe, len(streams))
	var probing sync.WaitGroup
	onPrefix := func(i int, path string, n int64, whole bool) {
		if whole {
			return // inspected below
		}
		head := path + ".head"
		if err := copyPrefix(path, head, n); err != nil {
			return // inspected below
		}
		probes[i].early = true
		probing.Go(func() {
			defer os.Remove(head)
			probes[i].m, probes[i].err = ffmpeg.Inspect(ctx, a.Ffprobe, head)
		})
	}
	d := segdl.New(segdl.Config{
		Client:      a.httpFor(ctx),
		Concurrency: a.Fragments,
		MaxBytes:    a.jobByteCap(ctx),
		EnsureSpace: func(need int64) error { return a.ensureDiskSpace(dir, need) },
		OnPrefix:    onPrefix,
	}, streams, resume)
	progress := func() workflows.Progress {
		p := heartbeat.Progress(d.Bytes(), d.Estimate())
		sp := &workflows.SegmentedProgress{}
		for _, m := range d.Marks() {
			sp.Streams = append(sp.Streams, workflows.StreamMark(m))
		}
		p.Segmented = sp
		return p
	}
	stop := heartbeat.Every(ctx, heartbeat.Interval, progress)
	sizes, err := d.Run(ctx)
	stop()
	probing.Wait()
	if err != nil {
		return nil, nil, err
	}
	heartbeat.Record(ctx, progress())
	res := &workflows.DownloadResult{}
	probed := make([]*workflows.MediaInfo, len(streams))
	for i, s := range streams {
		res.Files = append(res.Files, s.Path)
		res.Bytes += sizes[i]
		// What the parts made must be media, as with yt-dlp's files: the
		// container is told by the file's start.
		if p := probes[i]; p.early {
			if p.err != nil {
				return nil, nil, p.err
			}
			probed[i] = p.m
		}
	}
	return res, probed, nil
}

// safeExt is what a format's extension may be in a file name.
var safeExt = regexp.MustCompile(`^[a-z0-9]{1,5}$`)

// planFormats turns the formats yt-dlp selected into streams for segdl:
// HLS (m3u8_native) from the media playlist, DASH from yt-dlp's own
// fragment list, plain files in byte ranges. A format of another protocol
// is an ErrNotNative.
func (a *Activities) planFormats(ctx context.Context, dir string, fs []ytdlp.Format) ([]segdl.Stream, string, error) {
	client := a.httpFor(ctx)
	strategy := workflows.DownloadNativeHTTP
	var streams []segdl.Stream
	for i, f := range fs {
		u, err := url.Parse(f.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, "", &segdl.ErrNotNative{Why: "a format URL that is not http(s)"}
		}
		h := sourceHeaders(f.HTTPHeaders)
		ext := strings.ToLower(f.Ext)
		if !safeExt.MatchString(ext) {
			ext = "bin"
		}
		s := segdl.Stream{Header: h}
		switch f.Protocol {
		case "m3u8_native", "m3u8":
			pl, err := segdl.LoadHLS(ctx, client, h, u)
			if err != nil {
				return nil, "", err
			}
			if pl.Media == nil {
				return nil, "", &segdl.ErrNotNative{Why: "a format whose playlist is a master playlist"}
			}
			s.Parts, ext, strategy = pl.Media.Parts, pl.Media.FileExt(), workflows.DownloadNativeHLS
		case "http_dash_segments":
			base, berr := url.Parse(f.FragmentBaseURL)
			for _, fr := range f.Fragments {
				ref := fr.URL
				if ref == "" {
					ref = fr.Path
					if berr != nil || f.FragmentBaseURL == "" {
						return nil, "", &segdl.ErrNotNative{Why: "a DASH fragment without a base URL"}
					}
				}
				fu, err := url.Parse(ref)
				if err == nil && fr.URL == "" {
					fu = base.ResolveReference(fu) // yt-dlp's urljoin
				}
				if err != nil || (fu.Scheme != "http" && fu.Scheme != "https") {
					return nil, "", &segdl.ErrNotNative{Why: "a DASH fragment URL that is not http(s)"}
				}
				s.Parts = append(s.Parts, segdl.Part{URL: fu})
			}
			if len(s.Parts) == 0 {
				return nil, "", &segdl.ErrNotNative{Why: "a DASH format without fragments"}
			}
			if strategy != workflows.DownloadNativeHLS {
				strategy = workflows.DownloadNativeDASH
			}
		case "http", "https":
			if s.Parts, _, err = segdl.PlanFile(ctx, client, h, u); err != nil {
				return nil, "", err
			}
		default:
			return nil, "", &segdl.ErrNotNative{Why: "a format served over " + f.Protocol}
		}
		s.Path = filepath.Join(dir, "src."+strconv.Itoa(i)+"."+ext)
		streams = append(streams, s)
	}
	return streams, strategy, nil
}

// fetchFormats downloads the formats yt-dlp selected: natively where
// planFormats can, else with yt-dlp's downloader. It returns the files,
// the source's codecs (inspectDownloads) and the strategy that ran.
func (a *Activities) fetchFormats(ctx context.Context, dir, infoPath string, y ytdlp.Runner, info *ytdlp.Info, ids []string, sizes []int64) ([]string, *workflows.Streams, string, error) {
	if a.NativeDownload {
		fs := info.LiveFormats()
		streams, strategy, err := a.planFormats(ctx, dir, fs)
		switch {
		case err == nil && len(fs) == len(ids):
			res, probed, err := a.fetchStreams(ctx, dir, streams)
			if err != nil {
				return nil, nil, "", err
			}
			st, err := a.inspectDownloads(ctx, res.Files, probed)
			return res.Files, st, strategy, err
		case err != nil && !segdl.IsNotNative(err):
			return nil, nil, "", err
		case err != nil:
			activity.GetLogger(ctx).Info("Leaving the download to yt-dlp", "why", err.Error())
		}
	}
	fctx, stopWatch := a.watchDownload(ctx, dir)
	files, err := y.Fetch(fctx, dir, infoPath, ids, sizes)
	if werr := stopWatch(); werr != nil {
		err = werr
	}
	if err != nil {
		return nil, nil, "", err
	}
	st, err := a.inspectDownloads(ctx, files, nil)
	return files, st, workflows.DownloadYtdlp, err
}

// sourceHeaders are the request headers yt-dlp gives a format, without
// those riptide sets itself or that would change where or how it fetches.
func sourceHeaders(h map[string]string) http.Header {
	out := http.Header{}
	for k, v := range h {
		switch strings.ToLower(k) {
		case "host", "range", "accept-encoding", "connection", "content-length", "transfer-encoding", "te", "upgrade":
			continue
		}
		if strings.HasPrefix(strings.ToLower(k), "proxy-") {
			continue
		}
		out.Set(k, v)
	}
	return out
}

// mediaProbe is a stream's inspection; early when it ran on the stream's
// first MiB while the rest downloaded.
type mediaProbe struct {
	early bool
	m     *workflows.MediaInfo
	err   error
}

// copyPrefix copies the first n bytes of src to dst.
func copyPrefix(src, dst string, n int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(out, in, n); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

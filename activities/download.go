package activities

import (
	"context"
	"net/url"
	"os"
	"path/filepath"

	"github.com/riptide-dev/riptide/internal/ffmpeg"
	"github.com/riptide-dev/riptide/internal/heartbeat"
	"github.com/riptide-dev/riptide/internal/httpget"
	"github.com/riptide-dev/riptide/internal/metaclean"
	"github.com/riptide-dev/riptide/internal/sources"
	"github.com/riptide-dev/riptide/workflows"
	"go.temporal.io/sdk/activity"
)

// Download fetches the media at in.URL into the job directory: natively when
// the URL is a media file, otherwise through yt-dlp.
func (a *Activities) Download(ctx context.Context, in workflows.DownloadInput) (*workflows.DownloadResult, error) {
	// jobDir keeps only the base name; these would make it the work
	// directory itself or its parent, which Cleanup then deletes.
	key := jobKey(in.JobID)
	switch key {
	case ".", "..", string(filepath.Separator):
		return nil, permanent(workflows.ErrTypeInvalidInput, "invalid job ID %q", in.JobID)
	}
	defer a.Holds.use(key)()
	if err := a.Holds.acquire(ctx, key); err != nil {
		return nil, err
	}
	if err := checkTenantQuota(in.Tenancy); err != nil {
		return nil, err
	}
	ctx = withTenantCap(ctx, in.Tenancy)
	res, err := a.download(ctx, in)
	if err != nil {
		err = tenantCapError(ctx, err)
		err = diskFull(err)
		if isFinal(ctx, err) || isDiskShort(err) {
			// The workflow cannot tell which worker to clean up after a
			// failed download, so the download does. A download the disk
			// ran short for gives its space back too: resuming it would
			// only run short again.
			_ = a.removeJobDir(in.JobID)
		} else {
			// The partial file stays for a retry that lands here (the
			// HTTP downloader resumes it); SweepWorkDir removes it if none
			// does. It holds no room meanwhile.
			a.Holds.release(key)
		}
		return nil, err
	}
	if err := checkTenantResolution(in.Tenancy, res); err != nil {
		_ = a.removeJobDir(in.JobID)
		return nil, err
	}
	res.HostQueue = a.HostQueue
	// One place for every job's metadata: the workflow, its memo, the mux
	// and the webhook all take it from here.
	md := metaclean.Clean(metaclean.Metadata{Title: res.Title, Description: res.Description, ReleaseDate: res.ReleaseDate})
	res.Title, res.Description, res.ReleaseDate = md.Title, md.Description, md.ReleaseDate
	if res.Media != nil {
		m := *res.Media
		m.Title, m.Description, m.ReleaseDate = metaclean.Title(m.Title), metaclean.Description(m.Description), metaclean.Date(m.ReleaseDate)
		res.Media = &m
	}
	res.NeedsMux = muxNeeded(workflows.MuxInput{
		Inputs: res.Files, Format: in.Format, Media: res.Media, ClipStart: in.ClipStart, ClipEnd: in.ClipEnd,
		Thumbnail: in.Thumbnail, ThumbnailPath: res.Thumbnail, Transcode: in.Transcode,
	})
	if res.Streams == nil {
		res.Streams = streamsOf(res.Media)
	}
	return res, nil
}

func (a *Activities) download(ctx context.Context, in workflows.DownloadInput) (*workflows.DownloadResult, error) {
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, permanent(workflows.ErrTypeInvalidInput, "not an http(s) URL: %q", in.URL)
	}
	if id, ok := sources.SpotifyEpisodeID(in.URL); ok {
		// Never downloadable: the outcome is the skip (or lookup) error.
		return nil, a.spotifyEpisodeOutcome(ctx, id)
	}
	dir := a.jobDir(in.JobID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, technical(err, "creating job directory: %v", err)
	}
	if err := a.ensureDiskSpace(dir, 0); err != nil {
		return nil, err
	}
	ctx, doneSite, err := a.prepareSite(ctx, dir, u, in.Tenant, true)
	defer doneSite()
	if err != nil {
		return nil, err
	}
	res, err := a.downloadFrom(ctx, dir, u, in)
	return res, a.siteOutcome(ctx, err)
}

// downloadFrom is download once the attempt's cookies and proxy are set.
func (a *Activities) downloadFrom(ctx context.Context, dir string, u *url.URL, in workflows.DownloadInput) (*workflows.DownloadResult, error) {
	if isHLSURL(u) {
		// An on-demand playlist is downloaded natively (segmented.go), a
		// live one recorded natively (live.go).
		if res, handled, err := a.downloadHLSNative(ctx, dir, u, in); handled {
			return res, err
		}
		if res, handled, err := a.downloadHLS(ctx, dir, u, in); handled {
			if res != nil {
				res.Strategy = workflows.DownloadLiveHLS
			}
			return res, err
		}
	}
	if isDASHURL(u) {
		if res, handled, err := a.downloadDASHNative(ctx, dir, u, in); handled {
			return res, err
		}
	}
	if httpget.IsMedia(ctx, a.httpFor(ctx), u) {
		return a.downloadDirect(ctx, dir, u, in.MaxDuration)
	}
	return a.downloadYtdlp(ctx, dir, in)
}

// inspectDownloads requires every downloaded file to be media (whatever
// the source was: a page, a playlist served as media) and returns the
// source's codecs: video from the first file with video, audio from the
// last with audio, as the mux takes them. known[i], when set, is file i's
// inspection already made (of its first MiB while it downloaded, or by
// the live recorder).
func (a *Activities) inspectDownloads(ctx context.Context, files []string, known []*workflows.MediaInfo) (*workflows.Streams, error) {
	var streams workflows.Streams
	for i, f := range files {
		var m *workflows.MediaInfo
		if i < len(known) && known[i] != nil {
			m = known[i]
		} else {
			var err error
			if m, err = ffmpeg.Inspect(ctx, a.Ffprobe, f); err != nil {
				return nil, err
			}
		}
		if m != nil && streams.VideoCodec == "" && m.VideoCodec != "" {
			streams.VideoCodec, streams.Width, streams.Height = m.VideoCodec, m.Width, m.Height
		}
		if m != nil && m.AudioCodec != "" {
			streams.AudioCodec = m.AudioCodec
		}
	}
	if streams == (workflows.Streams{}) {
		return nil, nil
	}
	return &streams, nil
}

// downloadHTTP fetches a media file natively and describes it from its
// headers or tags.
func (a *Activities) downloadHTTP(ctx context.Context, dir string, u *url.URL) (*workflows.DownloadResult, error) {
	dst, n, err := httpget.Fetch(ctx, a.httpFor(ctx), dir, u, httpget.Limits{
		MaxBytes:    a.jobByteCap(ctx),
		EnsureSpace: func(need int64) error { return a.ensureDiskSpace(dir, need) },
	})
	if err != nil {
		return nil, err
	}
	res := &workflows.DownloadResult{Files: []string{dst}, Bytes: n, Source: "http", Strategy: workflows.DownloadNativeHTTP}
	// A playlist or manifest served as media (or a page, or nothing) is
	// refused here, before ffmpeg could follow what it names.
	if res.Media, err = ffmpeg.Inspect(ctx, a.Ffprobe, dst); err != nil {
		return nil, err
	}
	if res.Media != nil {
		res.Title, res.Description, res.ReleaseDate = res.Media.Title, res.Media.Description, res.Media.ReleaseDate
	}
	return res, nil
}

// downloadDirect fetches a media file natively. With a duration limit, it
// asks ffprobe how long the media is first (reading only its headers), and
// the downloaded file again when the headers did not say.
func (a *Activities) downloadDirect(ctx context.Context, dir string, u *url.URL, maxDuration int) (*workflows.DownloadResult, error) {
	known := false
	if maxDuration > 0 {
		d := a.probeURLDuration(ctx, u)
		if err := checkDuration(d, maxDuration); err != nil {
			return nil, err
		}
		known = d > 0
	}
	res, err := a.downloadHTTP(ctx, dir, u)
	if err != nil || maxDuration == 0 || known {
		return res, err
	}
	var d float64
	if res.Media != nil {
		d = res.Media.Duration // probed already
	}
	if err := checkDuration(d, maxDuration); err != nil {
		return nil, err
	}
	return res, nil
}

// probeURLDuration is the duration in seconds ffprobe reads from the media
// at u, 0 when it cannot tell. ffprobe connects on its own, so it only runs
// through the worker's guarded proxy, and only over HTTP(S).
func (a *Activities) probeURLDuration(ctx context.Context, u *url.URL) float64 {
	if a.YtdlpProxy == "" || a.Ffprobe == "" {
		return 0
	}
	// A slow server must not cost the activity its heartbeat. Repeat the
	// previous attempt's progress: a partial download resumes from it.
	var prev workflows.Progress
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &prev)
	}
	stop := heartbeat.Every(ctx, heartbeat.Interval, func() workflows.Progress { return prev })
	defer stop()
	proxy := a.YtdlpProxy
	if sn := siteNetOf(ctx); sn != nil {
		proxy = sn.ytdlpProxy
	}
	return ffmpeg.URLDuration(ctx, a.Ffprobe, proxy, u.String())
}

package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/riptide-dev/riptide/internal/batches"
	"github.com/riptide-dev/riptide/internal/jobs"
	"github.com/riptide-dev/riptide/internal/sources"
	"github.com/riptide-dev/riptide/workflows"
)

const (
	// defaultListWait is how long POST waits for a batch's episode list
	// before answering without it.
	defaultListWait = 5 * time.Second
	listPollEvery   = 200 * time.Millisecond
	// Episode paging of GET /batch/{id}.
	defaultEpisodePage = 50
	maxEpisodePage     = 200
	// episodeReads bounds the job reads one page makes at once.
	episodeReads = 8
	// feedProbeTimeout bounds the HEAD request that tells a feed from a
	// media file when the URL does not say.
	feedProbeTimeout = 3 * time.Second
)

// batchResponse answers POST /batches and POST /jobs with a show URL.
// TotalEpisodes, JobIDs, EpisodeJobs and Episodes are null when the list
// was not known in time. EpisodeJobs and Episodes are the hosted service's
// names; JobIDs is riptide's (the same list).
type batchResponse struct {
	BatchID       string           `json:"batch_id"`
	Status        string           `json:"status"`
	RiptideStatus string           `json:"riptide_status"`
	Paused        bool             `json:"paused"`
	TotalEpisodes *int             `json:"total_episodes"`
	JobIDs        []string         `json:"job_ids"`
	EpisodeJobs   []string         `json:"episode_jobs"`
	Episodes      []createdEpisode `json:"episodes"`
}

// createdEpisode is one episode of a new batch: its job, and the URL and
// title from the batch's manifest (null when the manifest cannot be read).
type createdEpisode struct {
	JobID string  `json:"job_id"`
	URL   *string `json:"url"`
	Title *string `json:"title"`
}

// objectGetter reads an object of the bucket; *storage.Store is one.
type objectGetter interface {
	GetObject(ctx context.Context, key string) ([]byte, error)
}

// createdEpisodes lists the episodes of a new batch with the URL and title
// its manifest holds. The manifest is read once; when it cannot be, the
// episodes have their job IDs alone.
func (s *server) createdEpisodes(ctx context.Context, batchID string, ids []string) []createdEpisode {
	out := make([]createdEpisode, len(ids))
	for i, id := range ids {
		out[i].JobID = id
	}
	g, ok := s.Store.(objectGetter)
	if !ok {
		return out
	}
	body, err := g.GetObject(ctx, workflows.ManifestKey(batchID))
	var m struct {
		Episodes []workflows.Episode `json:"episodes"`
	}
	if err == nil {
		err = json.Unmarshal(body, &m)
	}
	if err != nil {
		s.Logger.WarnContext(ctx, "Reading the batch manifest failed", "batch_id", batchID, "error", err)
		return out
	}
	for i := range min(len(out), len(m.Episodes)) {
		ep := m.Episodes[i]
		out[i].URL, out[i].Title = &ep.URL, nil
		if ep.Title != "" {
			out[i].Title = &ep.Title
		}
	}
	return out
}

// createBatch handles POST /batches.
func (s *server) createBatch(c *gin.Context) {
	in, paused, e := decodeBatchRequest(http.MaxBytesReader(c.Writer, c.Request.Body, s.MaxBodyBytes), s.Guard)
	if e != nil {
		abort(c, e)
		return
	}
	if e := s.checkSpotify(in.URL, "show_url"); e != nil {
		abort(c, e)
		return
	}
	if !s.admitCreate(c, &in) {
		return
	}
	s.startBatch(c, in, "show_url", paused)
}

// startBatch starts a batch for in (in.URL is the show URL) and waits
// briefly for its episode list, so most clients get every job ID at once.
// A paused batch lists its episodes and starts none until POST
// /batch/{id}/start.
func (s *server) startBatch(c *gin.Context, in workflows.JobInput, urlField string, paused bool) {
	id, err := uuid.NewRandom()
	if err != nil {
		abort(c, newError(http.StatusInternalServerError, codeInternal, "internal error"))
		return
	}
	bin := workflows.BatchInput{
		BatchID: id.String(), ShowURL: in.URL, WebhookURL: in.WebhookURL, Folder: in.Folder,
		EnableProgressWebhook: in.EnableProgressWebhook, DownloadSubtitles: in.DownloadSubtitles, Format: in.Format,
		JobOptions: in.JobOptions, WindowSize: s.BatchWindow, PageSize: s.BatchPageSize, ReconcileEvery: s.BatchReconcileEvery,
		Paused: paused, Tenancy: in.Tenancy, Storage: in.Storage,
	}
	wait := s.BatchListWait
	if wait == 0 {
		wait = defaultListWait
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), wait+2*temporalTimeout)
	defer cancel()
	v, err := batches.StartListed(ctx, s.Temporal, s.TaskQueue, bin, wait, listPollEvery)
	if err != nil {
		s.Logger.ErrorContext(ctx, "Starting batch failed", "batch_id", bin.BatchID, "error", err)
		abort(c, temporalError(err))
		return
	}
	s.Logger.InfoContext(ctx, "Batch started", "batch_id", bin.BatchID, "show_url", logURL(bin.ShowURL))
	c.Header("Location", "/batches/"+bin.BatchID)

	resp := batchResponse{BatchID: bin.BatchID, Status: batches.ReferenceStatus(workflows.BatchResolving),
		RiptideStatus: workflows.BatchResolving, Paused: paused}
	switch {
	case v == nil:
		// The batch runs; its list is not known yet.
	case v.Status == batches.StatusFailed:
		msg := "the episode list could not be read"
		if v.Error != nil {
			msg = *v.Error
		}
		abort(c, &apiError{Status: http.StatusUnprocessableEntity, Code: codeUnreadableSource, Message: msg, Field: urlField})
		return
	case v.TotalEpisodes != nil:
		resp.Status, resp.RiptideStatus = v.Status, v.RiptideStatus
		resp.TotalEpisodes = v.TotalEpisodes
		resp.JobIDs = batches.JobIDs(bin.BatchID, 0, *v.TotalEpisodes)
		resp.EpisodeJobs = resp.JobIDs
		resp.Episodes = s.createdEpisodes(ctx, bin.BatchID, resp.JobIDs)
	}
	c.JSON(http.StatusCreated, resp)
}

// batchEpisode is one episode in GET /batch/{id}: its job, or a Pending
// placeholder for an episode not started yet.
type batchEpisode struct {
	Index int `json:"index"`
	// JobID is the view's id, under the name the create answer uses.
	JobID string `json:"job_id"`
	*jobs.View
}

type batchPage struct {
	*batches.View
	// EpisodeJobs are the job IDs of every episode (the hosted service's
	// field), null until the list is known.
	EpisodeJobs []string       `json:"episode_jobs"`
	Page        int            `json:"page"`
	PageSize    int            `json:"page_size"`
	TotalPages  int            `json:"total_pages"`
	Episodes    []batchEpisode `json:"episodes"`
}

// getBatch handles GET /batch/{id} and GET /batches/{id}: counts, and one
// page of episodes (?page=1&page_size=50).
func (s *server) getBatch(c *gin.Context) {
	id, ok := idParam(c, "batch")
	if !ok {
		return
	}
	page, e := intParam(c, "page", 1, 1, 1<<30)
	if e != nil {
		abort(c, e)
		return
	}
	size, e := intParam(c, "page_size", defaultEpisodePage, 1, maxEpisodePage)
	if e != nil {
		abort(c, e)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	defer cancel()
	v, ok := s.readBatch(ctx, c, id)
	if !ok {
		return
	}
	var err error
	out := batchPage{View: v, Page: page, PageSize: size, Episodes: []batchEpisode{}}
	if v.TotalEpisodes != nil {
		total := *v.TotalEpisodes
		out.EpisodeJobs = batches.JobIDs(id, 0, total)
		out.TotalPages = (total + size - 1) / size
		from := min((page-1)*size, total)
		out.Episodes, err = s.episodes(ctx, v, from, min(from+size, total))
		if err != nil {
			s.Logger.ErrorContext(ctx, "Reading batch episodes failed", "batch_id", id, "error", err)
			abort(c, temporalError(err))
			return
		}
	}
	c.JSON(http.StatusOK, out)
}

// episodes reads the jobs of episodes [from, to), a few at a time.
func (s *server) episodes(ctx context.Context, b *batches.View, from, to int) ([]batchEpisode, error) {
	ids := batches.JobIDs(b.BatchID, from, to)
	out := make([]batchEpisode, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, episodeReads)
	var wg sync.WaitGroup
	for i, jobID := range ids {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			v, err := jobs.Get(ctx, s.Temporal, jobID)
			if errors.Is(err, jobs.ErrNotFound) {
				// Not started yet, or never will be (cancelled batch).
				status := workflows.StatusPending
				if b.Cancelled || b.Done() {
					status = jobs.StatusCancelled
				}
				v, err = jobs.Placeholder(jobID, status, b.BatchID), nil
			}
			if v != nil && v.BatchID == nil {
				// An episode job started before its batch was recorded
				// on it is still this batch's.
				v.BatchID = &b.BatchID
			}
			if v != nil {
				// signed only by GET /jobs/{id}, one at a time
				v.S3URL, v.SubtitleURL, v.ThumbnailURL = nil, nil, nil
			}
			out[i], errs[i] = batchEpisode{Index: from + i, JobID: jobID, View: v}, err
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// readBatch reads a batch for a /batch/{id} route. When it cannot (unknown
// batch, Temporal failing) it has answered the request and returns false.
func (s *server) readBatch(ctx context.Context, c *gin.Context, id string) (*batches.View, bool) {
	v, err := batches.Get(ctx, s.Temporal, id)
	if errors.Is(err, batches.ErrNotFound) {
		abort(c, newError(http.StatusNotFound, codeNotFound, "batch not found"))
		return nil, false
	}
	if err != nil {
		s.Logger.ErrorContext(ctx, "Reading batch failed", "batch_id", id, "error", err)
		abort(c, temporalError(err))
		return nil, false
	}
	return v, true
}

// cancelBatch handles DELETE /batch/{id}: the episodes not yet finished are
// cancelled; batch_completed still follows, with them counted as failed.
func (s *server) cancelBatch(c *gin.Context) {
	id, ok := idParam(c, "batch")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	defer cancel()
	v, ok := s.readBatch(ctx, c, id)
	if !ok {
		return
	}
	if v.Done() {
		abort(c, newError(http.StatusConflict, codeConflict, "batch already ended (%s)", v.Status))
		return
	}
	if err := batches.Cancel(ctx, s.Temporal, id); err != nil {
		if errors.Is(err, batches.ErrNotFound) {
			abort(c, newError(http.StatusConflict, codeConflict, "batch already ended"))
			return
		}
		s.Logger.ErrorContext(ctx, "Cancelling batch failed", "batch_id", id, "error", err)
		abort(c, temporalError(err))
		return
	}
	s.Logger.InfoContext(ctx, "Batch cancellation requested", "batch_id", id)
	c.JSON(http.StatusAccepted, gin.H{"batch_id": id, "status": "cancelling"})
}

func intParam(c *gin.Context, name string, def, lo, hi int) (int, *apiError) {
	raw, ok := c.GetQuery(name)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, fieldError(codeInvalidField, name, "%s must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}

// checkSpotify refuses Spotify URLs when no Spotify credentials are
// configured: the worker could only fail them.
func (s *server) checkSpotify(raw, field string) *apiError {
	if s.SpotifyConfigured || !sources.IsSpotifyURL(raw) {
		return nil
	}
	return fieldError(codeInvalidField, field,
		"%s is a Spotify URL, and this server has no Spotify Web API credentials (RIPTIDE_SPOTIFY_CLIENT_ID, RIPTIDE_SPOTIFY_CLIENT_SECRET)", field)
}

// mediaExts are extensions that name a media file, never a show.
var mediaExts = map[string]bool{
	".mp3": true, ".m4a": true, ".mp4": true, ".m4v": true, ".mkv": true, ".webm": true, ".mov": true,
	".aac": true, ".ogg": true, ".opus": true, ".flac": true, ".wav": true, ".m3u8": true, ".mpd": true, ".ts": true,
}

// isShowURL tells a show, playlist or feed URL from a single media URL: by
// the URL first, then, for URLs that name no media file, by the content
// type of a short HEAD request when feed probing is on.
func (s *server) isShowURL(ctx context.Context, raw string) bool {
	if _, spotify := sources.SpotifyShowID(raw); spotify {
		return true
	}
	if sources.IsPlaylistHost(raw) || sources.LooksLikeFeedURL(raw) {
		return true
	}
	if s.FeedProbe == nil {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || mediaExts[strings.ToLower(path.Ext(u.Path))] {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, feedProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, raw, nil)
	if err != nil {
		return false
	}
	resp, err := s.FeedProbe.Do(req)
	if err != nil {
		return false // the job reports the source's trouble
	}
	resp.Body.Close()
	return sources.IsFeedContentType(resp.Header.Get("Content-Type"))
}

// logURL is u as the logs may show it: no query (signed URLs carry their
// credentials there), fragment or user info.
func logURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	p.User, p.RawQuery, p.ForceQuery, p.Fragment, p.RawFragment = nil, "", false, "", ""
	return p.String()
}

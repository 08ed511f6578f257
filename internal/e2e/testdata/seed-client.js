// A client of the hosted service, written from its documentation only
// (shared/seeds: the curl requests and the Node.js webhook handler), with
// nothing of riptide in it but the base URL. The Go test runs it against
// riptide and checks what it printed.
//
// Environment: BASE_URL, API_KEY, MEDIA_URL (a playable video), MISSING_URL
// (a URL that 404s), FEED_URL (a podcast feed), TIMEOUT_MS.
'use strict';
const http = require('node:http');

const { BASE_URL, API_KEY, MEDIA_URL, MISSING_URL, FEED_URL } = process.env;
const seen = { completed: {}, failed: {}, skipped: {}, progress: {}, batches: {}, other: [] };

// The documentation's handler, with express.json() spelled out.
function handleWebhook(body) {
  const { type, job_id, status } = body;
  if (type === 'job_completed') {
    const { key, title, description, release_date, subtitle_key } = body;
    seen.completed[job_id] = { status, key, title, description, release_date, subtitle_key,
      s3_url: body.s3_url, file_size_bytes: body.file_size_bytes, url: body.url, folder: body.folder };
  } else if (type === 'job_failed') {
    seen.failed[job_id] = { status, error: body.error, url: body.url };
  } else if (type === 'job_skipped') {
    seen.skipped[job_id] = { status, reason: body.reason };
  } else if (type === 'batch_completed') {
    seen.batches[body.batch_id] = { status, total: body.total_episodes,
      completed: body.completed_episodes, failed: body.failed_episodes, show_url: body.show_url, folder: body.folder };
  } else if (type === 'progress') {
    (seen.progress[job_id] ||= []).push([body.stage, body.progress_percent]);
  } else {
    seen.other.push(type);
  }
}

// curl -X POST "$BASE_URL/jobs" -H "x-api-key: …" -H "Content-Type: application/json" -d '{…}'
async function createJob(body) {
  const res = await fetch(`${BASE_URL}/jobs`, {
    method: 'POST',
    headers: { 'x-api-key': API_KEY, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`POST /jobs ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

// The API reference's calls, each answer checked against the fields and
// types the reference documents; what does not match goes to problems.
const problems = [];
const views = {};
async function call(method, path, body) {
  const res = await fetch(`${BASE_URL}${path}`, {
    method,
    headers: { 'x-api-key': API_KEY, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) problems.push(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const is = {
  integer: (v) => Number.isInteger(v),
  string: (v) => typeof v === 'string',
  boolean: (v) => typeof v === 'boolean',
  array: (v) => Array.isArray(v),
  number: (v) => typeof v === 'number',
};
// expect checks obj[field] has one of the types ('integer', 'string|null', …).
function expect(where, obj, field, types) {
  if (obj === null || typeof obj !== 'object') {
    problems.push(`${where}: not an object`);
    return;
  }
  if (!(field in obj)) {
    problems.push(`${where}: no ${field}`);
    return;
  }
  const v = obj[field];
  const ok = types.split('|').some((t) => (t === 'null' ? v === null : is[t](v)));
  if (!ok) problems.push(`${where}: ${field} is ${JSON.stringify(v)}, want ${types}`);
}

function checkJob(where, job, want) {
  for (const [f, t] of [['id', 'string'], ['url', 'string'], ['status', 'string'], ['step', 'string'],
    ['s3_url', 'string|null'], ['subtitle_url', 'string|null'], ['error', 'string|null'],
    ['error_type', 'string|null'], ['title', 'string|null'], ['description', 'string|null'],
    ['release_date', 'string|null'], ['folder', 'string|null'], ['batch_id', 'string|null'],
    ['file_size', 'integer|null'], ['created_at', 'integer'], ['finished_at', 'integer|null']]) {
    expect(where, job, f, t);
  }
  for (const [f, v] of Object.entries(want)) {
    if (job[f] !== v) problems.push(`${where}: ${f} is ${JSON.stringify(job[f])}, want ${JSON.stringify(v)}`);
  }
  if (job.created_at < Date.UTC(2020, 0, 1)) problems.push(`${where}: created_at ${job.created_at} is not epoch ms`);
}

async function checkResponses(jobs) {
  const plain = await call('GET', `/jobs/${jobs.plain.job_id}`);
  views.plain = plain;
  checkJob('GET /jobs/{plain}', plain, { status: 'Completed', step: 'Finished', error_type: null, batch_id: null });
  expect('GET /jobs/{plain}', plain, 's3_url', 'string');
  expect('GET /jobs/{plain}', plain, 'file_size', 'integer');
  expect('GET /jobs/{plain}', plain, 'finished_at', 'integer');
  // Per-stage figures; a file that needs no muxing has no mux stage.
  for (const [f, t] of [['download_duration_ms', 'integer'], ['mux_duration_ms', 'integer|null'],
    ['upload_duration_ms', 'integer'], ['total_duration_ms', 'integer'], ['queue_wait_ms', 'integer'],
    ['download_retries', 'integer'], ['upload_retries', 'integer'], ['download_speed_mbps', 'number|null'],
    ['upload_speed_mbps', 'number|null']]) {
    expect('GET /jobs/{plain}', plain, f, t);
  }
  if (plain.finished_at < plain.created_at) problems.push('GET /jobs/{plain}: finished before created');
  // Codecs and qualities.
  for (const [f, t] of [['native_video_codec', 'string|null'], ['native_audio_codec', 'string|null'],
    ['requested_quality', 'string|null'], ['actual_quality', 'string|null']]) {
    expect('GET /jobs/{plain}', plain, f, t);
  }

  // The reference's "Custom Encoding" request: re-encoded, and the view
  // names the source's codecs and the qualities.
  const encoded = await call('GET', `/jobs/${jobs.encoded.job_id}`);
  views.encoded = encoded;
  checkJob('GET /jobs/{encoded}', encoded, { status: 'Completed', requested_quality: 'best' });
  for (const f of ['native_video_codec', 'native_audio_codec', 'requested_quality', 'actual_quality']) {
    expect('GET /jobs/{encoded}', encoded, f, 'string');
  }
  if (!/^\d+p$/.test(encoded.actual_quality)) problems.push(`GET /jobs/{encoded}: actual_quality ${encoded.actual_quality}`);

  const failing = await call('GET', `/jobs/${jobs.failing.job_id}`);
  checkJob('GET /jobs/{failing}', failing, { status: 'Failed', error_type: 'error' });
  expect('GET /jobs/{failing}', failing, 'error', 'string');

  const list = await call('GET', '/jobs?limit=2&offset=1');
  expect('GET /jobs', list, 'jobs', 'array');
  for (const [f, t] of [['total', 'integer'], ['limit', 'integer'], ['offset', 'integer']]) expect('GET /jobs', list, f, t);
  if (list.limit !== 2 || list.offset !== 1) problems.push(`GET /jobs: limit ${list.limit} offset ${list.offset}`);
  if (!(list.jobs && list.jobs.length === 2)) problems.push(`GET /jobs: ${list.jobs && list.jobs.length} jobs, want 2`);
  for (const j of list.jobs || []) {
    for (const [f, t] of [['id', 'string'], ['url', 'string'], ['status', 'string'], ['s3_key', 'string|null'],
      ['error', 'string|null'], ['step', 'string'], ['created_at', 'integer'], ['finished_at', 'integer|null'],
      ['file_size', 'integer|null']]) {
      expect('GET /jobs item', j, f, t);
    }
  }

  // The show's create answer and GET /batch/{id}.
  const created = jobs.batch;
  expect('POST /jobs (show)', created, 'batch_id', 'string');
  expect('POST /jobs (show)', created, 'total_episodes', 'integer');
  expect('POST /jobs (show)', created, 'paused', 'boolean');
  expect('POST /jobs (show)', created, 'episode_jobs', 'array');
  expect('POST /jobs (show)', created, 'episodes', 'array');
  for (const ep of created.episodes || []) {
    expect('POST /jobs (show) episode', ep, 'job_id', 'string');
    expect('POST /jobs (show) episode', ep, 'url', 'string');
    expect('POST /jobs (show) episode', ep, 'title', 'string');
  }
  const batch = await call('GET', `/batch/${created.batch_id}`);
  for (const [f, t] of [['id', 'string'], ['show_url', 'string'], ['status', 'string'], ['folder', 'string|null'],
    ['total_episodes', 'integer'], ['completed_episodes', 'integer'], ['failed_episodes', 'integer'],
    ['episode_jobs', 'array']]) {
    expect('GET /batch/{id}', batch, f, t);
  }
  if (!['processing', 'completed', 'finished', 'paused'].includes(batch.status)) problems.push(`GET /batch/{id}: status ${batch.status}`);
  if (JSON.stringify(batch.episode_jobs) !== JSON.stringify(created.episode_jobs)) problems.push('GET /batch/{id}: episode_jobs differ from the create answer');

  // POST /jobs/bulk in the reference's shape.
  const bulk = await call('POST', '/jobs/bulk', {
    jobs: [{ url: MEDIA_URL, filename: 'bulk-one' }, { url: MEDIA_URL, filename: 'bulk-two' }], folder: 'bulk-2024',
  });
  expect('POST /jobs/bulk', bulk, 'batch_id', 'string');
  expect('POST /jobs/bulk', bulk, 'total_jobs', 'integer');
  expect('POST /jobs/bulk', bulk, 'job_ids', 'array');
  if (bulk.total_jobs !== 2 || !(bulk.job_ids && bulk.job_ids.length === 2)) problems.push(`POST /jobs/bulk: ${JSON.stringify(bulk)}`);

  // POST /metadata of the clip: every documented field, of its type or null.
  const md = await call('POST', '/metadata', { url: MEDIA_URL });
  for (const [f, t] of [['title', 'string|null'], ['duration', 'number|null'], ['width', 'integer|null'],
    ['height', 'integer|null'], ['extractor', 'string|null'], ['uploader', 'string|null'],
    ['thumbnail', 'string|null'], ['description', 'string|null'], ['view_count', 'integer|null'],
    ['like_count', 'integer|null'], ['upload_date', 'string|null'], ['filesize_approx', 'integer|null']]) {
    expect('POST /metadata', md, f, t);
  }
  if (!(md.duration > 0)) problems.push(`POST /metadata: duration ${md.duration} of a media file`);

  // DELETE /jobs/{id}/file of a completed episode; its job then has no s3_url.
  const episode = (created.episode_jobs || [])[0];
  const del = await call('DELETE', `/jobs/${episode}/file`);
  for (const f of ['message', 'job_id', 'deleted_key']) expect('DELETE /jobs/{id}/file', del, f, 'string');
  if (del.job_id !== episode) problems.push(`DELETE /jobs/{id}/file: job_id ${del.job_id}, want ${episode}`);
  const afterDelete = await call('GET', `/jobs/${episode}`);
  checkJob('GET /jobs/{id} after DELETE /jobs/{id}/file', afterDelete, { status: 'Completed', s3_url: null });
  views.deleted = { episode, deleted_key: del.deleted_key };

  // POST /jobs/{id}/retry of the failed job.
  const retried = await call('POST', `/jobs/${jobs.failing.job_id}/retry`);
  for (const f of ['job_id', 'original_job_id', 'message']) expect('POST /jobs/{id}/retry', retried, f, 'string');
  if (retried.original_job_id !== jobs.failing.job_id) problems.push('POST /jobs/{id}/retry: original_job_id');
  return retried.job_id;
}

// pausedBatchFlow: PATCH /batch/{id}/jobs renames the first episode of a
// batch created paused, POST /batch/{id}/start starts it; starting a batch
// that is not paused is an error with a message.
async function pausedBatchFlow(created, running) {
  expect('POST /jobs (paused show)', created, 'paused', 'boolean');
  if (created.paused !== true) problems.push(`POST /jobs (paused show): paused ${created.paused}`);
  expect('POST /jobs (paused show)', created, 'episode_jobs', 'array');
  const batch = await call('GET', `/batch/${created.batch_id}`);
  if (batch.status !== 'paused') problems.push(`GET /batch/{paused}: status ${batch.status}`);
  const renamed = await call('PATCH', `/batch/${created.batch_id}/jobs`, {
    renames: [{ job_id: created.episode_jobs[0], filename: '01 - Introduction' }],
  });
  expect('PATCH /batch/{id}/jobs', renamed, 'updated', 'integer');
  expect('PATCH /batch/{id}/jobs', renamed, 'errors', 'array');
  if (renamed.updated !== 1) problems.push(`PATCH /batch/{id}/jobs: ${JSON.stringify(renamed)}`);
  const started = await call('POST', `/batch/${created.batch_id}/start`);
  expect('POST /batch/{id}/start', started, 'batch_id', 'string');
  expect('POST /batch/{id}/start', started, 'started_jobs', 'integer');
  expect('POST /batch/{id}/start', started, 'status', 'string');
  if (started.status !== 'processing' || started.started_jobs !== created.episode_jobs.length) {
    problems.push(`POST /batch/{id}/start: ${JSON.stringify(started)}`);
  }
  const res = await fetch(`${BASE_URL}/batch/${running.batch_id}/start`, { method: 'POST', headers: { 'x-api-key': API_KEY } });
  const refused = await res.json();
  if (res.ok || typeof refused.error !== 'string') problems.push(`POST /batch/{not paused}/start: ${res.status} ${JSON.stringify(refused)}`);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/webhooks/tornado') {
    res.writeHead(404).end();
    return;
  }
  let raw = '';
  req.setEncoding('utf8');
  req.on('data', (c) => { raw += c; });
  req.on('end', () => {
    try {
      handleWebhook(JSON.parse(raw));
    } catch (e) {
      seen.other.push(`unparsable: ${e}`);
    }
    res.writeHead(200).end('OK');
  });
});

server.listen(0, '127.0.0.1', async () => {
  const webhook_url = `http://127.0.0.1:${server.address().port}/webhooks/tornado`;
  const timer = setTimeout(() => finish('timeout'), Number(process.env.TIMEOUT_MS || 120000));
  const finish = (why) => {
    clearTimeout(timer);
    process.stdout.write(JSON.stringify({ why, jobs, seen, problems, views }) + '\n');
    server.close();
    process.exit(0);
  };
  let jobs;
  try {
    // The three requests of the documentation: a job with a webhook, one
    // with progress webhooks, and (here) one that fails; plus a feed.
    const plain = await createJob({ url: MEDIA_URL, webhook_url });
    const progress = await createJob({ url: MEDIA_URL, webhook_url, enable_progress_webhook: true });
    const failing = await createJob({ url: MISSING_URL, webhook_url });
    const batch = await createJob({ url: FEED_URL, webhook_url, folder: 'my-podcast-2024' });
    const encoded = await createJob({ url: MEDIA_URL, webhook_url, format: 'mkv', video_codec: 'h265',
      audio_codec: 'opus', audio_bitrate: '192k', video_quality: 28, filename: 'encoded' });
    // The paused batch workflow: create paused, rename, start.
    const paused = await createJob({ url: FEED_URL, webhook_url, folder: 'paused-podcast-2024', paused: true });
    await pausedBatchFlow(paused, batch);
    jobs = { plain, progress, failing, batch, encoded, paused };
  } catch (e) {
    process.stdout.write(JSON.stringify({ why: `error: ${e.message}` }) + '\n');
    process.exit(1);
  }
  let checking = false;
  let retryID;
  const poll = setInterval(async () => {
    const done = seen.completed[jobs.plain.job_id] && seen.completed[jobs.progress.job_id] &&
      seen.failed[jobs.failing.job_id] && seen.batches[jobs.batch.batch_id] && seen.completed[jobs.encoded.job_id] &&
      seen.batches[jobs.paused.batch_id];
    if (done && !checking) {
      checking = true;
      try {
        retryID = await checkResponses(jobs);
      } catch (e) {
        problems.push(`checking responses: ${e.message}`);
        retryID = null;
      }
    }
    // The retry fails as the original did; wait for its webhook too.
    if (retryID !== undefined && (retryID === null || seen.failed[retryID])) {
      clearInterval(poll);
      finish('done');
    }
  }, 100);
});

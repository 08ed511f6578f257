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
    process.stdout.write(JSON.stringify({ why, jobs, seen }) + '\n');
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
    jobs = { plain, progress, failing, batch };
  } catch (e) {
    process.stdout.write(JSON.stringify({ why: `error: ${e.message}` }) + '\n');
    process.exit(1);
  }
  const poll = setInterval(() => {
    const done = seen.completed[jobs.plain.job_id] && seen.completed[jobs.progress.job_id] &&
      seen.failed[jobs.failing.job_id] && seen.batches[jobs.batch.batch_id];
    if (done) {
      clearInterval(poll);
      finish('done');
    }
  }, 100);
});

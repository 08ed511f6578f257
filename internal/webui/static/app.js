// riptide's web dashboard: a hash-routed single page over the JSON API.
//
// Live updates poll the API once a second while the tab is visible (the
// reference dashboard's cadence) and stop while it is hidden. Polling
// rather than Server-Sent Events: it works behind every proxy, holds no
// connection open against RIPTIDE_API_MAX_CONNS_PER_IP, and the dashboard
// endpoints are cached server-side so any number of open tabs cost one
// computation per cache period.
import { api, query, session, whenUnauthorized, APIError } from './api.js';
import { h, swap, announce, fmtBytes, fmtMS, fmtTime, badge } from './dom.js';
import { jobForm, batchForm, subscriptionForm } from './forms.js';

const POLL_MS = 1000;
const PAGE = 25;
// SEARCH_SCAN: how many of the latest jobs a text search reads.
const SEARCH_SCAN = 1000;
const STATUSES = ['Pending', 'Processing', 'Completed', 'Failed', 'Warning', 'Skipped', 'Cancelled'];
const main = document.getElementById('main');

// --- view lifecycle -------------------------------------------------------

let cleanups = [];
function onLeave(fn) { cleanups.push(fn); }
function leave() { for (const fn of cleanups.splice(0)) fn(); }

// poll runs fn now and then POLL_MS after each run ends, only while the
// page is visible; it returns nothing: the view's onLeave stops it.
function poll(fn, ms = POLL_MS) {
  let timer = null;
  let stopped = false;
  let running = false;
  const tick = async () => {
    timer = null;
    if (stopped || document.hidden) return;
    running = true;
    let wait = ms;
    try {
      await fn();
      flash(null);
    } catch (e) {
      if (!(e instanceof APIError && e.status === 401)) flash(e, 'poll');
      // Rate limited (RIPTIDE_API_RATE_LIMIT is per key, shared by every
      // tab): wait as long as the API asks.
      if (e instanceof APIError && e.status === 429) wait = Math.max(ms, e.retryAfter * 1000);
    }
    running = false;
    if (!stopped && !document.hidden) timer = setTimeout(tick, wait);
  };
  const vis = () => { if (!document.hidden && !timer && !running && !stopped) tick(); };
  document.addEventListener('visibilitychange', vis);
  onLeave(() => { stopped = true; clearTimeout(timer); document.removeEventListener('visibilitychange', vis); });
  tick();
}

let flashEl = null;
// flash shows an error above the page. A polling error (from 'poll') is
// cleared by the next poll that works; an action's error stays.
function flash(e, from = 'action') {
  if (!flashEl || !flashEl.isConnected) return;
  if (!e && flashEl.dataset.from !== 'poll') return;
  flashEl.dataset.from = from;
  swap(flashEl, e ? h('p', { class: 'error', role: 'alert', text: e.message }) : null);
}

function page(title, ...body) {
  document.title = `${title} · riptide`;
  flashEl = h('div', { class: 'flash' });
  main.replaceChildren(h('h1', { text: title }), flashEl, ...body);
}

// Status changes of the jobs on screen are announced (aria-live).
const seen = new Map();
function noteStatus(j) {
  const before = seen.get(j.id);
  const now = `${j.status}/${j.step}`;
  if (before && before !== now) announce(`${j.title || shortID(j.id)}: ${j.status}, ${j.step}`);
  seen.set(j.id, now);
}

const shortID = (id) => String(id).slice(0, 8);

// --- routing --------------------------------------------------------------

const routes = [
  [/^#\/overview$/, overview],
  [/^#\/jobs$/, jobsList],
  [/^#\/jobs\/([\w-]+)$/, jobPage],
  [/^#\/batches$/, batchesList],
  [/^#\/batches\/([\w-]+)$/, batchPage],
  [/^#\/subscriptions$/, subscriptionsList],
  [/^#\/subscriptions\/([\w-]+)$/, subscriptionPage],
  [/^#\/new-subscription$/, () => subscriptionForm(page, go)],
  [/^#\/new$/, () => jobForm(page, go)],
  [/^#\/new-batch$/, () => batchForm(page, go)],
];

function go(hash) { location.hash = hash; }

function route() {
  leave();
  const signedIn = !!session.key();
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('signout').hidden = !signedIn;
  if (!signedIn) { signIn(); return; }
  const [path, qs] = location.hash.split('?');
  const params = new URLSearchParams(qs || '');
  for (const a of document.querySelectorAll('#nav a')) {
    const cur = path === a.getAttribute('href') || path.startsWith(a.getAttribute('href') + '/');
    if (cur) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  for (const [re, view] of routes) {
    const m = path.match(re);
    if (m) { view(...m.slice(1), params); focusMain(); return; }
  }
  go('#/overview');
}

let firstRoute = true;
function focusMain() {
  if (firstRoute) { firstRoute = false; return; }
  main.focus({ preventScroll: true });
}

whenUnauthorized(() => { session.signOut(); route(); });
window.addEventListener('hashchange', route);
document.getElementById('signout').addEventListener('click', () => {
  session.signOut();
  seen.clear();
  go('#/overview');
  route();
});

// --- sign-in --------------------------------------------------------------

function signIn() {
  const err = h('p', { id: 'key-error', class: 'field-error', role: 'alert' });
  const input = h('input', { id: 'key', name: 'key', type: 'password', autocomplete: 'off', required: true,
    spellcheck: 'false', 'aria-describedby': 'key-error key-help' });
  const form = h('form', { class: 'card narrow', onsubmit: async (ev) => {
    ev.preventDefault();
    const k = input.value.trim();
    err.textContent = '';
    input.removeAttribute('aria-invalid');
    try {
      await api('GET', '/dashboard/stats', undefined, k);
      session.signIn(k);
      if (!location.hash || location.hash === '#/' || location.hash === '#') go('#/overview');
      route();
      probeSubscriptions();
    } catch (e) {
      err.textContent = e.message;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
  } },
  h('label', { for: 'key', text: 'API key' }), input,
  h('p', { id: 'key-help', class: 'muted', text: 'One of RIPTIDE_API_KEYS. Kept in this tab only (sessionStorage) and sent as x-api-key.' }),
  err,
  h('button', { type: 'submit', text: 'Sign in' }));
  page('Sign in', form);
  input.focus();
}

// The subscriptions API (#16) may not exist on this server: its nav entry
// shows only when GET /subscriptions answers.
async function probeSubscriptions() {
  const nav = document.getElementById('nav-subscriptions');
  try { await api('GET', '/subscriptions'); nav.hidden = false; } catch { nav.hidden = true; }
}

// --- overview -------------------------------------------------------------

function overview() {
  const cards = h('section', { class: 'cards', 'aria-label': 'Jobs by status' });
  const chart = h('section', { class: 'card', 'aria-labelledby': 'chart-h' });
  const now = h('section', { class: 'card', 'aria-labelledby': 'now-h' });
  page('Overview', cards, h('div', { class: 'grid2' }, chart, now));
  let lastDaily = '';
  poll(async () => {
    const [st, daily, cl, running] = await Promise.all([
      api('GET', '/dashboard/stats'), api('GET', '/dashboard/daily'), api('GET', '/dashboard/cluster'),
      api('GET', '/jobs' + query({ status: 'processing', limit: 10 })),
    ]);
    const card = (label, value, status) => h('a', { class: `stat ${status ? 's-' + status : ''}`,
      href: status ? `#/jobs?status=${status}` : '#/jobs', dataset: { fk: 'stat-' + label } },
    h('span', { class: 'stat-value', text: value }), h('span', { class: 'stat-label', text: label }));
    swap(cards,
      card('Total', st.total_jobs),
      ...STATUSES.map((s) => card(s, st[`${s.toLowerCase()}_jobs`] ?? 0, s.toLowerCase())),
      h('div', { class: 'stat' }, h('span', { class: 'stat-value', text: (daily.daily_stats.at(-1) || {}).completed ?? 0 }),
        h('span', { class: 'stat-label', text: 'Completed today (UTC)' })),
      h('div', { class: 'stat' }, h('span', { class: 'stat-value', text: fmtBytes(st.today_throughput_bytes) }),
        h('span', { class: 'stat-label', text: 'Throughput today (UTC)' })),
      h('div', { class: 'stat' }, h('span', { class: 'stat-value', text: st.avg_processing_time_seconds == null ? '—' : `${st.avg_processing_time_seconds.toFixed(1)} s` }),
        h('span', { class: 'stat-label', text: 'Average job, last 24 h' })),
      h('div', { class: 'stat' }, h('span', { class: 'stat-value', text: fmtBytes(st.storage_used_bytes) }),
        h('span', { class: 'stat-label', text: 'Stored' })));
    const d = JSON.stringify(daily);
    if (d !== lastDaily) { lastDaily = d; swap(chart, h('h2', { id: 'chart-h', text: 'Last 7 days' }), dailyChart(daily.daily_stats)); }
    running.jobs.forEach(noteStatus);
    swap(now, h('h2', { id: 'now-h', text: 'Workers now' }),
      h('p', { class: 'now-counts' },
        h('span', { class: 'pill', text: `${cl.total_downloading} downloading` }),
        h('span', { class: 'pill', text: `${cl.total_muxing} muxing` }),
        h('span', { class: 'pill', text: `${cl.total_uploading} uploading` })),
      running.jobs.length ? jobTable(running.jobs, true) : h('p', { class: 'muted', text: 'Nothing is running.' }),
      running.total > running.jobs.length ? h('a', { href: '#/jobs?status=processing', text: `All ${running.total} running jobs` }) : null);
  });
}

// dailyChart: grouped bars, completed and failed per UTC day (inline SVG),
// with a table beside it for screen readers.
function dailyChart(days) {
  const W = 560; const H = 200; const pad = 28; const max = Math.max(1, ...days.flatMap((d) => [d.completed, d.failed]));
  const bw = (W - pad) / days.length;
  const y = (v) => H - pad - (v / max) * (H - pad * 2);
  const svg = h('svg:svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': 'chart-title' },
    h('svg:title', { id: 'chart-title', text: 'Completed and failed jobs per day, last 7 days' }),
    h('svg:line', { x1: pad, x2: W, y1: H - pad, y2: H - pad, class: 'axis' }),
    h('svg:text', { x: 2, y: y(max) + 4, class: 'tick', text: max }),
    h('svg:text', { x: 2, y: H - pad + 4, class: 'tick', text: 0 }),
    days.map((d, i) => {
      const x = pad + i * bw + bw * 0.15; const w = bw * 0.33;
      return h('svg:g', {},
        h('svg:rect', { x, y: y(d.completed), width: w, height: H - pad - y(d.completed), class: 'bar-completed' },
          h('svg:title', { text: `${d.date}: ${d.completed} completed` })),
        h('svg:rect', { x: x + w + 2, y: y(d.failed), width: w, height: H - pad - y(d.failed), class: 'bar-failed' },
          h('svg:title', { text: `${d.date}: ${d.failed} failed` })),
        h('svg:text', { x: x + w, y: H - 8, class: 'tick', 'text-anchor': 'middle', text: d.date.slice(5) }));
    }));
  const legend = h('p', { class: 'legend' }, h('span', { class: 'key k-completed' }), 'Completed ',
    h('span', { class: 'key k-failed' }), 'Failed');
  const table = h('table', { class: 'sr-only' }, h('caption', { text: 'Jobs per day' }),
    h('tr', {}, h('th', { text: 'Day' }), h('th', { text: 'Completed' }), h('th', { text: 'Failed' })),
    days.map((d) => h('tr', {}, h('td', { text: d.date }), h('td', { text: d.completed }), h('td', { text: d.failed }))));
  return [svg, legend, table];
}

// --- jobs -----------------------------------------------------------------

function progressCell(j) {
  const done = ['Completed', 'Failed', 'Warning', 'Skipped', 'Cancelled'].includes(j.status);
  return h('td', { class: 'progress-cell' },
    h('span', { class: 'step', text: j.step }),
    done ? null : h('progress', { max: 100, value: j.progress_percent || 0, 'aria-label': `${j.step} ${j.progress_percent || 0}%` }),
    done ? null : h('span', { class: 'pct', text: `${j.progress_percent || 0}%` }));
}

// jobTable lists jobs; compact (the overview's narrow card) leaves out the
// folder and the creation time.
function jobTable(jobs, compact = false) {
  const cols = compact ? ['Job', 'Status', 'Step'] : ['Job', 'Status', 'Step', 'Created'];
  return h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
    h('thead', {}, h('tr', {}, cols.map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, jobs.map((j) => h('tr', { dataset: { job: j.id, status: j.status } },
      h('td', { class: 'job-name' }, h('a', { href: `#/jobs/${j.id}`, dataset: { fk: 'job-' + j.id }, text: j.title || j.url || 'Job ' + shortID(j.id) }),
        !compact && j.folder ? h('span', { class: 'muted small', text: ` ${j.folder}/` }) : null),
      h('td', {}, badge(j.status)),
      progressCell(j),
      compact ? null : h('td', { class: 'small', text: fmtTime(j.created_at) }))))));
}

function jobsList(params) {
  const f = { status: params.get('status') || '', folder: params.get('folder') || '', batch_id: params.get('batch_id') || '', q: params.get('q') || '' };
  const cursors = [null]; // cursors[i] starts page i
  let pageNo = 0;
  const statusSel = h('select', { id: 'f-status', name: 'status' }, h('option', { value: '', text: 'Any' }),
    STATUSES.map((s) => h('option', { value: s.toLowerCase(), text: s, selected: f.status.toLowerCase() === s.toLowerCase() })));
  const folder = h('input', { id: 'f-folder', name: 'folder', value: f.folder });
  const batch = h('input', { id: 'f-batch', name: 'batch_id', value: f.batch_id, placeholder: 'batch id' });
  const q = h('input', { id: 'f-q', name: 'q', type: 'search', value: f.q, placeholder: 'latest 1,000 jobs' });
  const apply = (ev) => {
    ev.preventDefault();
    go('#/jobs' + query({ status: statusSel.value, folder: folder.value.trim(), batch_id: batch.value.trim(), q: q.value.trim() }));
  };
  const filters = h('form', { class: 'filters', role: 'search', onsubmit: apply },
    h('div', {}, h('label', { for: 'f-status', text: 'Status' }), statusSel),
    h('div', {}, h('label', { for: 'f-folder', text: 'Folder' }), folder),
    h('div', {}, h('label', { for: 'f-batch', text: 'Batch' }), batch),
    h('div', {}, h('label', { for: 'f-q', text: 'Search URL or title' }), q),
    h('button', { type: 'submit', text: 'Filter' }));
  const list = h('div', { 'aria-live': 'off' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  page('Jobs', filters, list, pager);
  let last = '';
  const filter = { status: f.status, folder: f.folder, batch_id: f.batch_id };
  const needle = f.q.toLowerCase();
  const matches = (j) => `${j.url} ${j.title || ''}`.toLowerCase().includes(needle);
  // Text search: visibility has no text attribute for URL or title, so the
  // latest SEARCH_SCAN jobs (with the other filters) are read and matched
  // here, polled less often.
  const search = async () => {
    let cursor = null; let scanned = 0; let total = 0; const found = [];
    while (scanned < SEARCH_SCAN && found.length < PAGE * 4) {
      const r = await api('GET', '/jobs' + query({ ...filter, limit: 100, cursor }));
      total = r.total; scanned += r.jobs.length; found.push(...r.jobs.filter(matches));
      cursor = r.next_cursor;
      if (!cursor) break;
    }
    found.forEach(noteStatus);
    const key = JSON.stringify(found);
    if (key === last) return;
    last = key;
    swap(list, h('p', { class: 'muted', id: 'jobs-total', text: `${found.length} match${found.length === 1 ? '' : 'es'} for “${f.q}” among the latest ${scanned} of ${total} jobs` }),
      found.length ? jobTable(found) : h('p', { text: 'No jobs match.' }));
    swap(pager);
  };
  const load = async () => {
    const res = await api('GET', '/jobs' + query({ ...filter, limit: PAGE, cursor: cursors[pageNo] }));
    cursors[pageNo + 1] = res.next_cursor;
    const jobs = res.jobs;
    jobs.forEach(noteStatus);
    const key = JSON.stringify([jobs, res.total, pageNo]);
    if (key === last) return;
    last = key;
    swap(list, h('p', { class: 'muted', id: 'jobs-total', text: `${res.total} job${res.total === 1 ? '' : 's'}` }),
      jobs.length ? jobTable(jobs) : h('p', { text: 'No jobs match.' }));
    const pages = Math.max(1, Math.ceil(res.total / PAGE));
    swap(pager,
      h('button', { type: 'button', class: 'ghost', disabled: pageNo === 0, dataset: { fk: 'prev' }, text: '← Previous',
        onclick: () => { pageNo--; last = ''; load(); } }),
      h('span', { text: `Page ${pageNo + 1} of ${pages}` }),
      h('button', { type: 'button', class: 'ghost', disabled: !res.next_cursor, dataset: { fk: 'next' }, text: 'Next →',
        onclick: () => { pageNo++; last = ''; load(); } }));
  };
  if (needle) poll(search, 5 * POLL_MS); else poll(load);
}

const STAGES = [
  ['Queued', 'queue_wait_ms'], ['Downloading', 'download_duration_ms'], ['Muxing', 'mux_duration_ms'],
  ['Uploading', 'upload_duration_ms'], ['Finished', 'total_duration_ms'],
];

function timeline(j) {
  const at = STAGES.findIndex(([s]) => s === j.step);
  const done = j.completed_at !== null;
  // A job that ended other than Completed stopped in the last stage that
  // has a duration (a stage's duration covers a failed end too), or in
  // the download when it has none.
  const has = (i) => j[STAGES[i][1]] !== null && j[STAGES[i][1]] !== undefined;
  let stopped = -1;
  if (done && j.status !== 'Completed') {
    stopped = [3, 2, 1].find(has) ?? (has(0) ? 1 : 0);
  }
  const spoken = { done: ' done', current: ' in progress', todo: ' not started', skipped: ' skipped', stopped: ' stopped here' };
  return h('ol', { class: 'timeline', id: 'timeline' }, STAGES.map(([name, field], i) => {
    let state = i < at ? 'done' : i === at ? (done ? 'done' : 'current') : 'todo';
    if (name === 'Muxing' && j[field] === null && (i < at || done)) state = 'skipped';
    if (stopped >= 0 && name !== 'Finished') state = i < stopped ? (state === 'skipped' ? 'skipped' : 'done') : i === stopped ? 'stopped' : 'todo';
    if (stopped >= 0 && name === 'Muxing' && i > stopped) state = 'todo';
    if (done && name === 'Finished') state = stopped >= 0 ? 'stopped' : 'done';
    const dur = j[field];
    return h('li', { class: `stage st-${state}`, dataset: { stage: name, state } },
      h('span', { class: 'stage-name', text: name }),
      h('span', { class: 'sr-only', text: spoken[state] }),
      h('span', { class: 'stage-info' },
        state === 'current' && name !== 'Queued' ? `${j.progress_percent || 0}%` : '',
        state === 'skipped' ? 'not needed' : '',
        state === 'stopped' && name !== 'Finished' ? `${j.status.toLowerCase()} here ` : '',
        state === 'todo' && done ? 'not reached' : '',
        dur !== null && dur !== undefined ? h('span', { class: 'dur', text: (name === 'Finished' ? 'total ' : '') + fmtMS(dur) }) : ''));
  }));
}

const PLAIN = {
  Warning: 'The source is unavailable: private, members-only, geo-blocked, removed or age-gated.',
  Skipped: 'The source is DRM protected, so it was not downloaded.',
  Cancelled: 'The job was cancelled (DELETE /jobs, or its batch was cancelled).',
};

function errorBox(j) {
  if (!j.error && !PLAIN[j.status]) return null;
  const words = j.status === 'Failed' ? 'The job failed.' : PLAIN[j.status];
  return h('div', { class: `notice ${j.status === 'Failed' ? 'bad' : 'warn'}`, role: 'status', id: 'job-error' },
    h('strong', { text: words }), j.error ? h('p', { text: j.error }) : null);
}

const FIELD_ORDER = ['id', 'url', 'title', 'status', 'step', 'progress_percent', 'folder', 'key', 'file_size_bytes', 'batch_id', 'retry_of'];

function fieldsTable(j) {
  const keys = [...FIELD_ORDER.filter((k) => k in j), ...Object.keys(j).filter((k) => !FIELD_ORDER.includes(k)).sort()];
  return h('dl', { class: 'fields' }, keys.map((k) => {
    let v = j[k];
    if (v !== null && typeof v === 'object') v = JSON.stringify(v);
    return [h('dt', { text: k }), h('dd', { text: v === null ? 'null' : String(v) })];
  }));
}

function jobPage(id) {
  const head = h('div', { class: 'job-head' });
  const actions = h('div', { class: 'actions' });
  const tl = h('section', { class: 'card', 'aria-labelledby': 'tl-h' });
  const hooks = h('section', { class: 'card', 'aria-labelledby': 'wh-h' });
  const fields = h('details', { class: 'card' });
  page('Job', head, actions, tl, hooks, fields);
  let last = '';
  let lastHooks = '';
  let closedPolls = 0;
  poll(async () => {
    const j = await api('GET', `/jobs/${id}`);
    noteStatus(j);
    const hook = j.webhook_status ? await api('GET', `/jobs/${id}/webhooks`) : null;
    const key = JSON.stringify(j);
    if (key !== last) {
      last = key;
      main.querySelector('h1').textContent = j.title || 'Job ' + shortID(j.id);
      document.title = `${j.title || 'Job'} · riptide`;
      swap(head, h('p', {}, badge(j.status), ' ', h('span', { id: 'job-step', text: j.step }),
        j.completed_at ? null : h('span', { class: 'pct', text: ` ${j.progress_percent || 0}%` })),
      h('p', { class: 'url' }, h('span', { class: 'muted', text: 'Source ' }), h('span', { text: j.url })),
      j.key ? h('p', { class: 'url' }, h('span', { class: 'muted', text: 'Object ' }), h('span', { id: 'job-key', text: j.key }),
        h('span', { class: 'muted', text: ` · ${fmtBytes(j.file_size_bytes)}${j.file_deleted ? ' · deleted' : ''}` })) : null,
      errorBox(j));
      const running = j.status === 'Pending' || j.status === 'Processing';
      swap(actions,
        j.s3_url ? h('a', { class: 'button', href: j.s3_url, target: '_blank', rel: 'noopener noreferrer', id: 'download', dataset: { fk: 'dl' }, text: 'Play / download' }) : null,
        j.temporal_ui_url ? h('a', { class: 'button ghost', href: j.temporal_ui_url, target: '_blank', rel: 'noopener noreferrer', dataset: { fk: 'tui' }, text: 'Open in Temporal UI' }) : null,
        j.batch_id ? h('a', { class: 'button ghost', href: `#/batches/${j.batch_id}`, text: 'Its batch' }) : null,
        running ? h('button', { type: 'button', class: 'danger', id: 'cancel', dataset: { fk: 'cancel' }, text: 'Cancel job', onclick: async (ev) => {
          ev.target.disabled = true;
          try { await api('DELETE', `/jobs/${id}`); announce('Cancellation requested'); last = ''; } catch (e) { flash(e); ev.target.disabled = false; }
        } }) : null,
        ['Failed', 'Cancelled', 'Skipped'].includes(j.status) ? h('button', { type: 'button', id: 'retry', dataset: { fk: 'retry' }, text: 'Retry', onclick: async () => {
          try { const r = await api('POST', `/jobs/${id}/retry`); go(`#/jobs/${r.job_id}`); } catch (e) { flash(e); }
        } }) : null);
      swap(tl, h('h2', { id: 'tl-h', text: 'Progress' }), timeline(j),
        h('p', { class: 'muted small', text: `Created ${fmtTime(j.created_at)}${j.completed_at ? ', ended ' + fmtTime(j.completed_at) : ''}` }));
      const open = fields.open;
      swap(fields, h('summary', { text: 'Every field' }), fieldsTable(j));
      fields.open = open;
    }
    const hk = JSON.stringify(hook);
    if (hk !== lastHooks) {
      lastHooks = hk;
      swap(hooks, h('h2', { id: 'wh-h', text: 'Webhooks' }), hook ? webhookList(id, hook, () => { lastHooks = ''; }) :
        h('p', { class: 'muted', text: j.webhook_status === null ? 'No webhook_url, or nothing sent yet.' : '' }));
    }
    // A finished job still changes for a moment (its last webhooks), then
    // no more: slow the polling down to nothing after that.
    if (j.finished_at) closedPolls++;
    if (closedPolls > 5 && hook && !hook.webhooks.some((w) => w.status === 'pending' || (w.redelivery && w.redelivery.status === 'pending'))) {
      await new Promise((r) => setTimeout(r, 4000));
    }
  });
}

function webhookList(jobID, hook, changed) {
  return h('ul', { class: 'hooks' }, hook.webhooks.map((w) => h('li', { class: 'hook', dataset: { event: w.event_id } },
    h('div', { class: 'hook-head' }, h('strong', { text: w.type }), ' ', badge(w.status),
      h('span', { class: 'muted small', text: ` ${w.attempts.length} attempt${w.attempts.length === 1 ? '' : 's'}` }),
      h('button', { type: 'button', class: 'ghost small redeliver', dataset: { fk: 'rd-' + w.event_id },
        disabled: w.status === 'pending', 'aria-label': `Redeliver ${w.type}`, text: 'Redeliver', onclick: async (ev) => {
          ev.target.disabled = true;
          try { await api('POST', `/jobs/${jobID}/webhooks/${encodeURIComponent(w.event_id)}/redeliver`); announce(`${w.type} redelivery started`); changed(); } catch (e) { flash(e); ev.target.disabled = false; }
        } })),
    h('ol', { class: 'attempts' }, w.attempts.map((a) => h('li', { class: a.delivered ? 'ok' : 'bad' },
      `${fmtTime(a.at)} · ${a.status_code ? 'HTTP ' + a.status_code : 'no answer'} · ${a.latency_ms ?? '—'} ms`,
      a.error ? h('span', { class: 'muted', text: ` · ${a.error}` }) : null))),
    w.redelivery ? h('p', { class: 'small redelivery' }, 'Redelivery: ', badge(w.redelivery.status),
      ` ${(w.redelivery.attempts || []).length} attempt(s)`) : null)));
}

// --- batches --------------------------------------------------------------

function stackBar(b) {
  const parts = [['completed', b.completed_episodes], ['failed', b.failed_episodes], ['running', b.running_episodes || 0],
    ['pending', b.pending_episodes ?? Math.max(0, (b.total_episodes || 0) - b.completed_episodes - b.failed_episodes)]];
  const total = Math.max(1, parts.reduce((s, [, n]) => s + (n || 0), 0));
  let x = 0;
  const label = parts.map(([k, n]) => `${n || 0} ${k}`).join(', ');
  return h('svg:svg', { class: 'stackbar', viewBox: '0 0 100 8', preserveAspectRatio: 'none', role: 'img', 'aria-label': label },
    h('svg:title', { text: label }),
    parts.map(([k, n]) => { const w = ((n || 0) / total) * 100; const r = h('svg:rect', { x, y: 0, width: w, height: 8, class: `seg-${k}` }); x += w; return r; }));
}

function batchesList() {
  const list = h('div');
  page('Batches', list);
  let last = '';
  poll(async () => {
    const res = await api('GET', '/dashboard/batches');
    const key = JSON.stringify(res);
    if (key === last) return;
    last = key;
    swap(list, res.batches.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['Batch', 'Status', 'Progress', 'Created'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, res.batches.map((b) => h('tr', { dataset: { batch: b.id } },
        h('td', {}, h('a', { href: `#/batches/${b.id}`, dataset: { fk: 'b-' + b.id }, text: b.show_url }), b.folder ? h('span', { class: 'muted small', text: ` ${b.folder}/` }) : null),
        h('td', {}, badge(b.status)),
        h('td', {}, stackBar(b), h('span', { class: 'small', text: `${b.completed_episodes + b.failed_episodes}/${b.total_episodes ?? '?'}` })),
        h('td', { class: 'small', text: fmtTime(b.created_at) })))))) : h('p', { text: 'No batches yet. ' }, h('a', { href: '#/new-batch', text: 'Create one' })));
  });
}

function batchPage(id, params) {
  let pageNo = Number(params.get('page')) || 1;
  const head = h('section', { class: 'card' });
  const eps = h('section', { class: 'card', 'aria-labelledby': 'ep-h' });
  page('Batch', head, eps);
  let last = '';
  const load = async () => {
    const b = await api('GET', `/batches/${id}` + query({ page: pageNo, page_size: PAGE }));
    (b.episodes || []).forEach(noteStatus);
    const key = JSON.stringify(b);
    if (key === last) return;
    last = key;
    main.querySelector('h1').textContent = 'Batch ' + shortID(b.batch_id || id);
    const ended = ['completed', 'finished', 'failed', 'cancelled'].includes(b.status) || b.cancelled;
    swap(head,
      h('p', {}, badge(b.status), ' ', h('span', { class: 'muted', text: b.show_url })),
      stackBar(b),
      h('p', { class: 'legend', id: 'batch-counts' },
        ['completed', 'failed', 'running', 'pending'].map((k) => [h('span', { class: `key k-${k}` }), `${b[k + '_episodes'] ?? 0} ${k} `]),
        `of ${b.total_episodes ?? '?'}`),
      b.error ? h('p', { class: 'error', text: b.error }) : null,
      h('div', { class: 'actions' },
        b.paused ? h('button', { type: 'button', id: 'start-batch', dataset: { fk: 'start' }, text: 'Start batch', onclick: async (ev) => {
          ev.target.disabled = true;
          try { const r = await api('POST', `/batches/${id}/start`); announce(`Batch started: ${r.started_jobs} episodes`); last = ''; } catch (e) { flash(e); ev.target.disabled = false; }
        } }) : null,
        // A running batch with episodes left to start can be paused: it
        // starts no new episode until Start.
        !b.paused && !ended && b.riptide_status === 'running' && b.pending_episodes > 0 ? h('button', { type: 'button', id: 'pause-batch', dataset: { fk: 'pause' }, text: 'Pause batch', onclick: async (ev) => {
          ev.target.disabled = true;
          try { const r = await api('POST', `/batches/${id}/pause`); announce(`Batch paused: ${r.running_jobs} running episodes finish`); last = ''; } catch (e) { flash(e); ev.target.disabled = false; }
        } }) : null,
        ended ? null : h('button', { type: 'button', class: 'danger', id: 'cancel-batch', dataset: { fk: 'cancelb' }, text: 'Cancel batch', onclick: async (ev) => {
          ev.target.disabled = true;
          try { await api('DELETE', `/batches/${id}`); announce('Batch cancellation requested'); last = ''; } catch (e) { flash(e); ev.target.disabled = false; }
        } }),
        h('a', { class: 'button ghost', href: `#/jobs?batch_id=${id}`, text: 'Its jobs' })));
    const pages = b.total_pages || 1;
    swap(eps, h('h2', { id: 'ep-h', text: 'Episodes' }),
      (b.episodes || []).length ? jobTable(b.episodes.map((e) => ({ ...e, id: e.id || e.job_id }))) : h('p', { class: 'muted', text: 'The episode list is not known yet.' }),
      h('nav', { class: 'pager', 'aria-label': 'Episode pages' },
        h('button', { type: 'button', class: 'ghost', disabled: pageNo <= 1, dataset: { fk: 'eprev' }, text: '← Previous', onclick: () => { pageNo--; last = ''; load(); } }),
        h('span', { text: `Page ${pageNo} of ${pages}` }),
        h('button', { type: 'button', class: 'ghost', disabled: pageNo >= pages, dataset: { fk: 'enext' }, text: 'Next →', onclick: () => { pageNo++; last = ''; load(); } })));
  };
  poll(load);
}

// --- subscriptions (issue #16's API; shown only where it exists) -----------

const SUB_PAGE = 10;

// subState is a subscription's state in one word, for its badge.
function subState(s) {
  if (s.sweep_running) return 'Checking';
  if (s.paused === undefined) return null;
  return s.paused ? 'Paused' : 'Active';
}

// subError says a subscription's last_error in plain words.
function subError(s, id) {
  if (!s.last_error) return null;
  return h('div', { class: 'notice bad', role: 'status', id },
    h('strong', { text: 'The last check failed: the source could not be listed.' }),
    h('p', { text: s.last_error }),
    h('p', { class: 'muted small', text: 'The next check tries again; nothing already downloaded is lost.' }));
}

const count = (n, one, many = one + 's') => `${n ?? 0} ${n === 1 ? one : many}`;

function subscriptionsList() {
  const cursors = [null];
  let pageNo = 0;
  const list = h('div');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  page('Subscriptions', h('div', { class: 'actions' },
    h('a', { class: 'button', href: '#/new-subscription', id: 'new-subscription', text: 'New subscription' })), list, pager);
  let last = '';
  const load = async () => {
    const res = await api('GET', '/subscriptions' + query({ limit: SUB_PAGE, cursor: cursors[pageNo] }));
    cursors[pageNo + 1] = res.next_cursor;
    const items = res.subscriptions;
    const key = JSON.stringify([items, pageNo, res.next_cursor]);
    if (key === last) return;
    last = key;
    swap(list, items.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'list subs' },
      h('thead', {}, h('tr', {}, ['Source', 'Folder', 'Every', 'State', 'Last check', 'Next check', 'Downloaded', 'Failed', 'Last error']
        .map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, items.map((s) => h('tr', { dataset: { sub: s.subscription_id } },
        h('td', { class: 'job-name' }, h('a', { href: `#/subscriptions/${s.subscription_id}`, dataset: { fk: 'sub-' + s.subscription_id }, text: s.url })),
        h('td', { class: 'small', text: s.folder ? s.folder + '/' : '—' }),
        h('td', { text: s.every }),
        h('td', {}, subState(s) ? badge(subState(s)) : '—'),
        h('td', { class: 'small', text: fmtTime(s.last_check) }),
        h('td', { class: 'small', text: s.paused ? 'paused' : fmtTime(s.next_check) }),
        h('td', { class: 'num', text: s.episodes_downloaded }),
        h('td', { class: 'num', text: s.episodes_failed }),
        h('td', { class: 'small sub-error', text: s.last_error ? 'Could not list the source: ' + s.last_error : '—' })))))) :
      h('p', {}, pageNo ? 'No more subscriptions.' : 'No subscriptions yet. ', pageNo ? null : h('a', { href: '#/new-subscription', text: 'Subscribe to a feed' })));
    swap(pager,
      h('button', { type: 'button', class: 'ghost', disabled: pageNo === 0, dataset: { fk: 'prev' }, text: '← Previous',
        onclick: () => { pageNo--; last = ''; load(); } }),
      h('span', { text: `Page ${pageNo + 1}` }),
      h('button', { type: 'button', class: 'ghost', disabled: !res.next_cursor, dataset: { fk: 'next' }, text: 'Next →',
        onclick: () => { pageNo++; last = ''; load(); } }));
  };
  poll(load, 5 * POLL_MS);
}

function sweepTable(sweeps) {
  const rows = sweeps; // newest first, as the API lists them
  return h('div', { class: 'table-wrap' }, h('table', { class: 'list sweeps' },
    h('caption', { class: 'sr-only', text: 'Recent checks, newest first' }),
    h('thead', {}, h('tr', {}, ['Started', 'Ended', 'Listed', 'New', 'Completed', 'Failed', 'Batch'].map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, rows.map((w) => [
      h('tr', { dataset: { sweep: w.sweep_id, batch: w.batch_id || '' } },
        h('td', { class: 'small', text: fmtTime(w.started_at) }),
        h('td', { class: 'small', text: w.ended_at ? fmtTime(w.ended_at) : 'running' }),
        h('td', { class: 'num', text: w.listed }),
        h('td', { class: 'num', text: w.new }),
        h('td', { class: 'num', text: w.completed }),
        h('td', { class: 'num', text: w.failed }),
        h('td', {}, w.batch_id ? h('a', { href: `#/batches/${w.batch_id}`, dataset: { fk: 'sw-' + w.sweep_id }, text: 'Batch ' + shortID(w.batch_id) })
          : h('span', { class: 'muted small', text: w.ended_at ? 'nothing new' : '—' }))),
      w.error ? h('tr', { class: 'sweep-error' }, h('td', { colspan: 7, class: 'error small', text: 'This check failed: ' + w.error })) : null]))));
}

const SUB_FIELDS = [
  ['subscription_id', 'ID'], ['url', 'Source'], ['every', 'Check every'], ['backfill', 'Backfill'], ['folder', 'Folder'],
  ['webhook_url', 'Webhook URL'], ['format', 'Format'], ['notify_empty_sweeps', 'Notify empty checks'],
  ['redownload_changed_enclosures', 'Re-download changed files'], ['created_at', 'Created'],
  ['last_check', 'Last check'], ['next_check', 'Next check'], ['episodes_seen', 'Episodes seen'], ['sweeps', 'Checks'],
];

function subscriptionPage(id) {
  const head = h('div', { class: 'job-head' });
  const actions = h('div', { class: 'actions' });
  const counts = h('section', { class: 'cards', 'aria-label': 'Episodes' });
  const sweeps = h('section', { class: 'card', 'aria-labelledby': 'sw-h' });
  const fields = h('section', { class: 'card', 'aria-labelledby': 'sf-h' });
  page('Subscription', head, actions, counts, sweeps, fields);
  let last = '';
  let lastSweeps = -1;
  let confirming = false;
  let s = null;
  // act runs one button's request; its answer is shown at once.
  const act = async (btn, fn, said) => {
    btn.disabled = true;
    try { await fn(); announce(said); last = ''; await render(); renderActions(); } catch (e) { flash(e); btn.disabled = false; }
  };
  const renderActions = () => swap(actions,
    h('button', { type: 'button', id: 'sub-pause', dataset: { fk: 'pause' },
      text: s.paused ? 'Resume' : 'Pause', onclick: (ev) => act(ev.target, async () => {
        s = await api('PATCH', `/subscriptions/${id}`, { paused: !s.paused });
      }, s.paused ? 'Subscription resumed' : 'Subscription paused') }),
    h('button', { type: 'button', class: 'ghost', id: 'sub-check', dataset: { fk: 'check' }, disabled: s.sweep_running,
      text: s.sweep_running ? 'Checking…' : 'Check now', onclick: (ev) => act(ev.target,
        () => api('POST', `/subscriptions/${id}/check`), 'Check requested') }),
    confirming ? h('span', { class: 'confirm', role: 'group', 'aria-labelledby': 'del-q' },
      h('span', { id: 'del-q', text: 'Delete this subscription? Its downloads stay. ' }),
      h('button', { type: 'button', class: 'danger', id: 'sub-delete-yes', dataset: { fk: 'del-yes' }, text: 'Yes, delete', onclick: async (ev) => {
        ev.target.disabled = true;
        try { await api('DELETE', `/subscriptions/${id}`); announce('Subscription deleted'); go('#/subscriptions'); } catch (e) { flash(e); ev.target.disabled = false; }
      } }),
      h('button', { type: 'button', class: 'ghost', id: 'sub-delete-no', dataset: { fk: 'del-no' }, text: 'Keep it', onclick: () => {
        confirming = false; renderActions(); actions.querySelector('#sub-delete').focus();
      } }))
      : h('button', { type: 'button', class: 'danger', id: 'sub-delete', dataset: { fk: 'del' }, text: 'Delete…', onclick: () => {
        confirming = true; renderActions(); actions.querySelector('#sub-delete-no').focus();
      } }));
  const render = async () => {
    const key = JSON.stringify(s);
    if (key === last) return;
    last = key;
    document.title = `${s.url} · riptide`;
    swap(head, h('p', {}, badge(subState(s)), ' ', h('span', { class: 'muted', id: 'sub-next',
      text: s.paused ? 'No checks while paused' : s.sweep_running ? 'Checking now' : `Next check ${fmtTime(s.next_check)}` })),
    h('p', { class: 'url' }, h('span', { class: 'muted', text: 'Source ' }), h('span', { id: 'sub-url', text: s.url })),
    subError(s, 'sub-error'));
    renderActions();
    const stat = (label, value, cls) => h('div', { class: `stat ${cls || ''}` }, h('span', { class: 'stat-value', text: value }),
      h('span', { class: 'stat-label', text: label }));
    swap(counts, stat('Seen', s.episodes_seen), stat('Downloaded', s.episodes_downloaded, 's-completed'),
      stat('Failed', s.episodes_failed, 's-failed'), stat('Checks', s.sweeps), stat('Every', s.every));
    if (s.recent_sweeps.length !== lastSweeps && lastSweeps >= 0) announce(`Checks listed: ${s.recent_sweeps.length}`);
    lastSweeps = s.recent_sweeps.length;
    swap(sweeps, h('h2', { id: 'sw-h', text: 'Recent checks' }),
      s.recent_sweeps.length ? sweepTable(s.recent_sweeps) : h('p', { class: 'muted', text: s.paused ? 'Not checked yet.' : 'The first check is about to run.' }));
    swap(fields, h('h2', { id: 'sf-h', text: 'Settings' }), h('dl', { class: 'fields' }, SUB_FIELDS.map(([k, label]) => {
      let v = s[k];
      if (k.endsWith('_check') || k === 'created_at') v = fmtTime(v);
      else if (typeof v === 'boolean') v = v ? 'yes' : 'no';
      return [h('dt', { text: label }), h('dd', { dataset: { f: k }, text: v === null || v === undefined || v === '' ? '—' : String(v) })];
    })));
  };
  poll(async () => {
    s = await api('GET', `/subscriptions/${id}`);
    main.querySelector('h1').textContent = 'Subscription';
    await render();
  }, 2 * POLL_MS);
}

// --- start ----------------------------------------------------------------

route();
if (session.key()) probeSubscriptions();

// The new job, new batch and new subscription forms: every option of POST
// /jobs, POST /batches and POST /subscriptions (which share the job
// options). The API validates; its error is shown next to the field it
// names (apiError.field) and that field gets the focus.
import { api } from './api.js';
import { h } from './dom.js';

const FORMATS = ['', 'mp4', 'mkv', 'webm', 'mov', 'm4a', 'mp3', 'ogg', 'opus'];
const RESOLUTIONS = ['', 'best', '2160', '1440', '1080', '720', '480', '360', '240', '144'];
const VCODECS = ['', 'copy', 'h264', 'h265', 'vp9'];
const ACODECS = ['', 'copy', 'aac', 'opus', 'mp3'];
const BITRATES = ['', '64k', '128k', '192k', '256k', '320k'];
const PRESETS = ['', 'highest', 'high', 'medium', 'low', 'lowest'];

// Each option: [name, label, kind, help, choices]. kind: text, url, bool,
// select, number (sent as a number), clip (a number when it looks like
// one, else the string).
const OPTIONS = [
  ['webhook_url', 'Webhook URL', 'url', 'Receives job_completed / job_failed (and progress) webhooks.'],
  ['folder', 'Folder', 'text', 'Key prefix in the bucket, no "..", no leading "/".'],
  ['filename', 'File name', 'text', 'Object name instead of the title slug; the format’s extension is added.'],
  ['format', 'Format', 'select', 'Output container or audio format (default mp4).', FORMATS],
  ['max_resolution', 'Max resolution', 'select', 'Largest video by its shorter side (default best).', RESOLUTIONS],
  ['clip_start', 'Clip start', 'clip', 'Seconds, MM:SS or HH:MM:SS.'],
  ['clip_end', 'Clip end', 'clip', 'Seconds, MM:SS or HH:MM:SS, after the start.'],
  ['max_duration', 'Max duration (s)', 'number', 'A longer source fails the job; a live recording’s cap.'],
  ['video_codec', 'Video codec', 'select', 'copy keeps the source’s video; others re-encode.', VCODECS],
  ['audio_codec', 'Audio codec', 'select', 'copy keeps the source’s audio when the container holds it.', ACODECS],
  ['audio_bitrate', 'Audio bitrate', 'select', 'Bitrate of audio riptide encodes (default 192k).', BITRATES],
  ['video_quality', 'Video quality (CRF)', 'number', '0 (best) – 51 (smallest); with a video codec other than copy.'],
  ['quality_preset', 'Quality preset', 'select', 'Overrides video quality; with a video codec other than copy.', PRESETS],
  ['audio_only', 'Audio only', 'bool', 'Keep the audio alone (m4a unless a format says otherwise).'],
  ['download_subtitles', 'Download subtitles', 'bool', 'Upload subtitles beside the media.'],
  ['download_thumbnail', 'Download thumbnail', 'bool', 'Upload a thumbnail beside the media.'],
  ['enable_progress_webhook', 'Progress webhooks', 'bool', 'Send a progress webhook at each stage.'],
  ['live_recording', 'Live recording', 'bool', 'Record a live stream (detected without it too).'],
  ['live_from_start', 'Live from start', 'bool', 'Record from the first segment the playlist still lists.'],
  ['wait_for_video', 'Wait for video', 'bool', 'Wait for a scheduled stream that has not started.'],
];

// BACKFILL: what a new subscription's first sweep downloads; latest and
// since take a count or a date in the input beside the choice.
const BACKFILL = [['all', 'Every episode listed'], ['none', 'None (only later episodes)'],
  ['latest', 'The latest N'], ['since', 'Published since a date']];

// backfillInput is the backfill choice and its argument, one field: its
// value is "all", "none", "latest:N" or "since:YYYY-MM-DD" as the API reads.
function backfillInput(attrs) {
  const id = attrs.id;
  const arg = h('input', { id: id + '-arg', name: 'backfill_arg', type: 'text', autocomplete: 'off',
    'aria-describedby': attrs['aria-describedby'], hidden: true });
  const argLabel = h('label', { for: id + '-arg', class: 'sub-label', hidden: true });
  const sel = h('select', { ...attrs, onchange: () => {
    const mode = sel.value;
    arg.hidden = argLabel.hidden = mode !== 'latest' && mode !== 'since';
    argLabel.textContent = mode === 'latest' ? 'How many (N)' : 'Since (YYYY-MM-DD)';
    arg.inputMode = mode === 'latest' ? 'numeric' : 'text';
    arg.placeholder = mode === 'latest' ? '5' : '2026-01-01';
  } }, BACKFILL.map(([v, t]) => h('option', { value: v, text: t })));
  sel.backfillValue = () => (arg.hidden ? sel.value : `${sel.value}:${arg.value.trim()}`);
  return [sel, argLabel, arg];
}

function field([name, label, kind, help, choices]) {
  const id = 'o-' + name;
  const attrs = { id, name, 'aria-describedby': `${id}-err ${id}-help` };
  let input;
  let extra = null;
  if (kind === 'backfill') [input, ...extra] = backfillInput(attrs);
  else if (kind === 'select') input = h('select', attrs, choices.map((c) => h('option', { value: c, text: c || 'default' })));
  else if (kind === 'bool') input = h('input', { ...attrs, type: 'checkbox' });
  else input = h('input', { ...attrs, type: kind === 'url' ? 'url' : 'text', inputmode: kind === 'number' ? 'numeric' : undefined, autocomplete: 'off' });
  const wrap = h('div', { class: `field ${kind === 'bool' ? 'check' : ''}`, dataset: { field: name } },
    kind === 'bool' ? [input, h('label', { for: id, text: label })] : [h('label', { for: id, text: label }), input, extra],
    h('p', { class: 'help muted small', id: `${id}-help`, text: help }),
    h('p', { class: 'field-error', id: `${id}-err`, role: 'alert' }));
  return { name, kind, input, wrap };
}

function value(f) {
  if (f.kind === 'backfill') return f.input.backfillValue();
  const v = f.input.type === 'checkbox' ? f.input.checked : f.input.value.trim();
  if (v === '' || v === false) return undefined;
  if (f.kind === 'number') return /^\d+$/.test(v) ? Number(v) : v;
  if (f.kind === 'clip') return /^\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  return v;
}

// form builds one of the forms: the URL, then own (the fields of this
// kind of request, in a fieldset of their own), then the job options.
function form(page, go, { title, urlName, urlLabel, urlHelp, path, paused, own, done }) {
  const main = field([urlName, urlLabel, 'url', urlHelp]);
  main.input.required = true;
  const ownFields = (own ? own.fields : []).map(field);
  const fields = [main, ...ownFields, ...OPTIONS.map(field)];
  if (paused) fields.push(field(['paused', 'Create paused', 'bool', 'List the episodes, start none until “Start batch”.']));
  const summary = h('p', { class: 'field-error', role: 'alert', id: 'form-error' });
  const submit = h('button', { type: 'submit', text: 'Submit' });
  const el = h('form', { class: 'card form', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    for (const f of fields) { f.wrap.querySelector('.field-error').textContent = ''; f.input.removeAttribute('aria-invalid'); }
    summary.textContent = '';
    const body = {};
    for (const f of fields) { const v = value(f); if (v !== undefined) body[f.name] = v; }
    submit.disabled = true;
    try {
      const res = await api('POST', path, body);
      done(res, go);
    } catch (e) {
      const f = fields.find((x) => x.name === e.field);
      if (f) {
        f.wrap.querySelector('.field-error').textContent = e.message;
        f.input.setAttribute('aria-invalid', 'true');
        f.input.focus();
      } else {
        summary.textContent = e.message;
      }
    } finally {
      submit.disabled = false;
    }
  } },
  main.wrap,
  own ? h('fieldset', {}, h('legend', { text: own.legend }), h('div', { class: 'options' }, ownFields.map((f) => f.wrap))) : null,
  h('fieldset', {}, h('legend', { text: own ? 'Episode options' : 'Options' }),
    h('div', { class: 'options' }, fields.slice(1 + ownFields.length).map((f) => f.wrap))),
  summary, submit);
  page(title, el);
}

export function jobForm(page, go) {
  form(page, go, { title: 'New job', urlName: 'url', urlLabel: 'Media URL', path: '/jobs',
    urlHelp: 'A media file, an HLS/DASH manifest or a page yt-dlp understands (a show or feed URL makes a batch).',
    done: (r, go) => go(r.batch_id && !r.job_id ? `#/batches/${r.batch_id}` : `#/jobs/${r.job_id}`) });
}

export function batchForm(page, go) {
  form(page, go, { title: 'New batch', urlName: 'show_url', urlLabel: 'Show, playlist or feed URL', path: '/batches',
    urlHelp: 'An RSS/Atom feed, a YouTube playlist or channel, a Spotify show.', paused: true,
    done: (r, go) => go(`#/batches/${r.batch_id}`) });
}

// SUBSCRIPTION: the fields POST /subscriptions adds to the job options.
const SUBSCRIPTION = [
  ['every', 'Check every', 'text', 'A duration such as 1h, 30m or 24h (default 1h; the server has a minimum).'],
  ['backfill', 'Backfill', 'backfill', 'What the first check downloads of the episodes already listed.'],
  ['notify_empty_sweeps', 'Notify empty checks', 'bool', 'Send subscription_checked after every check, new episodes or not (needs a webhook URL).'],
  ['redownload_changed_enclosures', 'Re-download changed files', 'bool', 'Download an episode again when its enclosure URL changes.'],
  ['paused', 'Create paused', 'bool', 'No check until “Resume” (or “Check now”).'],
];

export function subscriptionForm(page, go) {
  form(page, go, { title: 'New subscription', urlName: 'url', urlLabel: 'Feed, playlist or channel URL', path: '/subscriptions',
    urlHelp: 'Checked on a schedule; each check downloads the episodes it has not seen (as a batch).',
    own: { legend: 'Subscription', fields: SUBSCRIPTION },
    done: (r, go) => go(`#/subscriptions/${r.subscription_id}`) });
}

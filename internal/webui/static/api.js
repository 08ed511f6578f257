// The API client: every data call sends the signed-in key as x-api-key.
// The key lives in sessionStorage (this tab, until it closes or the user
// signs out) and never in a URL.
const KEY = 'riptide.apiKey';

export const session = {
  key: () => sessionStorage.getItem(KEY),
  signIn: (k) => sessionStorage.setItem(KEY, k),
  signOut: () => sessionStorage.removeItem(KEY),
};

// APIError carries the API's JSON error: `error` (human message), `code`,
// `field` (the request field at fault, shown next to it in forms).
export class APIError extends Error {
  constructor(status, body) {
    super((body && (body.error || body.message)) || `The API answered ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.field = body && body.field;
  }
}

let onUnauthorized = null;
export function whenUnauthorized(fn) { onUnauthorized = fn; }

export async function api(method, path, body, key = session.key()) {
  const init = { method, headers: { 'x-api-key': key || '' }, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new APIError(0, { error: 'The API cannot be reached: ' + e.message, code: 'network' });
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: text }; }
  if (!res.ok) {
    const err = new APIError(res.status, data);
    err.retryAfter = Number(res.headers.get('Retry-After')) || 0;
    // A signed-in key that stopped working signs the tab out; a key being
    // tried at sign-in just shows the API's answer.
    if (res.status === 401 && onUnauthorized && key === session.key()) onUnauthorized(err);
    throw err;
  }
  return data;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? '?' + s : '';
}

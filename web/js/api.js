// Calls to the public HTTP API (/api/v1): the fetch wrapper, its errors (problem+json codes),
// idempotency keys, and the concerts and dates already fetched.
import { session } from './session.js';

export const API = '/api/v1';
// Codes that mean "your place in line is gone": the fan goes back to the waiting room to rejoin.
export const QUEUE_LOST = ['QUEUE_TOKEN_REQUIRED', 'QUEUE_TOKEN_INVALID', 'QUEUE_TOKEN_EXPIRED', 'QUEUE_TOKEN_MISMATCH'];
// Errors worth retrying with the same Idempotency-Key (the first attempt may or may not have landed).
const TRANSIENT = ['NETWORK', 'RATE_LIMITED', 'DATABASE_UNAVAILABLE', 'QUEUE_UNAVAILABLE'];

export const cache = { concerts: new Map(), schedules: new Map() };

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code);
    this.status = status;
    this.code = code;
    this.detail = detail || null;
  }
}

/** One call to /api/v1. Resolves to the parsed JSON body (null for 204); rejects with ApiError. */
export async function api(method, path, opts = {}) {
  const res = await send(method, path, opts);
  if (res.status === 204) return null;
  return parse(res);
}

/**
 * A GET that may answer 304: with `etag`, sends If-None-Match and resolves to
 * { notModified: true } when nothing changed, else { data, etag, arrivedAt } (arrivedAt: the
 * performance.now() at which the answer's headers arrived).
 */
export async function getFresh(path, { etag, ...opts } = {}) {
  const res = await send('GET', path, { ...opts, headers: etag ? { 'If-None-Match': etag } : {} });
  const arrivedAt = performance.now();
  if (res.status === 304) return { notModified: true };
  const data = await parse(res);
  return { data, etag: res.headers.get('ETag'), arrivedAt };
}

async function send(method, path, { body, auth = true, queue, idem, headers: extra } = {}) {
  const headers = { Accept: 'application/json', ...extra };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const key = session.apiKey;
  if (auth && key) headers.Authorization = `Bearer ${key}`;
  if (queue) headers['X-Queue-Token'] = queue;
  if (idem) headers['Idempotency-Key'] = idem;
  try {
    return await fetch(API + path, {
      method, headers, cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', String(e));
  }
}

/** The JSON body of an answer; a problem answer rejects with its code. */
async function parse(res) {
  let data = null;
  try { const text = await res.text(); data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    let code = data && typeof data.code === 'string' ? data.code : null;
    if (!code) {
      code = { 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 413: 'PAYLOAD_TOO_LARGE', 429: 'RATE_LIMITED' }[res.status]
        || (res.status >= 500 ? 'SERVER_ERROR' : `HTTP_${res.status}`);
    }
    throw new ApiError(res.status, code, data && data.detail);
  }
  return data;
}

/** The user an API key belongs to (GET /users/me with that key, not the stored one). */
export async function userForKey(key) {
  const res = await fetch(`${API}/users/me`, { headers: { Authorization: `Bearer ${key}`, Accept: 'application/json' }, cache: 'no-store' })
    .catch(() => { throw new ApiError(0, 'NETWORK'); });
  const me = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, (me && me.code) || (res.status === 401 ? 'UNAUTHORIZED' : 'SERVER_ERROR'));
  return me;
}

/** A malformed or unknown id in the address reads as "not found" to the fan. */
export function notFound(err, code) {
  if (err.code === 'VALIDATION_FAILED' || err.code === 'NOT_FOUND') err.code = code;
  return err.code === code;
}

export function isTransient(err) { return TRANSIENT.includes(err.code) || err.status >= 500; }

/** A concert, from the cache unless `fresh` (soldOut and onSaleAt change while a page is open). */
export async function getConcert(cid, { fresh = false } = {}) {
  if (!fresh && cache.concerts.has(cid)) return cache.concerts.get(cid);
  const c = await api('GET', `/concerts/${encodeURIComponent(cid)}`, { auth: false });
  cache.concerts.set(cid, c);
  return c;
}

/** A reservation's status as the fan sees it: a hold past its time is expired. */
export const effectiveStatus = (r) => (r.status === 'HELD' && Date.parse(r.heldUntil) <= Date.now() ? 'EXPIRED' : r.status);

/** A fresh idempotency key: one per user intent, reused for retries of that intent. */
export function uuid() {
  if (typeof crypto.randomUUID === 'function') {
    try { return crypto.randomUUID(); } catch { /* insecure context */ }
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// Checks a published pre-queue draw in the browser with Web Crypto: the seed against its
// commitment, and the fan's own place in the drawn order.

// Up to this many tickets the fan's place is recomputed from every ticket's score; past it only
// the neighbours are checked, so a stadium-sized draw (100,000 ids) costs three HMACs, not 100,000.
export const RECOMPUTE_LIMIT = 5000;

/** 64 hex characters as 32 bytes; null for anything else. */
export function seedBytes(hex) {
  if (typeof hex !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hex)) return null;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export const toHex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

/** Byte-wise order of two HMAC outputs, as the service sorts them. */
function compare(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Check `draw` (the GET /concerts/{id}/queue/draw answer) for the ticket `ticketId`. Resolves to
 * { ok: true, whole, place, total, lower, score } — `whole`: every ticket's score was computed and
 * `lower` of them are below ours; otherwise only the neighbours were — or { ok: false, reason }
 * with reason `unsupported` (no Web Crypto here), `commitment`, `place` (with `computed`),
 * `order` or `missing`.
 */
export async function verifyDraw(draw, ticketId) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) return { ok: false, reason: 'unsupported' };
  const seed = seedBytes(draw.seed);
  if (!seed) return { ok: false, reason: 'commitment' };
  const digest = toHex(await subtle.digest('SHA-256', seed));
  if (digest !== String(draw.commitment || '').toLowerCase()) return { ok: false, reason: 'commitment' };

  const ids = Array.isArray(draw.ticketIds) ? draw.ticketIds : [];
  const index = ids.indexOf(ticketId);
  if (index < 0) return { ok: false, reason: 'missing' };
  const key = await subtle.importKey('raw', seed, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const utf8 = new TextEncoder();
  const score = async (id) => new Uint8Array(await subtle.sign('HMAC', key, utf8.encode(id)));
  const mine = await score(ticketId);
  const total = ids.length;

  if (total <= RECOMPUTE_LIMIT) {
    const scores = await Promise.all(ids.map(score));
    const lower = scores.filter((s) => compare(s, mine) < 0).length;
    if (lower !== index) return { ok: false, reason: 'place', computed: lower + 1 };
    return { ok: true, whole: true, place: index + 1, total, lower, score: toHex(mine) };
  }
  const before = index > 0 ? await score(ids[index - 1]) : null;
  const after = index < total - 1 ? await score(ids[index + 1]) : null;
  if ((before && compare(before, mine) >= 0) || (after && compare(mine, after) >= 0)) return { ok: false, reason: 'order' };
  return { ok: true, whole: false, place: index + 1, total, lower: index, score: toHex(mine) };
}

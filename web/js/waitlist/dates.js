// Which concert date a waiting-list entry is for (an entry names only its schedule), and the dates
// of a concert whose waiting list is open (GET /concerts/{id}/waitlist: no queue ticket needed).
import { api, cache } from '../api.js';

// Dates this browser has seen, by schedule id: {concertId, startsAt, grades?}. Public facts, kept
// per browser (localStorage) so "my waiting list" can name the date of an entry after a reload.
const STORE_KEY = 'encore.waitlist.dates';
const KEEP = 200;

function load() {
  try { return JSON.parse(localStorage.getItem(STORE_KEY) || '{}') || {}; } catch { return {}; }
}

/** Remember a date seen on a page: a Schedule, or an open date with its concert's id. */
export function rememberDate({ id, concertId, startsAt, grades }) {
  const all = load();
  const prev = all[id] || {};
  delete all[id]; // re-inserted last, so the oldest are the first dropped
  all[id] = {
    concertId: concertId || prev.concertId,
    startsAt: startsAt || prev.startsAt,
    grades: Array.isArray(grades) ? grades.map(({ code, name }) => ({ code, name })) : prev.grades,
  };
  const ids = Object.keys(all);
  for (const old of ids.slice(0, Math.max(0, ids.length - KEEP))) delete all[old];
  try { localStorage.setItem(STORE_KEY, JSON.stringify(all)); } catch { /* storage blocked */ }
}

/** What is known of a date: {id, concertId, startsAt, grades?}, or null. */
export function knownDate(id) {
  const s = cache.schedules.get(id);
  if (s) return { id, concertId: s.concertId, startsAt: s.startsAt, grades: s.grades };
  const d = load()[id];
  return d ? { id, ...d } : null;
}

/** The concert's dates whose waiting list is open, by start time, each as knownDate() gives. */
export async function openDates(cid) {
  const { items } = await api('GET', `/concerts/${encodeURIComponent(cid)}/waitlist`, { auth: false });
  for (const d of items) rememberDate({ ...d, concertId: cid });
  return items.map((d) => knownDate(d.id)).sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt));
}

/**
 * Learn the dates of entries this browser has not seen (joined elsewhere): the open dates of
 * every concert name each schedule that still has fans waiting. At most once per page view.
 */
export async function findDates(scheduleIds) {
  if (!scheduleIds.some((id) => !knownDate(id))) return;
  const { items } = await api('GET', '/concerts', { auth: false });
  for (const c of items) cache.concerts.set(c.id, c);
  await Promise.all(items.map((c) => openDates(c.id).catch(() => [])));
}

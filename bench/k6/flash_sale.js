// The flash sale: USERS fans join one concert's queue within seconds; the active cap admits
// them in order; each admitted fan lists the dates, reads a seat map, holds a random AVAILABLE
// seat (another one after a 409) and pays. It ends when the show is sold out.
// Env: BASE, CONCERT, KEY_PREFIX (seeded API keys are KEY_PREFIX + n), USERS, VUS.
import http from 'k6/http';
import { sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import exec from 'k6/execution';

const BASE = __ENV.BASE;
const CONCERT = __ENV.CONCERT;
const USERS = Number(__ENV.USERS);
const VUS = Number(__ENV.VUS);

const sold = new Counter('sale_seats_sold');
const serverErrors = new Counter('sale_5xx');
const holdConflicts = new Counter('sale_hold_conflicts');
const joined = new Counter('sale_joined');
const pollTime = new Trend('sale_queue_poll', true);
const soldAt = new Trend('sale_sold_at_ms');
const joinedAt = new Trend('sale_joined_at_ms');

export const options = {
  scenarios: { sale: { executor: 'per-vu-iterations', vus: VUS, iterations: 1, maxDuration: '30m' } },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(50)', 'p(99)'],
};

export function setup() {
  return { start: Date.now() };
}

function check5xx(r) {
  if (r.status >= 500 || r.status === 0) serverErrors.add(1);
  return r;
}

function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

// One admitted fan's booking: 'sold', 'soldout' or 'gave-up'.
function book(fan, start) {
  const auth = { Authorization: `Bearer ${fan.key}`, 'X-Queue-Token': fan.token };
  for (let attempt = 0; attempt < 20; attempt++) {
    const s = check5xx(http.get(`${BASE}/api/v1/concerts/${CONCERT}/schedules`, { headers: auth, tags: { name: 'schedules' } }));
    if (s.status !== 200) return 'gave-up';
    const open = s.json('items').filter((x) => x.bookable);
    if (open.length === 0) return 'soldout';
    const schedule = pick(open);
    const m = check5xx(http.get(`${BASE}/api/v1/schedules/${schedule.id}/seats`, { headers: auth, tags: { name: 'seats' } }));
    if (m.status !== 200) return 'gave-up';
    const free = m.json('seats').filter((x) => x.status === 'AVAILABLE');
    if (free.length === 0) continue;
    const seat = pick(free);
    const h = check5xx(http.post(`${BASE}/api/v1/reservations`,
      JSON.stringify({ scheduleId: schedule.id, seatNumber: seat.number }),
      { headers: Object.assign({ 'Content-Type': 'application/json' }, auth), tags: { name: 'hold' } }));
    if (h.status === 409) { holdConflicts.add(1); continue; }
    if (h.status !== 201) return 'gave-up';
    const p = check5xx(http.post(`${BASE}/api/v1/payments`, JSON.stringify({ reservationId: h.json('id') }),
      { headers: { Authorization: `Bearer ${fan.key}`, 'Content-Type': 'application/json', 'Idempotency-Key': `pay-${h.json('id')}` },
        tags: { name: 'pay' } }));
    if (p.status === 201) {
      sold.add(1);
      soldAt.add(Date.now() - start);
      return 'sold';
    }
    return 'gave-up';
  }
  return 'gave-up';
}

export default function (data) {
  const vu = exec.vu.idInTest - 1;
  // Fans are dealt round-robin so every VU has fans near the front of the line.
  const fans = [];
  for (let i = vu; i < USERS; i += VUS) {
    const key = `${__ENV.KEY_PREFIX}${i}`;
    const r = check5xx(http.post(`${BASE}/api/v1/concerts/${CONCERT}/queue`, null,
      { headers: { Authorization: `Bearer ${key}` }, tags: { name: 'join' } }));
    if (r.status === 201 || r.status === 200) {
      fans.push({ key, token: r.json('token'), done: false });
      joined.add(1);
    }
  }
  joinedAt.add(Date.now() - data.start);
  let soldOut = false;
  while (!soldOut && fans.some((f) => !f.done)) {
    let admitted = 0;
    for (const fan of fans) {
      if (fan.done) continue;
      const p = check5xx(http.get(`${BASE}/api/v1/queue`, { headers: { 'X-Queue-Token': fan.token }, tags: { name: 'poll' } }));
      pollTime.add(p.timings.duration);
      if (p.status === 410) { fan.done = true; continue; }
      if (p.status !== 200 || p.json('status') !== 'ACTIVE') continue;
      admitted++;
      const outcome = book(fan, data.start);
      fan.done = true;
      if (outcome !== 'sold') {
        http.del(`${BASE}/api/v1/queue`, null, { headers: { 'X-Queue-Token': fan.token }, tags: { name: 'leave' } });
      }
      if (outcome === 'soldout') { soldOut = true; break; }
    }
    if (admitted === 0) sleep(0.25);
  }
  // Sold out: everyone still waiting gives their place up.
  for (const fan of fans) {
    if (!fan.done) http.del(`${BASE}/api/v1/queue`, null, { headers: { 'X-Queue-Token': fan.token }, tags: { name: 'leave' } });
  }
}

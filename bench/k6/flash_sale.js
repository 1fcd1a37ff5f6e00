// The flash sale from a pre-queue: USERS fans join one concert's queue before its onSaleAt and
// hold PRE_QUEUE tickets; each VU then checks one of its tickets every half second (a PRE_QUEUE
// ticket needs no heartbeat) until the draw has put them in line. From then on every VU polls its
// fans; each admitted fan lists the dates, reads a seat map, holds a random AVAILABLE seat
// (another one after a 409) and pays. After the sell-out each VU keeps polling its fans until
// every one has seen SOLD_OUT (or 30 s have passed), and records when each saw it.
// Every `*_at` metric is a wall-clock time in epoch milliseconds, so that bench.py can set it
// against onSaleAt and the sell-out.
// Env: BASE, CONCERT, KEY_PREFIX (seeded API keys are KEY_PREFIX + n), USERS, VUS;
// PRINT_TOKENS=1 also writes `BENCH-TOKEN <queue token>` on stderr for each join, and
// SWEEP_AFTER_SOLD_OUT=0 ends each VU once it has learned of the sell-out (the bench's own
// sweeper, `benches/sold_out_sweep.rs`, then polls every waiter, faster than k6 can).
// A line `BENCH-JOINED <vu>` on stderr says that VU has made all its joins.
import http from 'k6/http';
import { sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import exec from 'k6/execution';

const BASE = __ENV.BASE;
const CONCERT = __ENV.CONCERT;
const USERS = Number(__ENV.USERS);
const VUS = Number(__ENV.VUS);
// After a VU learned of the sell-out it keeps polling fans still WAITING for at least this long
// and at least two whole sweeps, so a fan counts as left WAITING only when the service kept
// saying WAITING, not because the load generator had not come round to it.
const SOLD_OUT_GRACE_MS = 30000;
const PRINT_TOKENS = __ENV.PRINT_TOKENS === '1';
const SWEEP_AFTER_SOLD_OUT = __ENV.SWEEP_AFTER_SOLD_OUT !== '0';

const sold = new Counter('sale_seats_sold');
const serverErrors = new Counter('sale_5xx');
const holdConflicts = new Counter('sale_hold_conflicts');
const joined = new Counter('sale_joined');
const preQueued = new Counter('sale_pre_queue');
const sawSoldOut = new Counter('sale_saw_sold_out');
const endedWaiting = new Counter('sale_ended_waiting');
const expired = new Counter('sale_expired');
const pollTime = new Trend('sale_queue_poll', true);
const joinedAt = new Trend('sale_joined_at_ms');
const drawSeenAt = new Trend('sale_draw_seen_at');
const admittedAt = new Trend('sale_admitted_at');
const paidAt = new Trend('sale_paid_at');
const soldOutSeenAt = new Trend('sale_sold_out_seen_at');
const lastWaitingAt = new Trend('sale_last_waiting_at');
const sweepTime = new Trend('sale_sweep_ms');

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
function book(fan) {
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
      paidAt.add(Date.now());
      return 'sold';
    }
    return 'gave-up';
  }
  return 'gave-up';
}

function poll(fan, name) {
  return check5xx(http.get(`${BASE}/api/v1/queue`, { headers: { 'X-Queue-Token': fan.token }, tags: { name } }));
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
      fans.push({ key, token: r.json('token'), done: false, lastWaiting: 0 });
      if (PRINT_TOKENS) console.error(`BENCH-TOKEN ${r.json('token')}`);
      joined.add(1);
      if (r.json('status') === 'PRE_QUEUE') preQueued.add(1);
    }
  }
  joinedAt.add(Date.now() - data.start);
  console.error(`BENCH-JOINED ${vu}`);
  if (fans.length === 0) return;

  // The pre-queue: one ticket checked now and then until the draw has placed it.
  const waitUntil = Date.now() + 20 * 60 * 1000;
  for (;;) {
    const p = poll(fans[0], 'pre-queue');
    if (p.status !== 200 || p.json('status') !== 'PRE_QUEUE') break;
    if (Date.now() > waitUntil) return;
    sleep(0.4 + Math.random() * 0.2);
  }
  drawSeenAt.add(Date.now());

  let soldOutKnown = 0;
  let sweepsAfter = 0;
  for (;;) {
    const left = fans.filter((f) => !f.done);
    if (left.length === 0) break;
    if (soldOutKnown && sweepsAfter >= 2 && Date.now() - soldOutKnown > SOLD_OUT_GRACE_MS) break;
    const sweepStart = Date.now();
    const afterSoldOut = soldOutKnown !== 0;
    let admitted = 0;
    for (const fan of left) {
      if (soldOutKnown && !SWEEP_AFTER_SOLD_OUT) return;
      const sent = Date.now();
      const p = poll(fan, 'poll');
      pollTime.add(p.timings.duration);
      if (p.status === 410) { fan.done = true; expired.add(1); continue; }
      if (p.status !== 200) continue;
      const status = p.json('status');
      if (status === 'SOLD_OUT') {
        soldOutSeenAt.add(Date.now());
        sawSoldOut.add(1);
        if (fan.lastWaiting) lastWaitingAt.add(fan.lastWaiting);
        fan.done = true;
        if (!soldOutKnown) soldOutKnown = Date.now();
        continue;
      }
      if (status === 'WAITING') { fan.lastWaiting = sent; continue; }
      if (status !== 'ACTIVE') continue;
      admitted++;
      admittedAt.add(Date.now());
      const outcome = book(fan);
      fan.done = true;
      if (outcome !== 'sold') {
        http.del(`${BASE}/api/v1/queue`, null, { headers: { 'X-Queue-Token': fan.token }, tags: { name: 'leave' } });
      }
      if (outcome === 'soldout' && !soldOutKnown) soldOutKnown = Date.now();
    }
    if (afterSoldOut) {
      sweepsAfter++;
      sweepTime.add(Date.now() - sweepStart);
      if (fans.some((f) => !f.done)) sleep(0.1);
    } else if (!soldOutKnown && admitted === 0) sleep(0.25);
  }
  // Fans still WAITING once the grace is over: they never learned the show is sold out.
  for (const fan of fans) {
    if (fan.done) continue;
    endedWaiting.add(1);
    http.del(`${BASE}/api/v1/queue`, null, { headers: { 'X-Queue-Token': fan.token }, tags: { name: 'leave' } });
  }
}

// 1,000 admitted fans click the same seat at the same moment: exactly one may win.
// Env: BASE, SCHEDULE, HOLDERS (file of "apiKey queueToken" lines, one per racer), WARM=seats.
//
// Each racer has a connection of its own already open (as a fan's browser has one to the seat
// map), so the race measures the click and not TCP set-up: a first batch opens the 1,000
// connections with what a fan's page did before the click, reading the seat map (WARM=seats;
// `GET /health` for the floor, whose tokens do not verify), then one batch sends every click at
// once, one request per connection.
// k6 runs a batch's requests as Go routines, not as 1,000 JavaScript VUs, so the load generator
// stays light next to the server on the same two cores (1,000 VUs alone put the floor of this
// scenario near 60 ms p99).
import http from 'k6/http';
import { SharedArray } from 'k6/data';
import { Counter, Trend } from 'k6/metrics';

const holders = new SharedArray('holders', () =>
  open(__ENV.HOLDERS).split('\n').filter((l) => l).map((l) => l.split(' ')));
const won = new Counter('hot_won');
const lost = new Counter('hot_lost');
const serverErrors = new Counter('hot_5xx');
const other = new Counter('hot_other');
const clicks = new Trend('hot_click', true);
// Clicks that had to open a connection: 0 when the warm-up's connections were reused.
const fresh = new Counter('hot_new_connections');

export const options = {
  scenarios: { race: { executor: 'per-vu-iterations', vus: 1, iterations: 1, maxDuration: '120s' } },
  // One connection per racer: k6 keeps as many idle connections per host as `batchPerHost`.
  batch: holders.length,
  batchPerHost: holders.length,
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(50)', 'p(99)', 'count'],
};

export default function () {
  const warm = http.batch(holders.map(([key, token]) => (__ENV.WARM === 'seats'
    ? ['GET', `${__ENV.BASE}/api/v1/schedules/${__ENV.SCHEDULE}/seats`, null,
      { headers: { Authorization: `Bearer ${key}`, 'X-Queue-Token': token }, tags: { name: 'warm-up' } }]
    : ['GET', `${__ENV.BASE}/health`, null, { tags: { name: 'warm-up' } }])));
  if (warm.some((r) => r.status !== 200)) throw new Error('warm-up failed');
  const body = JSON.stringify({ scheduleId: __ENV.SCHEDULE, seatNumber: 1 });
  const responses = http.batch(holders.map(([key, token]) => ['POST', `${__ENV.BASE}/api/v1/reservations`, body, {
    headers: { Authorization: `Bearer ${key}`, 'X-Queue-Token': token, 'Content-Type': 'application/json' },
    tags: { name: 'click' },
  }]));
  for (const r of responses) {
    clicks.add(r.timings.duration);
    if (r.timings.connecting > 0) fresh.add(1);
    if (r.status === 201) won.add(1);
    else if (r.status === 409) lost.add(1);
    else if (r.status >= 500) serverErrors.add(1);
    else other.add(1);
  }
}

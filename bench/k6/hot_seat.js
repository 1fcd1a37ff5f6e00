// 1,000 admitted fans click the same seat at the same moment: exactly one may win.
// Env: BASE, SCHEDULE, HOLDERS (file of "apiKey queueToken" lines, one per racer), START_AT
// (epoch ms when every racer clicks; each first opens its connection, as a fan's browser has
// one open to the seat map, so the race measures the click and not TCP set-up).
import http from 'k6/http';
import { sleep } from 'k6';
import { SharedArray } from 'k6/data';
import { Counter, Trend } from 'k6/metrics';
import exec from 'k6/execution';

const holders = new SharedArray('holders', () =>
  open(__ENV.HOLDERS).split('\n').filter((l) => l).map((l) => l.split(' ')));
const won = new Counter('hot_won');
const lost = new Counter('hot_lost');
const serverErrors = new Counter('hot_5xx');
const other = new Counter('hot_other');
const clicks = new Trend('hot_click', true);

export const options = {
  scenarios: { race: { executor: 'per-vu-iterations', vus: holders.length, iterations: 1, maxDuration: '120s' } },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(50)', 'p(99)', 'count'],
};

export default function () {
  const [key, token] = holders[exec.vu.idInTest - 1];
  http.get(`${__ENV.BASE}/health`, { tags: { name: 'warm-up' } });
  const wait = Number(__ENV.START_AT) - Date.now();
  if (wait > 0) sleep(wait / 1000);
  const r = http.post(`${__ENV.BASE}/api/v1/reservations`,
    JSON.stringify({ scheduleId: __ENV.SCHEDULE, seatNumber: 1 }),
    { headers: { Authorization: `Bearer ${key}`, 'X-Queue-Token': token, 'Content-Type': 'application/json' },
      tags: { name: 'click' } });
  clicks.add(r.timings.duration);
  if (r.status === 201) won.add(1);
  else if (r.status === 409) lost.add(1);
  else if (r.status >= 500) serverErrors.add(1);
  else other.add(1);
}

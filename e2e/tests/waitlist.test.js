// The waiting list of a full date, as fans see it: joined from a sold-out concert's page (and left),
// from the waiting room while the last seat is held by someone paying, and from a sold-out date
// (in Korean on a phone, with a grade); the place that comes back is offered with its own
// countdown in "my waiting list", topped up for and paid there, and lands in "my tickets".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, seedConcert, newUser, must, launchBrowser, newContext, screenshot, watchPage, rows, sleep,
} from '../lib/harness.js';

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1100, height: 820 };
const H = 3600_000;
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A fan who joins the line (admitted at once), holds `body`'s places and maybe pays for them. */
async function holder(server, concertId, name, body, { pay = false } = {}) {
  const fan = await newUser(server, name);
  const ticket = await must(server.api('POST', `/concerts/${concertId}/queue`, { key: fan.apiKey }), 201);
  assert.equal(ticket.status, 'ACTIVE');
  const r = await must(server.api('POST', '/reservations', { key: fan.apiKey, queue: ticket.token, body }), 201);
  if (pay) {
    await must(server.api('POST', '/wallet/charges', { key: fan.apiKey, body: { amount: r.price } }), 200);
    await must(server.api('POST', '/payments', { key: fan.apiKey, body: { reservationId: r.id } }), 201);
  }
  return { fan, reservation: r };
}

/** Wait until `check` (async) is true, polling the API every 200 ms. */
async function until(check, what, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

test('waiting list: join a full date, get the place that comes back, pay for it', { timeout: 180_000 }, async (t) => {
  // Offers are held as long as any hold (30 s here, enough to top up and pay); the sweep that
  // makes them runs every 200 ms.
  const server = await startServer({ ENCORE_RATE_LIMITS: 'off', ENCORE_HOLD_TTL: '30s', ENCORE_SWEEP_INTERVAL: '200ms' });
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); });
  try {
    // Two concerts of one seat each: one sold (paid), one whose seat fan A holds.
    const sold = await seedConcert(server, { title: 'Echo Hall Sessions', performer: 'ECHO', seatCount: 1, price: 77000 });
    await holder(server, sold.concert.id, 'Chan', { scheduleId: sold.schedule.id, seatNumber: 1 }, { pay: true });
    const { concert, schedule } = await seedConcert(server, { title: 'Luna Unplugged', performer: 'LUNA', seatCount: 1, price: 66000 });
    const a = await holder(server, concert.id, 'Ara', { scheduleId: schedule.id, seatNumber: 1 });
    await until(async () => (await must(server.api('GET', `/concerts/${sold.concert.id}`), 200)).soldOut, 'the concert to sell out');

    const b = await newUser(server, 'Bomi');
    const context = await newContext(browser, { apiKey: b.apiKey, name: 'Bomi' });
    const page = await context.newPage();
    const errors = watchPage(page);

    // The sold-out concert's page: the waiting list of its date, for two tickets.
    await page.goto(`${server.baseUrl}/#/concerts/${sold.concert.id}`);
    await page.locator('#sold-out-badge').waitFor();
    const panel = page.locator('.wl-join');
    await panel.getByRole('heading', { name: 'Join the waiting list' }).waitFor();
    await panel.getByText('If a place comes back').waitFor();
    await page.getByLabel('Number of tickets').selectOption('2');
    await panel.getByRole('button', { name: 'Join the waiting list' }).click();
    const soldEntry = panel.locator('.wl-entry[data-status="WAITING"]');
    await soldEntry.locator('.wl-position[data-position="1"]').getByText('No. 1 on the waiting list').waitFor();
    await soldEntry.getByText('2 tickets · Any grade').waitFor();
    // Focus moved from the form (now gone) to the entry's status.
    assert.equal(await page.evaluate(() => document.activeElement.classList.contains('wl-status')), true);
    await screenshot(page, '14-waitlist');
    // Joining again (a reload) shows the live entry, not a second form.
    await page.reload();
    await panel.locator('.wl-position[data-position="1"]').waitFor();
    assert.equal(await panel.locator('form').count(), 0);
    // Left: the card says so and the service agrees.
    await soldEntry.getByRole('button', { name: 'Leave the waiting list' }).click();
    await panel.locator('.wl-entry[data-status="CANCELLED"]').getByText('You left this waiting list.').waitFor();
    const afterLeave = await must(server.api('GET', '/waitlist', { key: b.apiKey }), 200);
    assert.deepEqual(afterLeave.items.map((e) => [e.status, e.quantity]), [['CANCELLED', 2]]);

    // Luna's only seat is held by A: B joins the line and waits, and the waiting room offers the
    // date's waiting list.
    await page.goto(`${server.baseUrl}/#/concerts/${concert.id}`);
    await page.locator('#get-tickets').click();
    await page.waitForURL(new RegExp(`#/concerts/${concert.id}/queue$`));
    await page.locator('#seats-left').getByText('Every seat left is being paid for right now').waitFor({ timeout: 10_000 });
    const room = page.locator('.waitlist-slot .wl-join');
    await room.getByText('the first place that comes back goes to the waiting list before the line').waitFor();
    await room.locator('.wl-date time').waitFor();
    await room.getByRole('button', { name: 'Join the waiting list' }).click();
    await room.locator('.wl-entry .wl-position[data-position="1"]').waitFor();
    await room.getByText('1 ticket · Any grade').waitFor();

    // My waiting list, from the menu: Luna waiting first (newest), Echo left.
    await page.getByRole('link', { name: 'Waiting list', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'My waiting list' }).waitFor();
    const entries = page.locator('#waitlist .wl-entry');
    await entries.nth(0).locator('.wl-title', { hasText: 'Luna Unplugged' }).waitFor();
    await entries.nth(1).locator('.wl-title', { hasText: 'Echo Hall Sessions' }).waitFor();
    assert.deepEqual(await entries.evaluateAll((els) => els.map((e) => e.dataset.status)), ['WAITING', 'CANCELLED']);
    const luna = page.locator('#waitlist .wl-entry', { hasText: 'Luna Unplugged' });
    await luna.locator('.wl-position[data-position="1"]').waitFor();

    // A releases the seat: it is offered to B, and the open page shows the offer by itself.
    await must(server.api('DELETE', `/reservations/${a.reservation.id}`, { key: a.fan.apiKey }), 200);
    await page.locator('#waitlist .wl-entry[data-status="OFFERED"]').waitFor({ timeout: 10_000 });
    await luna.getByText('A place came back for you!').waitFor();
    await luna.locator('.order-seats').getByText('Seat 1').waitFor();
    const countdown = luna.locator('.wl-countdown');
    assert.equal(await luna.getByRole('timer').count(), 1);
    const left = Number(await countdown.getAttribute('data-seconds'));
    assert.ok(left > 0 && left <= 30, `countdown ${left}`);
    await page.waitForFunction((s) => Number(document.querySelector('#waitlist .wl-countdown').dataset.seconds) < s, left, { timeout: 3000 });
    // No balance yet: Pay waits for a top-up, and says so.
    const pay = luna.getByRole('button', { name: 'Pay ₩66,000' });
    assert.equal(await pay.isDisabled(), true);
    await luna.getByText('Paying opens once your balance covers the total').waitFor();
    await screenshot(page, '15-waitlist-offer');
    // The same offer in Korean on a phone.
    await page.setViewportSize(PHONE);
    await page.getByRole('button', { name: '한국어로 보기' }).click();
    await page.getByRole('heading', { level: 1, name: '내 취소표 대기' }).waitFor();
    await page.locator('#waitlist .wl-entry[data-status="OFFERED"]').getByText('자리가 났어요!').waitFor();
    await screenshot(page, '15a-phone-waitlist-offer-ko');
    await page.getByRole('button', { name: 'Switch to English' }).click();
    await page.setViewportSize(DESKTOP);

    // Top up inside the offer, then pay it.
    await luna.getByLabel('Amount (KRW)').fill('70000');
    await luna.getByRole('button', { name: 'Top up' }).click();
    await pay.and(page.locator(':enabled')).waitFor();
    await pay.click();
    await page.locator('#waitlist .wl-entry[data-status="FULFILLED"]').getByText('Paid: the tickets are yours.').waitFor();
    await until(async () => {
      const { items } = await must(server.api('GET', '/waitlist', { key: b.apiKey }), 200);
      return items[0].status === 'FULFILLED';
    }, 'the entry to be FULFILLED');
    await page.reload();
    await page.locator('#waitlist .wl-entry[data-status="FULFILLED"]', { hasText: 'Luna Unplugged' }).waitFor();
    await page.getByRole('link', { name: 'See my tickets' }).click();
    await page.locator('.ticket-card[data-status="CONFIRMED"]', { hasText: 'Luna Unplugged' }).waitFor();
    const wallet = await must(server.api('GET', '/wallet', { key: b.apiKey }), 200);
    assert.equal(wallet.balance, 4000);
    assert.deepEqual(errors, []);
  } catch (e) {
    console.error(server.logTail());
    throw e;
  }
});

test('in Korean on a phone: the waiting list of a sold-out date, for a grade', { timeout: 120_000 }, async (t) => {
  const server = await startServer({ ENCORE_RATE_LIMITS: 'off' });
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); });
  try {
    // Two dates of a two-grade plan; the first is sold.
    const plan = {
      grades: [{ code: 'VIP', name: 'VIP석', price: 150000 }, { code: 'R', name: 'R석', price: 90000 }],
      sections: [{ code: 'A', name: 'Floor A', grade: 'VIP', rows: rows(1, 2) }, { code: 'B', name: 'Stand B', grade: 'R', rows: rows(1, 2) }],
    };
    const { concert, schedule } = await seedConcert(server, { title: 'Moonlight Duo', plan });
    const now = Date.now();
    await must(server.admin('POST', `/admin/concerts/${concert.id}/schedules`, {
      startsAt: iso(now + 96 * H), bookingOpensAt: iso(now - H), bookingClosesAt: iso(now + 90 * H), plan,
    }), 201);
    await holder(server, concert.id, 'Early', { scheduleId: schedule.id, seats: ['A-1-1', 'A-1-2', 'B-1-1', 'B-1-2'] }, { pay: true });

    const fan = await newUser(server, '서연');
    const context = await newContext(browser, { apiKey: fan.apiKey, name: '서연', lang: 'ko', viewport: PHONE });
    const page = await context.newPage();
    const errors = watchPage(page);
    await page.goto(`${server.baseUrl}/#/concerts/${concert.id}`);
    await page.getByRole('button', { name: '예매하기' }).click();
    await page.waitForURL(/#\/concerts\/[^/]+\/dates$/, { timeout: 15_000 });
    const full = page.locator(`.date-card[data-schedule="${schedule.id}"]`);
    await full.getByRole('button', { name: '매진' }).waitFor();
    // The open date has no waiting list; the sold-out one opens its own.
    assert.equal(await page.locator('.date-card .wl-open').count(), 1);
    const open = full.locator('.wl-open');
    assert.equal(await open.getAttribute('aria-expanded'), 'false');
    await open.click();
    assert.equal(await open.getAttribute('aria-expanded'), 'true');
    const panel = full.locator('.wl-join');
    await panel.getByRole('heading', { level: 3, name: '취소표 대기 신청' }).waitFor();
    const grade = panel.getByLabel('등급');
    await grade.waitFor(); // the form shows once the fan's entries are known
    assert.deepEqual(await grade.locator('option').allTextContents(), ['등급 상관없음', 'VIP석', 'R석']);
    await grade.selectOption('R');
    await panel.getByLabel('매수').selectOption('2');
    await panel.locator('.wl-join-submit').click();
    await panel.locator('.wl-entry .wl-position[data-position="1"]').getByText('대기 1번째').waitFor();
    await panel.getByText('2매 · R석').waitFor();
    await page.getByRole('button', { name: '닫기' }).click(); // the welcome notice, off the picture
    await screenshot(page, '14a-phone-waitlist-date-ko');
    const { items } = await must(server.api('GET', '/waitlist', { key: fan.apiKey }), 200);
    assert.deepEqual(items.map((e) => [e.scheduleId, e.grade, e.quantity, e.status]), [[schedule.id, 'R', 2, 'WAITING']]);
    assert.deepEqual(errors, []);
  } catch (e) {
    console.error(server.logTail());
    throw e;
  }
});

// The seat map drawn from a venue plan: a fan orders two seats from a section's grid (by mouse and
// by keyboard), is told which seat went when another fan was faster, pays for the order and finds
// every seat in "my tickets"; another fan, in Korean on a phone, takes the best two in a grade and
// then standing places by count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, seedConcert, newUser, must, launchBrowser, newContext, screenshot, watchPage, openSeatMap, rows,
} from '../lib/harness.js';

const PLAN = {
  grades: [
    { code: 'VIP', name: 'VIP석', price: 198000 },
    { code: 'R', name: 'R석', price: 154000 },
    { code: 'S', name: 'S석', price: 99000 },
  ],
  sections: [
    { code: 'A', name: 'Floor A', grade: 'VIP', rows: rows(8, 20) },
    { code: 'B', name: 'Floor B', grade: 'VIP', rows: rows(8, 20) },
    { code: 'GA', name: 'Standing', grade: 'R', standing: 500 },
    { code: 'C', name: 'Tier C', grade: 'R', rows: rows(12, 30) },
    { code: '201', name: 'Stand 201', grade: 'S', rows: rows(20, 40) },
  ],
};

/** Another fan, admitted to the concert, who holds (and maybe pays for) `seats` through the API. */
async function otherFan(server, concertId, scheduleId, name, seats, { pay = false } = {}) {
  const fan = await newUser(server, name);
  const ticket = await must(server.api('POST', `/concerts/${concertId}/queue`, { key: fan.apiKey }), 200, 201);
  const r = await must(server.api('POST', '/reservations', { key: fan.apiKey, queue: ticket.token, body: { scheduleId, seats } }), 201);
  if (pay) {
    await must(server.api('POST', '/wallet/charges', { key: fan.apiKey, body: { amount: r.price } }), 200);
    await must(server.api('POST', '/payments', { key: fan.apiKey, body: { reservationId: r.id } }), 201);
  }
  return { fan, ticket };
}

const cell = (page, name) => page.getByRole('gridcell', { name, exact: true });

test('a fan orders two seats from the seat map, pays, and sees both in my tickets', { timeout: 120_000 }, async (t) => {
  const server = await startServer({ ENCORE_HOLD_TTL: '5m' });
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); });
  try {
    const { concert, schedule } = await seedConcert(server, { title: 'Stadium Night', plan: PLAN });
    await otherFan(server, concert.id, schedule.id, 'Holder', ['A-1-3']);
    await otherFan(server, concert.id, schedule.id, 'Buyer', ['A-1-4', 'A-1-5'], { pay: true });
    const fan = await newUser(server, 'Minji');
    await must(server.api('POST', '/wallet/charges', { key: fan.apiKey, body: { amount: 1_000_000 } }), 200);

    const context = await newContext(browser, { apiKey: fan.apiKey, name: 'Minji' });
    const page = await context.newPage();
    const errors = watchPage(page);
    await openSeatMap(page, server.baseUrl, concert.id);

    // The overview: the stage, each grade with its price, a block per section in plan order.
    await page.locator('.section-block[data-section="A"]').waitFor();
    assert.deepEqual(await page.locator('.section-block').evaluateAll((els) => els.map((e) => e.dataset.section)), ['A', 'B', 'GA', 'C', '201']);
    await page.locator('.grade-legend li[data-grade="VIP"]').getByText('₩198,000').waitFor();
    await page.locator('.stage').waitFor();
    await screenshot(page, '04-seat-map');
    // Polls ask whether the map changed (If-None-Match) and, while nothing did, get 304s.
    await page.waitForResponse((res) => res.url().endsWith('/seatmap') && res.status() === 304
      && !!res.request().headers()['if-none-match'], { timeout: 8000 });

    // Drill down into section A: its rows, with the other fans' seats marked held and sold.
    await page.locator('.section-block[data-section="A"]').click();
    assert.equal(await page.locator('.section-block[data-section="A"]').getAttribute('aria-pressed'), 'true');
    await cell(page, 'Section A, row 1, seat 7, VIP석 ₩198,000').waitFor();
    assert.equal(await page.locator('.seat-grid [role="row"]').count(), 8);
    assert.equal(await page.locator('.seat-grid .seat').count(), 160);
    const held = cell(page, 'Section A, row 1, seat 3, VIP석 ₩198,000, Being booked');
    assert.equal(await held.textContent(), '◔');
    assert.equal(await cell(page, 'Section A, row 1, seat 4, VIP석 ₩198,000, Sold').textContent(), '✕');

    // Seat 7 by mouse, seat 8 by keyboard (one tab stop, arrows move, Space chooses); the order
    // grows to two and the total follows.
    await cell(page, 'Section A, row 1, seat 7, VIP석 ₩198,000').click();
    assert.equal(await page.locator('.seat-grid [tabindex="0"]').count(), 1, 'one tab stop in the grid');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Space');
    const eight = cell(page, 'Section A, row 1, seat 8, VIP석 ₩198,000');
    assert.equal(await eight.getAttribute('aria-selected'), 'true');
    assert.equal(await eight.evaluate((e) => e === document.activeElement), true);
    assert.equal(await page.locator('.quantity input:checked').getAttribute('value'), '2');
    await page.locator('#order-summary').getByText('2 of 2 chosen · total ₩396,000').waitFor();
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Section A, row 2, seat 8, VIP석 ₩198,000');
    await screenshot(page, '04a-seat-map-section');

    // The map keeps itself fresh: a seat another fan holds now turns up taken.
    await otherFan(server, concert.id, schedule.id, 'Late', ['A-2-1']);
    await cell(page, 'Section A, row 2, seat 1, VIP석 ₩198,000, Being booked').waitFor({ timeout: 8000 });

    // Someone is faster for seat 8 (the page's polls held back meanwhile): the hold is refused,
    // the page says which seat went, and seat 7 stays in the order.
    let release;
    const gate = new Promise((r) => { release = r; });
    await page.route('**/seatmap', async (route) => { await gate; await route.continue(); });
    await otherFan(server, concert.id, schedule.id, 'Faster', ['A-1-8']);
    const refused = page.waitForResponse((res) => res.url().endsWith('/reservations') && res.request().method() === 'POST');
    await page.locator('#hold').click();
    assert.equal((await refused).status(), 409);
    release(); // polls go through again (the route stays, open)
    await page.locator('.notice--error').getByText('someone else got these first: Section A, row 1, seat 8.', { exact: false }).waitFor();
    await cell(page, 'Section A, row 1, seat 8, VIP석 ₩198,000, Being booked').waitFor();
    await page.locator('#order-summary').getByText('1 of 2 chosen · total ₩198,000').waitFor();

    // Seat 9 instead, then hold the pair: checkout lists both seats and the total.
    await cell(page, 'Section A, row 1, seat 9, VIP석 ₩198,000').click();
    await page.locator('#hold').click();
    await page.waitForURL(/#\/reservations\/[^/]+$/);
    const seats = page.locator('#checkout-seats tbody tr');
    await seats.first().waitFor();
    assert.deepEqual(await seats.evaluateAll((trs) => trs.map((tr) => tr.dataset.label)), ['A-1-7', 'A-1-9']);
    await page.locator('#checkout-seats').getByText('Section A, row 1, seat 9').waitFor();
    assert.equal(await page.locator('#checkout-total').textContent(), '₩396,000');
    assert.equal(await page.locator('#checkout-seats tfoot td').textContent(), '₩396,000');
    await screenshot(page, '05a-checkout-two-seats');
    await page.locator('#pay').click();
    await page.getByRole('heading', { level: 1, name: 'Paid! A-1-7, A-1-9 are yours.' }).waitFor();
    await screenshot(page, '06a-paid-two-seats');
    const wallet = await must(server.api('GET', '/wallet', { key: fan.apiKey }), 200);
    assert.equal(wallet.balance, 1_000_000 - 396_000, 'the order is paid once, in full');

    // My tickets: the order with both seats, their grade and price, and the total.
    await page.getByRole('link', { name: 'See my tickets' }).click();
    const card = page.locator('.ticket-card[data-status="CONFIRMED"]');
    await card.waitFor();
    assert.deepEqual(await card.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.label)), ['A-1-7', 'A-1-9']);
    await card.getByText('Tickets: 2 · total ₩396,000').waitFor();
    await card.locator('tbody tr').first().getByText('VIP석').waitFor();
    await screenshot(page, '07a-my-tickets-two-seats');
    assert.deepEqual(errors, []);
  } catch (e) {
    console.error(server.logTail());
    throw e;
  }
});

test('in Korean on a phone: the best two seats of a grade, then standing places by count', { timeout: 120_000 }, async (t) => {
  const server = await startServer({ ENCORE_HOLD_TTL: '5m' });
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); });
  try {
    const { concert, schedule } = await seedConcert(server, { title: 'Stadium Night', plan: PLAN });
    // The front row of tier C is partly taken: the best pair in R is C-1-3 and C-1-4.
    await otherFan(server, concert.id, schedule.id, 'Early', ['C-1-1', 'C-1-2']);
    const fan = await newUser(server, '서연');
    const context = await newContext(browser, { apiKey: fan.apiKey, name: '서연', lang: 'ko', viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    const errors = watchPage(page);
    await openSeatMap(page, server.baseUrl, concert.id, /좌석 선택/);
    await page.locator('.section-block[data-section="C"]').waitFor();
    await screenshot(page, '08-phone-seat-map');
    await page.locator('.section-block[data-section="201"]').click();
    await page.getByRole('gridcell', { name: '201구역 1열 1번, S석 99,000원', exact: true }).waitFor();
    await screenshot(page, '08a-phone-seat-map-section');

    // Two tickets, best available in R석: adjacent seats in the frontmost row with a free pair.
    await page.getByRole('radio', { name: '2', exact: true }).check();
    await page.getByRole('button', { name: /R석 2석 자동 배정/ }).click();
    await page.waitForURL(/#\/reservations\/[^/]+$/);
    const labels = page.locator('#checkout-seats tbody tr');
    await labels.first().waitFor();
    assert.deepEqual(await labels.evaluateAll((trs) => trs.map((tr) => tr.dataset.label)), ['C-1-3', 'C-1-4']);
    await page.locator('#checkout-seats').getByText('C구역 1열 3번').waitFor();
    assert.equal(await page.locator('#checkout-total').textContent(), '308,000원');
    await screenshot(page, '09a-phone-checkout-best-available');

    // Give them back, then three standing places: sold by count, no seat numbers.
    await page.locator('#cancel-hold').click();
    await page.waitForURL(/#\/concerts\/[^/]+\/schedules\/[^/]+$/);
    await page.locator('.section-block[data-section="GA"]').click();
    await page.getByRole('radio', { name: '3', exact: true }).check();
    const standing = page.locator('#hold-standing');
    assert.equal((await standing.textContent()).trim(), '스탠딩 3매 잡기 · 462,000원');
    await standing.click();
    await page.waitForURL(/#\/reservations\/[^/]+$/);
    await page.locator('#checkout-seats tbody tr').first().waitFor();
    assert.equal(await page.locator('#checkout-seats tbody tr[data-label="GA"]').count(), 3);
    await page.locator('#checkout-seats').getByText('GA구역 스탠딩').first().waitFor();
    assert.equal(await page.locator('#checkout-total').textContent(), '462,000원');
    const mine = await must(server.api('GET', '/reservations', { key: fan.apiKey }), 200);
    assert.deepEqual(mine.items.map((r) => r.status), ['HELD', 'CANCELLED']);
    assert.deepEqual(errors, []);
  } catch (e) {
    console.error(server.logTail());
    throw e;
  }
});

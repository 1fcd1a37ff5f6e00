// The whole purchase, as a fan does it: sign up, top up, wait in a full queue, pick a date and a
// seat, watch the countdown, pay (after an inline top-up), and find the ticket in "my tickets".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, seedConcert, newUser, must, launchBrowser, newContext, screenshot, watchPage, seat,
} from '../lib/harness.js';

test('a fan buys a ticket through a full waiting room', { timeout: 120_000 }, async (t) => {
  // A top-up limit below the page's own (10,000,000) shows how the page words the server's refusal.
  const server = await startServer({ ENCORE_QUEUE_ACTIVE_LIMIT: '1', ENCORE_HOLD_TTL: '5m', ENCORE_MAX_CHARGE: '5000000' });
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); });
  try {
    const { concert, schedule } = await seedConcert(server, { withClosed: true, price: 55000, seatCount: 30 });
    await seedConcert(server, { title: 'Midnight Strings', performer: 'Seoul Chamber Ensemble', venue: 'Lotte Concert Hall' });

    // Someone already holds the only ACTIVE slot, and someone else waits before our fan.
    const blocker = await newUser(server, 'Blocker');
    const blockerTicket = await must(server.api('POST', `/concerts/${concert.id}/queue`, { key: blocker.apiKey }), 200, 201);
    assert.equal(blockerTicket.status, 'ACTIVE');
    const waiter = await newUser(server, 'Waiter');
    const waiterTicket = await must(server.api('POST', `/concerts/${concert.id}/queue`, { key: waiter.apiKey }), 200, 201);
    assert.equal(waiterTicket.status, 'WAITING');

    const context = await newContext(browser);
    const page = await context.newPage();
    const errors = watchPage(page);
    await page.goto(`${server.baseUrl}/`);

    // Concert list.
    await page.getByRole('link', { name: /Aurora Live in Seoul/ }).waitFor();
    await screenshot(page, '01-concert-list');

    // Sign up: the key is shown once, with a warning to keep it.
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('Your name').fill('Minji Kim');
    await page.getByRole('button', { name: 'Create account' }).click();
    const key = (await page.locator('#api-key').textContent()).trim();
    assert.ok(key.length >= 16, 'an API key is shown');
    await page.getByText(/show this key only once/).waitFor();
    await screenshot(page, '00-sign-up-key');
    assert.equal(await page.evaluate(() => localStorage.getItem('encore.apiKey')), key);
    const me = await must(server.api('GET', '/users/me', { key }), 200);
    assert.equal(me.name, 'Minji Kim');
    await page.locator('#key-saved').click();

    // Too much at once: the page refuses above its limit without asking the server, and words
    // the server's own refusal (a lower limit, here) just as specifically.
    await page.getByRole('link', { name: 'Wallet' }).click();
    const amount = page.getByLabel('Amount (KRW)');
    assert.equal(await amount.getAttribute('max'), '10000000');
    assert.equal(await amount.getAttribute('min'), '1');
    const charges = [];
    page.on('request', (req) => { if (req.method() === 'POST' && req.url().endsWith('/wallet/charges')) charges.push(req); });
    await amount.fill('20000000');
    await page.getByRole('button', { name: 'Top up', exact: true }).click();
    await page.locator('.field-hint--error').getByText('You can top up at most ₩10,000,000 at a time.', { exact: false }).waitFor();
    assert.equal(await amount.getAttribute('aria-invalid'), 'true');
    assert.equal(charges.length, 0, 'an amount over the limit is not sent');
    await amount.fill('6000000');
    await page.getByRole('button', { name: 'Top up', exact: true }).click();
    await page.locator('.notice--error').getByText('You can top up at most ₩5,000,000 at a time.', { exact: false }).waitFor();
    assert.equal(charges.length, 1);

    // Top up less than the price, to meet the inline top-up at checkout.
    await amount.fill('30000');
    await page.getByRole('button', { name: 'Top up', exact: true }).click();
    await page.locator('.notice--success').getByText(/Added ₩30,000/).waitFor();
    await page.locator('#wallet-balance').getByText('₩30,000').waitFor();
    await page.locator('tr[data-kind="CHARGE"]').first().waitFor();

    // Join the queue: second in line behind the waiter, while the blocker is in.
    await page.getByRole('link', { name: 'Concerts' }).click();
    await page.getByRole('link', { name: /Aurora Live in Seoul/ }).click();
    await page.locator('#get-tickets').click();
    await page.waitForURL(/#\/concerts\/[^/]+\/queue$/);
    await page.locator('#queue-position[data-position="2"]').waitFor();
    await page.getByText('1 person ahead of you').waitFor();
    await screenshot(page, '02-waiting-room');

    // The language toggle switches to Korean and back.
    await page.getByRole('button', { name: '한국어로 보기' }).click();
    await page.getByRole('heading', { level: 1, name: '대기실' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'ko');
    await page.getByRole('button', { name: 'Switch to English' }).click();
    await page.getByRole('heading', { level: 1, name: 'Waiting room' }).waitFor();
    await page.locator('#queue-position[data-position="2"]').waitFor();

    // The waiter gives up: our position falls to 1.
    await must(server.api('DELETE', '/queue', { queue: waiterTicket.token }), 204);
    await page.locator('#queue-position[data-position="1"]').waitFor({ timeout: 10_000 });
    await page.getByText('You are next').waitFor();

    // The blocker leaves: we are admitted and the page moves on by itself.
    await must(server.api('DELETE', '/queue', { queue: blockerTicket.token }), 204);
    await page.waitForURL(/#\/concerts\/[^/]+\/dates$/, { timeout: 15_000 });

    // Dates: the not-yet-open one is shown but cannot be chosen.
    const off = page.locator('.date-card--off');
    await off.waitFor();
    assert.equal(await off.getByRole('button').isDisabled(), true);
    await off.getByText(/Booking opens/).waitFor();
    await screenshot(page, '03-dates');
    await page.locator(`[data-schedule="${schedule.id}"]`).getByRole('link', { name: /Choose seats/ }).click();

    // Seat map of a one-section date: its seats at once; choose seat 7, and a double click on
    // Hold holds it once.
    const seat7 = seat(page, 7);
    await page.locator('.seat-grid .seat.s-a[data-seat="7"]').waitFor();
    assert.equal(await page.locator('.seat-grid .seat').count(), 30);
    assert.equal(await seat7.getAttribute('aria-label'), 'Seat 7, General ₩55,000');
    await seat7.click();
    assert.equal(await seat7.getAttribute('aria-selected'), 'true');
    await page.locator('#order-summary').getByText('1 of 1 chosen · total ₩55,000').waitFor();
    await page.locator('#hold').dblclick();
    await page.waitForURL(/#\/reservations\/[^/]+$/);
    const held = await must(server.api('GET', '/reservations', { key }), 200);
    assert.equal(held.items.length, 1, 'a double click holds one seat, once');
    assert.equal(held.items[0].seatNumber, 7);
    assert.equal(held.items[0].status, 'HELD');

    // Checkout: a countdown to heldUntil, and a proactive top-up because the balance is short.
    const countdown = page.locator('#countdown');
    await countdown.waitFor();
    const first = await countdown.textContent();
    assert.match(first, /^[45]:\d\d$/);
    await page.getByText(/You are ₩25,000 short/).waitFor();
    // Pay waits for enough money, and says so; no negative balance is shown.
    assert.equal(await page.locator('#pay').isDisabled(), true);
    await page.locator('#pay-note').getByText(/top up at least ₩25,000/).waitFor();
    assert.equal(await page.locator('#checkout-after').textContent(), '₩25,000');
    assert.doesNotMatch(await page.locator('main').textContent(), /[-−]₩/);
    await screenshot(page, '05-checkout');
    await page.waitForTimeout(1300);
    assert.notEqual(await countdown.textContent(), first, 'the countdown ticks');

    // The inline top-up opens Pay.
    const payKeys = [];
    page.on('request', (req) => {
      if (req.method() === 'POST' && req.url().endsWith('/api/v1/payments')) payKeys.push(req.headers()['idempotency-key']);
    });
    await page.locator('.topup-slot').getByRole('button', { name: 'Top up' }).click();
    await page.locator('.notice--success').getByText(/Added ₩30,000/).waitFor();
    await page.locator('#checkout-balance').getByText('₩60,000').waitFor();
    assert.equal(await page.locator('#pay').isDisabled(), false);
    assert.equal(await page.locator('#pay-note').isVisible(), false);

    // Pay, but the answer is lost on the way back (the server did charge): the page says so and
    // keeps the same Idempotency-Key, so paying again (with a double click) charges once.
    let dropped = false;
    await page.route('**/api/v1/payments', async (route) => {
      if (dropped) return route.continue();
      dropped = true;
      await route.fetch();
      return route.abort('connectionreset');
    });
    await page.locator('#pay').click();
    await page.locator('.notice--error').getByText(/could not reach encore/).waitFor();
    await page.locator('#pay:not([disabled])').waitFor();
    await page.locator('#pay').dblclick();
    await page.getByRole('heading', { level: 1, name: 'Paid! Seat 7 is yours.' }).waitFor();
    assert.equal(payKeys.length, 2, `one lost answer, one retry (the double click's second click does nothing): ${payKeys.length}`);
    assert.ok(payKeys.every(Boolean), 'every payment carries an Idempotency-Key');
    assert.equal(payKeys[0], payKeys[1], 'the retry reuses the key of the lost attempt');
    await screenshot(page, '06-paid');
    const wallet = await must(server.api('GET', '/wallet', { key }), 200);
    assert.equal(wallet.balance, 5000);
    const txs = await must(server.api('GET', '/wallet/transactions', { key }), 200);
    assert.equal(txs.items.filter((x) => x.kind === 'PAYMENT').length, 1, 'paid once');

    // My tickets.
    await page.getByRole('link', { name: 'See my tickets' }).click();
    const ticket = page.locator('.ticket-card[data-status="CONFIRMED"]');
    await ticket.waitFor();
    await ticket.getByText(/Seat 7/).waitFor();
    await ticket.locator('.status', { hasText: 'Paid' }).waitFor();
    await ticket.getByText('Aurora Live in Seoul').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Show more' }).isVisible(), false, 'no more pages');
    await screenshot(page, '07-my-tickets');

    // The queue ticket ended with the payment; the fan can join again to buy another.
    await page.goBack();
    await page.locator('#buy-another').click();
    await page.waitForURL(/#\/concerts\/[^/]+\/dates$/, { timeout: 15_000 });
    await page.locator(`[data-schedule="${schedule.id}"]`).waitFor();

    assert.deepEqual(errors, []);
  } catch (e) {
    console.error(server.logTail());
    throw e;
  }
});

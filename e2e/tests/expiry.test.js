// Time runs out in front of the fan. A hold (ENCORE_HOLD_TTL=3s): the countdown reaches zero, the
// page says the hold expired and goes back to the seat map, where the seat is free again. A queue
// admission (ENCORE_QUEUE_ACTIVE_TTL=4s): the seat map sends the fan back to the waiting room to rejoin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, seedConcert, newUser, must, launchBrowser, newContext, screenshot, watchPage, seat,
} from '../lib/harness.js';

/**
 * A fan on their own server (with `env`) and browser, signed in and at the seat map of a fresh
 * concert; `body` goes on from there. The server's log is printed when it fails.
 */
async function atSeatMap(t, { env, seatCount, price, name, viewport }, body) {
  const server = await startServer(env);
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); });
  try {
    const { concert } = await seedConcert(server, { seatCount, price });
    const fan = await newUser(server, name);
    const context = await newContext(browser, { apiKey: fan.apiKey, name, viewport });
    const page = await context.newPage();
    const errors = watchPage(page);
    await page.goto(`${server.baseUrl}/#/concerts/${concert.id}`);
    await page.locator('#get-tickets').click();
    await page.waitForURL(/#\/concerts\/[^/]+\/dates$/, { timeout: 15_000 });
    await page.getByRole('link', { name: /Choose seats/ }).first().click();
    await body({ server, page, errors, concert, fan });
  } catch (e) {
    console.error(server.logTail());
    throw e;
  }
}

test('a hold expires in front of the fan', { timeout: 90_000 }, async (t) => {
  // A phone-sized screen.
  const fanOnPhone = { env: { ENCORE_HOLD_TTL: '3s' }, seatCount: 20, price: 30000, name: 'Jisoo', viewport: { width: 390, height: 844 } };
  await atSeatMap(t, fanOnPhone, async ({ server, page, errors, fan }) => {
    await page.locator('.seat-grid .seat.s-a[data-seat="3"]').waitFor();
    const seatMapUrl = page.url();

    await seat(page, 3).click();
    await page.locator('#hold').click();
    await page.waitForURL(/#\/reservations\/[^/]+$/);
    const reservationId = page.url().split('/').pop();
    const countdown = page.locator('#countdown');
    await countdown.waitFor();
    assert.match(await countdown.textContent(), /^0:0[0-3]$/);
    await screenshot(page, '09-phone-checkout');

    // Zero, then the plain sentence, then back to the seat map.
    await page.waitForFunction(() => document.querySelector('#countdown')?.textContent === '0:00', null, { timeout: 8000 });
    await page.locator('.notice--error').getByText('Your hold has expired (Seat 3). Please choose seats again.').waitFor();
    await page.waitForURL(seatMapUrl, { timeout: 8000 });
    await page.locator('.notice--error').getByText(/has expired/).waitFor();
    await page.locator('.seat-grid .seat.s-a[data-seat="3"]').waitFor({ timeout: 5000 });
    await screenshot(page, '10-phone-hold-expired');

    const r = await must(server.api('GET', `/reservations/${reservationId}`, { key: fan.apiKey }), 200);
    assert.equal(r.status, 'EXPIRED');
    assert.deepEqual(errors, []);
  });
});

test('when the booking time in the queue runs out, the fan is sent back to rejoin', { timeout: 90_000 }, async (t) => {
  await atSeatMap(t, { env: { ENCORE_QUEUE_ACTIVE_TTL: '4s' }, seatCount: 8, name: 'Yuna' }, async ({ page, errors, concert }) => {
    await seat(page, 1).waitFor();

    // The seat map's refresh meets the expired queue token: back to the waiting room, told why.
    await page.waitForURL(new RegExp(`#/concerts/${concert.id}/queue$`), { timeout: 15_000 });
    await page.locator('.notice--error').getByText(/join the line again/).waitFor();
    await page.getByRole('button', { name: 'Join the line again' }).click();
    await page.waitForURL(/#\/concerts\/[^/]+\/dates$/, { timeout: 15_000 });
    assert.deepEqual(errors, []);
  });
});

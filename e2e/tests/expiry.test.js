// A hold runs out in front of the fan (ENCORE_HOLD_TTL=3s): the countdown reaches zero, the page
// says the hold expired and goes back to the seat map, where the seat is free again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, seedConcert, newUser, must, launchBrowser, newContext, screenshot, watchPage,
} from '../lib/harness.js';

test('a hold expires in front of the fan', { timeout: 90_000 }, async (t) => {
  const server = await startServer({ ENCORE_HOLD_TTL: '3s' });
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); });
  try {
    const { concert } = await seedConcert(server, { seatCount: 20, price: 30000 });
    const fan = await newUser(server, 'Jisoo');
    // A phone-sized screen.
    const context = await newContext(browser, { apiKey: fan.apiKey, name: 'Jisoo', viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    const errors = watchPage(page);
    await page.goto(`${server.baseUrl}/#/concerts/${concert.id}`);
    await page.locator('#get-tickets').click();
    await page.waitForURL(/#\/concerts\/[^/]+\/dates$/, { timeout: 15_000 });
    await page.getByRole('link', { name: /Choose seats/ }).first().click();
    await page.locator('.seat[data-seat="3"][data-status="AVAILABLE"]').waitFor();
    await screenshot(page, '08-phone-seat-map');
    const seatMapUrl = page.url();

    await page.locator('.seat[data-seat="3"]').click();
    await page.waitForURL(/#\/reservations\/[^/]+$/);
    const reservationId = page.url().split('/').pop();
    const countdown = page.locator('#countdown');
    await countdown.waitFor();
    assert.match(await countdown.textContent(), /^0:0[0-3]$/);
    await screenshot(page, '09-phone-checkout');

    // Zero, then the plain sentence, then back to the seat map.
    await page.waitForFunction(() => document.querySelector('#countdown')?.textContent === '0:00', null, { timeout: 8000 });
    await page.locator('.notice--error').getByText('Your hold on seat 3 has expired. Please choose a seat again.').waitFor();
    await page.waitForURL(seatMapUrl, { timeout: 8000 });
    await page.locator('.notice--error').getByText(/has expired/).waitFor();
    await page.locator('.seat[data-seat="3"][data-status="AVAILABLE"]').waitFor({ timeout: 5000 });
    await screenshot(page, '10-phone-hold-expired');

    const r = await must(server.api('GET', `/reservations/${reservationId}`, { key: fan.apiKey }), 200);
    assert.equal(r.status, 'EXPIRED');
    assert.deepEqual(errors, []);
  } catch (e) {
    console.error(server.logTail());
    throw e;
  }
});

test('when the booking time in the queue runs out, the fan is sent back to rejoin', { timeout: 90_000 }, async (t) => {
  const server = await startServer({ ENCORE_QUEUE_ACTIVE_TTL: '4s' });
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); });
  try {
    const { concert } = await seedConcert(server, { seatCount: 8 });
    const fan = await newUser(server, 'Yuna');
    const context = await newContext(browser, { apiKey: fan.apiKey, name: 'Yuna' });
    const page = await context.newPage();
    const errors = watchPage(page);
    await page.goto(`${server.baseUrl}/#/concerts/${concert.id}`);
    await page.locator('#get-tickets').click();
    await page.waitForURL(/#\/concerts\/[^/]+\/dates$/, { timeout: 15_000 });
    await page.getByRole('link', { name: /Choose seats/ }).first().click();
    await page.locator('.seat[data-seat="1"]').waitFor();

    // The seat map's refresh meets the expired queue token: back to the waiting room, told why.
    await page.waitForURL(new RegExp(`#/concerts/${concert.id}/queue$`), { timeout: 15_000 });
    await page.locator('.notice--error').getByText(/join the line again/).waitFor();
    await page.getByRole('button', { name: 'Join the line again' }).click();
    await page.waitForURL(/#\/concerts\/[^/]+\/dates$/, { timeout: 15_000 });
    assert.deepEqual(errors, []);
  } catch (e) {
    console.error(server.logTail());
    throw e;
  }
});

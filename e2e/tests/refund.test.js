// My tickets after a fresh page load: each paid order shows its concert, date, venue, booking
// reference and a QR code per place; the fan refunds one, sees the fee before confirming, then
// the refund and the new balance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, newUser, must, launchBrowser, newContext, screenshot, watchPage,
} from '../lib/harness.js';

test('a fan sees tickets with QR codes and refunds one, fee shown first', { timeout: 90_000 }, async (t) => {
  const server = await startServer();
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); });

  const concert = await must(server.admin('POST', '/admin/concerts', {
    title: 'Refund Recital', performer: 'Aurora Strings', venue: 'Seoul Arts Center',
    refundPolicy: [{ untilHoursBefore: 24, feePercent: 10 }],
  }), 201);
  const H = 3600_000;
  const iso = (ms) => new Date(ms).toISOString();
  const schedule = await must(server.admin('POST', `/admin/concerts/${concert.id}/schedules`, {
    startsAt: iso(Date.now() + 72 * H), bookingOpensAt: iso(Date.now() - H), bookingClosesAt: iso(Date.now() + 48 * H),
    seatCount: 10, price: 55000,
  }), 201);
  const fan = await newUser(server, 'Refunding Fan');
  await must(server.api('POST', '/wallet/charges', { key: fan.apiKey, body: { amount: 200000 } }), 200);
  const bought = [];
  for (const seatNumber of [3, 4]) {
    // A payment ends the queue ticket: each order joins again.
    const ticket = await must(server.api('POST', `/concerts/${concert.id}/queue`, { key: fan.apiKey }), 200, 201);
    const hold = await must(server.api('POST', '/reservations', { key: fan.apiKey, queue: ticket.token, body: { scheduleId: schedule.id, seatNumber } }), 201);
    await must(server.api('POST', '/payments', { key: fan.apiKey, queue: ticket.token, body: { reservationId: hold.id } }), 201);
    bought.push(hold);
  }

  const context = await newContext(browser, { apiKey: fan.apiKey, name: fan.name });
  const page = await context.newPage();
  const errors = watchPage(page);
  await page.goto(`${server.baseUrl}/#/tickets`);
  const card = page.locator(`[data-reservation="${bought[0].id}"]`);
  await card.getByRole('heading', { name: 'Refund Recital' }).waitFor();
  await card.getByText('Seoul Arts Center').waitFor();
  assert.match(await card.locator('.booking-ref strong').textContent(), /^ENC-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  assert.equal(await card.locator('time').getAttribute('datetime'), schedule.startsAt);
  const qr = card.getByRole('img', { name: /Ticket QR code, MAIN-1-3/ });
  await qr.waitFor();
  assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code is drawn');

  // The refund: the fee and the amount back first, then the refund and the balance after it.
  await card.getByRole('button', { name: 'Refund' }).click();
  await card.getByText('Refunding now keeps a fee of ₩5,500 (10%) of ₩55,000.').waitFor();
  await card.getByText('You get ₩49,500 back in your wallet.').waitFor();
  await screenshot(page, '19-my-tickets-qr-refund');
  await card.getByRole('button', { name: 'Refund' }).last().click();
  const refunded = page.locator(`[data-reservation="${bought[0].id}"][data-status="REFUNDED"]`);
  await refunded.getByText('Refunded ₩49,500 (fee ₩5,500)').waitFor();
  await refunded.getByText('Wallet balance now: ₩139,500').waitFor();
  const wallet = await must(server.api('GET', '/wallet', { key: fan.apiKey }), 200);
  assert.equal(wallet.balance, 200000 - 2 * 55000 + 49500);
  const other = await must(server.api('GET', `/reservations/${bought[1].id}`, { key: fan.apiKey }), 200);
  assert.equal(other.status, 'CONFIRMED', 'only the chosen order was refunded');
  await screenshot(page, '19a-my-tickets-refunded');

  // In Korean on a phone: the other ticket, its QR code and booking reference.
  const phone = await newContext(browser, { apiKey: fan.apiKey, name: fan.name, lang: 'ko', viewport: { width: 375, height: 800 } });
  const mobile = await phone.newPage();
  const mobileErrors = watchPage(mobile, 'phone');
  await mobile.goto(`${server.baseUrl}/#/tickets`);
  await mobile.evaluate(() => localStorage.setItem('encore.lang', 'ko'));
  await mobile.reload();
  const mine = mobile.locator(`[data-reservation="${bought[1].id}"]`);
  await mine.getByRole('img', { name: /티켓 QR 코드/ }).waitFor();
  await mine.getByText('예매 번호').waitFor();
  const overflow = await mobile.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no sideways scrolling on a phone (${overflow}px)`);
  await screenshot(mobile, '19b-phone-my-tickets-ko');

  assert.deepEqual([...errors, ...mobileErrors], []);
});

// The box office at /admin: an admin signs in, creates a concert with a plan built in the form
// and a date, watches the live dashboard move while a fan buys, and checks the fan's ticket in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, newUser, must, launchBrowser, newContext, screenshot, watchPage,
} from '../lib/harness.js';

test('an admin sets up a concert, watches it sell and checks a ticket in', { timeout: 120_000 }, async (t) => {
  const server = await startServer();
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); });
  const context = await newContext(browser);
  const page = await context.newPage();
  const errors = watchPage(page);
  await page.goto(`${server.baseUrl}/admin`);

  // A wrong token is refused with the server's reason; the right one signs in.
  await page.getByLabel('Admin token').fill('not-the-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.field-hint--error').waitFor();
  await page.getByLabel('Admin token').fill(server.adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Concerts', level: 1 }).waitFor();

  // A concert with a refund policy tier.
  await page.getByLabel('Title').fill('Box Office Night');
  await page.getByLabel('Performer').fill('The Testers');
  await page.getByLabel('Venue').fill('Blue Square');
  await page.getByRole('button', { name: 'Add a tier' }).click();
  await page.getByLabel('Until hours before').fill('24');
  await page.getByLabel('Fee %').fill('10');
  await screenshot(page, '16-box-office-concerts');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.waitForURL(/#\/concerts\/[^/]+$/);
  await page.getByRole('heading', { name: 'Box Office Night', level: 1 }).waitFor();
  const concertId = page.url().split('/').pop();
  const concert = (await must(server.admin('GET', '/admin/concerts'), 200)).items.find((c) => c.id === concertId);
  assert.deepEqual(concert.refundPolicy, [{ untilHoursBefore: 24, feePercent: 10 }]);
  assert.equal(concert.venue, 'Blue Square');

  // A date with two sections built in the form: A (R, 2 rows × 3) and B (S, 1 row × 4).
  const first = page.locator('.section-row').first();
  await first.getByLabel('Rows').fill('2');
  await first.getByLabel('Seats per row').fill('3');
  await page.getByRole('button', { name: 'Add a section' }).click();
  const second = page.locator('.section-row').nth(1);
  await second.getByLabel('Rows').fill('1');
  await second.getByLabel('Seats per row').fill('4');
  await page.getByRole('button', { name: 'Create the date' }).click();
  await page.locator('tr[data-schedule]').waitFor();
  const schedules = await must(server.admin('GET', `/admin/concerts/${concertId}/schedules`), 200);
  assert.equal(schedules.items.length, 1);
  const schedule = schedules.items[0];
  assert.equal(schedule.seatCount, 10);
  assert.deepEqual(schedule.grades.map((g) => [g.code, g.price]), [['R', 110000], ['S', 88000]]);

  // The dashboard, then a fan buys two R seats through the API: the numbers move without a reload.
  await page.getByRole('link', { name: 'Live sales' }).click();
  await page.locator('[data-schedule] .revenue').waitFor();
  assert.equal(await page.locator('[data-schedule] .revenue').textContent(), '₩0');
  const fan = await newUser(server, 'Ticket Fan');
  await must(server.api('POST', '/wallet/charges', { key: fan.apiKey, body: { amount: 500000 } }), 200);
  const ticket = await must(server.api('POST', `/concerts/${concertId}/queue`, { key: fan.apiKey }), 200, 201);
  const hold = await must(server.api('POST', '/reservations', {
    key: fan.apiKey, queue: ticket.token, body: { scheduleId: schedule.id, grade: 'R', quantity: 2 },
  }), 201);
  await must(server.api('POST', '/payments', { key: fan.apiKey, queue: ticket.token, body: { reservationId: hold.id } }), 201);
  await page.locator('[data-schedule] .revenue', { hasText: '₩220,000' }).waitFor({ timeout: 10_000 });
  await page.locator('.facts dd', { hasText: '2' }).first().waitFor();
  await screenshot(page, '17-box-office-dashboard');

  // The live controls: pausing the queue is saved.
  await page.getByLabel(/Paused/).check();
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator('.controls-saved', { hasText: 'Saved.' }).waitFor();
  assert.equal((await must(server.admin('GET', `/admin/concerts/${concertId}/queue`), 200)).paused, true);

  // Check-in: the first scan admits, the second says when it went in; the count shows it.
  const { items } = await must(server.api('GET', `/reservations/${hold.id}/tickets`, { key: fan.apiKey }), 200);
  await page.getByRole('link', { name: 'Check-in' }).click();
  await page.getByLabel('Ticket code').fill(items[0].code);
  await page.getByRole('button', { name: 'Check in', exact: true }).click();
  await page.locator('.checkin-result--ok .big', { hasText: 'Admitted' }).waitFor();
  await page.locator('.checked-in', { hasText: '1' }).waitFor();
  await screenshot(page, '18-check-in');
  await page.getByLabel('Ticket code').fill(items[0].code);
  await page.getByRole('button', { name: 'Check in', exact: true }).click();
  await page.locator('.checkin-result--bad .big', { hasText: 'Already checked in' }).waitFor();
  await page.getByLabel('Ticket code').fill(`${items[1].code.slice(0, -4)}AAAA`);
  await page.getByRole('button', { name: 'Check in', exact: true }).click();
  await page.locator('.checkin-result--bad .big', { hasText: 'Not a valid ticket' }).waitFor();

  // Webhooks: one created shows its secret once, and its (empty) delivery log opens.
  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByLabel('URL').fill('https://example.com/encore');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.getByText('The signing secret, shown only now:').waitFor();
  assert.match(await page.locator('.api-key').textContent(), /^whsec_/);
  await page.getByRole('link', { name: 'https://example.com/encore' }).click();
  await page.getByRole('heading', { name: 'Deliveries' }).waitFor();

  // Calling the date off: a confirm step, then the refunds' progress reaches every paid order.
  await page.goto(`${server.baseUrl}/admin#/schedules/${schedule.id}`);
  await page.getByRole('button', { name: 'Call off this date' }).click();
  await page.getByRole('button', { name: 'Yes' }).click();
  await page.getByText('1 of 1 refunded').waitFor({ timeout: 15_000 });
  assert.equal((await must(server.api('GET', `/reservations/${hold.id}`, { key: fan.apiKey }), 200)).status, 'REFUNDED');

  // In Korean on a phone: the dashboard reads and fits.
  const phone = await newContext(browser, { lang: 'ko', viewport: { width: 375, height: 800 } });
  const mobile = await phone.newPage();
  const mobileErrors = watchPage(mobile, 'phone');
  await mobile.goto(`${server.baseUrl}/admin`);
  await mobile.evaluate(() => localStorage.setItem('encore.lang', 'ko'));
  await mobile.reload();
  await mobile.getByLabel('관리자 토큰').fill(server.adminToken);
  await mobile.getByRole('button', { name: '로그인' }).click();
  await mobile.getByRole('link', { name: /Box Office Night/ }).click();
  await mobile.getByRole('link', { name: '실시간 판매' }).click();
  await mobile.locator('[data-schedule] .revenue').waitFor();
  const overflow = await mobile.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no sideways scrolling on a phone (${overflow}px)`);
  await screenshot(mobile, '17a-phone-dashboard-ko');

  assert.deepEqual([...errors, ...mobileErrors], []);
});

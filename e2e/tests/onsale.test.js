// An on-sale with a draw, as fans see it: the pre-queue countdown, the number the draw gave (checked
// in the browser), admission and a purchase of the last seat, and the sold-out concert — in the
// waiting room (event stream and polling, English and Korean) and on joining.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, newUser, must, launchBrowser, newContext, screenshot, watchPage, seat,
} from '../lib/harness.js';

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1100, height: 820 };
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Records what the page says to screen readers through its #live region, into window.__said. */
function recordSpoken() {
  window.__said = [];
  document.addEventListener('DOMContentLoaded', () => {
    const live = document.querySelector('#live');
    new MutationObserver(() => { if (live.textContent) window.__said.push(live.textContent); })
      .observe(live, { childList: true, characterData: true, subtree: true });
  });
}

const storedTicket = (page, cid) => page.evaluate((id) => JSON.parse(sessionStorage.getItem(`encore.ticket.${id}`) || 'null'), cid);

test('pre-queue, draw, the last seat bought, and sold out', { timeout: 180_000 }, async (t) => {
  const server = await startServer({ ENCORE_RATE_LIMITS: 'off' });
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); });
  try {
    // A concert going on sale in just under an hour (so the countdown reads 59:xx however fast
    // the page opens), with one date of one seat; the organiser holds the line (paused) so that
    // everyone drawn waits until they let it move.
    const H = 3600_000;
    const now = Date.now();
    const concert = await must(server.admin('POST', '/admin/concerts', {
      title: 'Nova Arena Tour', performer: 'NOVA', venue: 'KSPO Dome, Seoul', onSaleAt: iso(now + H - 30_000),
    }), 201);
    assert.equal(concert.soldOut, false);
    await must(server.admin('POST', `/admin/concerts/${concert.id}/schedules`, {
      startsAt: iso(now + 72 * H), bookingOpensAt: iso(now - H), bookingClosesAt: iso(now + 48 * H), seatCount: 1, price: 88000,
    }), 201);
    await must(server.admin('PATCH', `/admin/concerts/${concert.id}/queue`, { paused: true }), 200);

    // Three fans join the pre-queue by API; our fan joins in the browser.
    const others = [];
    for (const name of ['Ara', 'Bomi', 'Chan']) {
      const u = await newUser(server, name);
      const ticket = await must(server.api('POST', `/concerts/${concert.id}/queue`, { key: u.apiKey }), 201);
      assert.equal(ticket.status, 'PRE_QUEUE');
      assert.equal(ticket.position, null);
      others.push(ticket);
    }
    const fan = await newUser(server, 'Minji');
    await must(server.api('POST', '/wallet/charges', { key: fan.apiKey, body: { amount: 100000 } }), 200);
    const context = await newContext(browser, { apiKey: fan.apiKey, name: 'Minji' });
    await context.addInitScript(recordSpoken);
    const page = await context.newPage();
    const errors = watchPage(page);
    await page.goto(`${server.baseUrl}/#/concerts/${concert.id}`);
    await page.locator('#concert-onsale').getByText('Tickets go on sale').waitFor();
    await page.locator('#get-tickets').click();
    await page.waitForURL(new RegExp(`#/concerts/${concert.id}/queue$`));

    // The countdown to the on-sale time, ticking, with what happens at the start.
    const countdown = page.locator('#onsale-countdown');
    await countdown.waitFor();
    assert.match(await countdown.textContent(), /^59:\d\d$/);
    assert.equal(await countdown.getAttribute('role'), 'timer');
    await page.getByRole('heading', { name: 'What happens at the start' }).waitFor();
    await page.getByText(/one random order: the draw/).waitFor();
    await page.locator('#seats-left').getByText('1 seat left').waitFor();
    const before = await countdown.textContent();
    await page.waitForFunction((b) => document.querySelector('#onsale-countdown').textContent !== b, before, { timeout: 3000 });
    assert.equal((await storedTicket(page, concert.id)).status, 'PRE_QUEUE');
    await screenshot(page, '11-pre-queue');
    await page.setViewportSize(PHONE);
    await screenshot(page, '11a-phone-pre-queue');
    await page.setViewportSize(DESKTOP);

    // The organiser brings the sale forward to a few seconds from now; back in the waiting
    // room the countdown runs down, the last seconds are read out, and then the draw is made.
    await must(server.admin('PATCH', `/admin/concerts/${concert.id}`, { onSaleAt: iso(Date.now() + 6000) }), 200);
    await page.reload();
    await page.waitForFunction(() => Number(document.querySelector('#onsale-countdown')?.dataset.seconds) <= 7, null, { timeout: 5000 });

    // Drawn: waiting (the line is held), with the number from the draw.
    const number = page.locator('#draw-number');
    await number.waitFor({ timeout: 15_000 });
    const draw = await must(server.api('GET', `/concerts/${concert.id}/queue/draw`), 200);
    assert.equal(draw.drawn, true);
    assert.equal(draw.ticketIds.length, 4);
    const mine = await storedTicket(page, concert.id);
    assert.equal(mine.status, 'WAITING');
    const n = draw.ticketIds.indexOf(mine.ticketId) + 1;
    assert.ok(n >= 1, 'our ticket is in the draw');
    assert.equal(await number.getAttribute('data-number'), String(n));
    assert.equal(await number.textContent(), `No. ${n}`);
    await page.getByRole('heading', { name: `The draw put you at No. ${n}` }).waitFor();
    await page.getByText('Out of 4 fans who joined before the start').waitFor();
    await page.locator('#queue-position').waitFor();
    await page.waitForFunction((want) => window.__said.includes(want), `The draw put you at No. ${n}.`, { timeout: 5000 });
    // Of the countdown, only the last five seconds were read out, not every second.
    const said = await page.evaluate(() => window.__said);
    const numbers = said.filter((s) => /^\d+$/.test(s));
    assert.ok(numbers.includes('3'), `the last seconds are read out: ${JSON.stringify(said)}`);
    assert.ok(numbers.every((s) => Number(s) <= 5), JSON.stringify(said));
    await page.locator(`#queue-position[data-position="${n}"]`).waitFor();

    // How to check the draw: the commitment and the seed, verified in the browser.
    await page.getByText('How to check the draw').click();
    assert.equal(await page.locator('#draw-seed').textContent(), draw.seed);
    assert.equal(await page.locator('#draw-commitment').textContent(), draw.commitment);
    await page.locator('#draw-verify').getByText('Verified').waitFor();
    await page.locator('#draw-verify').getByText(`${n - 1} of the 4 tickets score lower than yours, so you are No. ${n}.`).waitFor();
    assert.match(await page.locator('#draw-score').textContent(), /^[0-9a-f]{64}$/);
    await screenshot(page, '12-draw');
    // In Korean on a phone, opened from the keyboard.
    await page.setViewportSize(PHONE);
    await page.getByRole('button', { name: '한국어로 보기' }).click();
    await page.getByRole('heading', { name: `추첨 결과 내 번호는 ${n}번` }).waitFor();
    await page.locator('#draw-check summary').focus();
    await page.keyboard.press('Enter');
    await page.locator('#draw-verify').getByText('검증 완료').waitFor();
    await screenshot(page, '12a-phone-draw-ko');
    await page.getByRole('button', { name: 'Switch to English' }).click();
    await page.getByRole('heading', { name: `The draw put you at No. ${n}` }).waitFor();
    await page.setViewportSize(DESKTOP);

    // Two more fans join after the start and line up behind the draw: one whose browser polls
    // (no EventSource), and one in Korean on a phone.
    const late = await newUser(server, 'Jun');
    const lateContext = await newContext(browser, { apiKey: late.apiKey, name: 'Jun' });
    await lateContext.addInitScript(() => { delete window.EventSource; });
    const latePage = await lateContext.newPage();
    const lateErrors = watchPage(latePage, 'late');
    await latePage.goto(`${server.baseUrl}/#/concerts/${concert.id}`);
    await latePage.locator('#get-tickets').click();
    await latePage.locator('#queue-position[data-position="5"]').waitFor();
    assert.equal(await latePage.locator('#draw').count(), 0, 'no draw number for a fan who joined after the start');
    await latePage.locator('#seats-left').getByText('1 seat left').waitFor();
    // A second tab of the same fan, on the concert's page, to join once it is sold out.
    const laterTab = await lateContext.newPage();
    const laterErrors = watchPage(laterTab, 'later tab');
    await laterTab.goto(`${server.baseUrl}/#/concerts/${concert.id}`);
    await laterTab.locator('#get-tickets').waitFor();

    const ko = await newUser(server, '서연');
    const koContext = await newContext(browser, { apiKey: ko.apiKey, name: '서연', lang: 'ko', viewport: PHONE });
    const koPage = await koContext.newPage();
    const koErrors = watchPage(koPage, 'ko');
    await koPage.goto(`${server.baseUrl}/#/concerts/${concert.id}`);
    await koPage.getByRole('button', { name: '예매하기' }).click();
    await koPage.locator('#queue-position[data-position="6"]').waitFor();
    await koPage.locator('#seats-left').getByText('남은 좌석 1석').waitFor();

    // The others give their places up and the organiser lets the line move: our fan is in.
    for (const o of others) await must(server.api('DELETE', '/queue', { queue: o.token }), 204);
    await must(server.admin('PATCH', `/admin/concerts/${concert.id}/queue`, { paused: false }), 200);
    await page.waitForURL(/#\/concerts\/[^/]+\/dates$/, { timeout: 15_000 });
    await page.locator('.notice--success').getByText('It is your turn!').waitFor();
    // The dates page still says where the draw put the fan.
    await page.locator('#draw-number').getByText(`No. ${n}`).waitFor();
    // One seat and one fan in: the others wait, first in line now.
    await latePage.locator('#queue-position[data-position="1"]').waitFor({ timeout: 10_000 });

    // The last seat, held: nobody else is let in, and the waiting room says why.
    await page.getByRole('link', { name: /Choose seats/ }).click();
    await seat(page, 1).click();
    await page.locator('#hold').click();
    await page.waitForURL(/#\/reservations\/[^/]+$/);
    await latePage.locator('#seats-left').getByText('Every seat left is being paid for right now').waitFor({ timeout: 10_000 });
    await page.locator('#pay').click();
    await page.getByRole('heading', { level: 1, name: 'Paid! Seat 1 is yours.' }).waitFor();
    await page.getByRole('link', { name: 'See my tickets' }).click();
    await page.locator('.ticket-card[data-status="CONFIRMED"]').getByText('Nova Arena Tour').waitFor();

    // Sold out: both waiting rooms say so (by polling, and by the event stream in Korean).
    const soldOut = latePage.locator('#sold-out');
    await soldOut.getByRole('heading', { name: 'Sold out' }).waitFor({ timeout: 10_000 });
    await soldOut.getByText('Every ticket for this concert has been sold.').waitFor();
    assert.equal(await latePage.locator('#leave-queue').count(), 0);
    assert.equal(await latePage.evaluate((id) => sessionStorage.getItem(`encore.queue.${id}`), concert.id), null);
    await screenshot(latePage, '13-sold-out');
    await koPage.locator('#sold-out').getByRole('heading', { name: '매진' }).waitFor({ timeout: 10_000 });
    await koPage.locator('#sold-out').getByText('이 공연의 티켓이 모두 팔렸어요.').waitFor();
    await screenshot(koPage, '13a-phone-sold-out-ko');

    // Joining a sold-out concert (from a page loaded before it sold out): told so, and the
    // concert's page shows it sold out with no way to join.
    await laterTab.locator('#get-tickets').click();
    await laterTab.locator('.notice--error').getByText('this concert is sold out').waitFor();
    await laterTab.locator('#sold-out-badge').getByText('Sold out').waitFor();
    assert.equal(await laterTab.locator('#get-tickets').count(), 0);
    const after = await must(server.api('GET', `/concerts/${concert.id}`), 200);
    assert.equal(after.soldOut, true);
    await laterTab.getByRole('link', { name: 'Concerts' }).click();
    await laterTab.locator('.card', { hasText: 'Nova Arena Tour' }).locator('.tag--sold-out').waitFor();

    assert.deepEqual([...errors, ...lateErrors, ...laterErrors, ...koErrors], []);
  } catch (e) {
    console.error(server.logTail());
    throw e;
  }
});

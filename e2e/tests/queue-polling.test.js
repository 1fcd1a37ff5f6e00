// The waiting room without Server-Sent Events: it polls GET /queue instead, can be left with the
// leave button, and still moves on by itself when the fan is admitted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, seedConcert, newUser, must, launchBrowser, newContext, watchPage,
} from '../lib/harness.js';

test('the waiting room polls when EventSource is unavailable, and can be left', { timeout: 90_000 }, async (t) => {
  const server = await startServer({ ENCORE_QUEUE_ACTIVE_LIMIT: '1' });
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); });
  try {
    const { concert } = await seedConcert(server, { seatCount: 10 });
    const blocker = await newUser(server, 'Blocker');
    const blockerTicket = await must(server.api('POST', `/concerts/${concert.id}/queue`, { key: blocker.apiKey }), 200, 201);
    assert.equal(blockerTicket.status, 'ACTIVE');

    const fan = await newUser(server, 'Hana');
    const context = await newContext(browser, { apiKey: fan.apiKey, name: 'Hana' });
    await context.addInitScript(() => { delete window.EventSource; });
    const page = await context.newPage();
    const errors = watchPage(page);
    const sse = [];
    page.on('request', (r) => { if (r.url().includes('/queue/events')) sse.push(r.url()); });
    await page.goto(`${server.baseUrl}/#/concerts/${concert.id}`);

    // Join, then leave with the button: the place is given up on the server too.
    await page.locator('#get-tickets').click();
    await page.locator('#queue-position[data-position="1"]').waitFor();
    const token = await page.evaluate((cid) => sessionStorage.getItem(`encore.queue.${cid}`), concert.id);
    assert.ok(token, 'the queue token is kept in sessionStorage');
    await page.getByRole('button', { name: 'Leave the line' }).click();
    await page.locator('.notice').getByText('You left the line.').waitFor();
    await page.waitForURL(new RegExp(`#/concerts/${concert.id}$`));
    const gone = await server.api('GET', '/queue', { queue: token });
    assert.ok([401, 410].includes(gone.status), `left ticket answers ${gone.status}`);
    assert.equal(await page.evaluate((cid) => sessionStorage.getItem(`encore.queue.${cid}`), concert.id), null);

    // Join again; admitted when the blocker leaves, seen by polling alone.
    await page.locator('#get-tickets').click();
    await page.locator('#queue-position[data-position="1"]').waitFor();
    await must(server.api('DELETE', '/queue', { queue: blockerTicket.token }), 204);
    await page.waitForURL(/#\/concerts\/[^/]+\/dates$/, { timeout: 15_000 });
    await page.getByRole('link', { name: /Choose seats/ }).waitFor();
    assert.deepEqual(sse, [], 'no event stream was used');
    assert.deepEqual(errors, []);
  } catch (e) {
    console.error(server.logTail());
    throw e;
  }
});

// health-refresh.test.mjs — the health page keeping itself current, with
// Playwright's clock standing in for the 30 s wait: the countdown, a check run
// from the CLI picked up by the auto-refresh, the pause while the tab is
// hidden; an API failure (the server stopped, then a 503 with a message)
// shown in a red banner that goes away by itself once the API answers.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertNoProblems, cliCheckSeen, colourOf, drift, newPage, shot, signIn, until, useDashboard,
} from './lib.mjs';

let ctx, browser, token, p;
useDashboard('refresh', { signedIn: false, prepare: cliCheckSeen }, (d) => ({ ctx, token, browser } = d));
afterEach(async () => {
  assertNoProblems(p);
  await p.context().close();
});

/** A signed-in health page whose timers run on Playwright's clock. */
async function healthPage() {
  p = await newPage(browser);
  await p.clock.install();
  await signIn(p, ctx, { to: '/admin/health' });
  await p.locator('#last-updated time').waitFor();
  return p;
}

const text = (sel) => p.locator(sel).textContent();

function setHidden(hidden) {
  return p.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

test('every 30 s, with a visible countdown, the page picks up a check run from the CLI; hidden, it waits', async () => {
  await healthPage();
  const statusCalls = [];
  p.on('request', (r) => { if (r.url().endsWith('/api/v1/health/status')) statusCalls.push(Date.now()); });
  const countdown = p.locator('#refresh-countdown');
  assert.equal(await countdown.getAttribute('role'), 'timer');
  await until(async () => (await countdown.textContent()) === 'Next refresh in 30 s');
  await p.clock.runFor(5000);
  assert.equal(await countdown.textContent(), 'Next refresh in 25 s');

  const before = await text('[data-metric="violations"]');
  const updatedBefore = await text('#last-updated');
  drift(ctx.dir, 10);
  await cliCheckSeen(ctx, token);
  await p.clock.runFor(20000);
  assert.equal(await text('[data-metric="violations"]'), before, 'nothing fetched before the 30 s are up');
  assert.equal(statusCalls.length, 0);
  await p.clock.runFor(5000);
  await until(async () => (await text('[data-metric="violations"]')) === String(Number(before) + 10),
    { what: 'the auto-refresh showing the CLI check' });
  assert.notEqual(await text('#last-updated'), updatedBefore);
  assert.equal(statusCalls.length, 1);
  await until(async () => (await countdown.textContent()) === 'Next refresh in 30 s');

  // Hidden: no refresh however long; visible again after more than 30 s: one at once.
  await setHidden(true);
  assert.equal(await countdown.textContent(), 'Auto-refresh paused');
  await p.clock.runFor(120000);
  assert.equal(statusCalls.length, 1, 'no refresh while hidden');
  await setHidden(false);
  await until(() => statusCalls.length === 2, { what: 'a refresh on becoming visible' });
  await until(async () => (await countdown.textContent()) === 'Next refresh in 30 s');
});

test('an API failure shows a red banner with the message, and the page recovers by itself', async () => {
  await healthPage();
  const banner = p.getByTestId('error-banner');
  assert.equal(await banner.getAttribute('role'), 'alert');
  assert.equal(await banner.isVisible(), false);

  // The server goes away.
  await ctx.stop();
  await p.clock.runFor(30000);
  await banner.waitFor();
  assert.equal(await banner.locator('.banner-text').textContent(), 'Could not refresh the health data: Cannot reach the Lockstep server.');
  assert.equal(await colourOf(banner), 'rgb(254, 242, 242)');
  await until(async () => /^Retrying in \d+ s$/.test(await text('#refresh-countdown')));
  assert.equal(await text('[data-metric="users"]'), '150', 'the last numbers stay on screen');
  await shot(p, 'api-failure');

  // It comes back: the next retry clears the banner without a reload.
  await ctx.restart();
  await p.clock.runFor(10000);
  await banner.waitFor({ state: 'hidden' });
  assert.equal(await text('#health-announcer'), 'Connection restored; the health data is up to date.');

  // An error answer: its detail is what the banner says.
  const detail = 'The database is busy; retry shortly (request 0000abcd00000001)';
  await p.route('**/api/v1/health/status', (route) => route.fulfill({
    status: 503, contentType: 'application/json', headers: { 'Retry-After': '1' }, body: JSON.stringify({ detail }),
  }));
  await p.clock.runFor(30000);
  await banner.waitFor();
  assert.equal(await banner.locator('.banner-text').textContent(), `Could not refresh the health data: ${detail}`);
  await p.unroute('**/api/v1/health/status');
  await p.clock.runFor(10000);
  await banner.waitFor({ state: 'hidden' });
});

// stabilization.test.mjs — the Stabilization page, reached from the health
// page: too little data at first (grey, no baseline), a baseline created with
// its button, PROCEED (green) once a dozen one-second checks are recorded,
// drift made by SQL behind Lockstep's back turning it to FIX ISSUES (red)
// with its reasons and the new violations counted; the window switch; an API
// failure in the banner; one column on a phone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, colourOf, drift, newPage, shot, signIn, until, useDashboard,
} from './lib.mjs';

let ctx, browser, token, p;
useDashboard('stabilization', {
  demoArgs: ['--drift', '0'],
  env: { LOCKSTEP_CHECK_INTERVAL: '1', LOCKSTEP_SYNC_INTERVAL: '3600' },
}, (d) => ({ ctx, token, browser, page: p } = d));

const rgb = { green: 'rgb(16, 185, 129)', amber: 'rgb(245, 158, 11)', red: 'rgb(239, 68, 68)', grey: 'rgb(156, 163, 175)' };
const report = async () => (await api(ctx, token, 'GET', '/api/v1/health/stabilization-report?window=72h')).body;
const fact = (key) => p.locator(`[data-fact="${key}"]`).textContent();

async function decisionShown(decision) {
  await until(async () => (await p.getByTestId('decision-badge').getAttribute('data-decision')) === decision,
    { what: `the page showing ${decision}` });
}

test('from the health page: too little data, no baseline yet, a grey decision that says so', async () => {
  await p.goto(`${ctx.url}/admin/health`);
  await p.locator('#stabilization-link').click();
  await p.waitForURL(`${ctx.url}/admin/stabilization`);
  await p.getByTestId('decision-badge').waitFor();
  const r = await report();
  // Checks may have started already; with fewer than 12 the page cannot decide.
  if (r.consistency.checks < 12) {
    await decisionShown('INSUFFICIENT_DATA');
    const badge = p.getByTestId('decision-badge');
    assert.equal((await badge.textContent()).trim(), '?INSUFFICIENT DATA');
    assert.equal(await colourOf(badge), rgb.grey);
    assert.match(await p.getByTestId('reasons').textContent(), /at least 12 are needed/);
  }
  assert.match(await p.getByTestId('no-baseline').textContent(), /No baseline yet/);
  assert.equal(await p.getByRole('button', { name: '72 h' }).getAttribute('aria-pressed'), 'true');
  assert.equal(await p.locator('.nav-link[aria-current="page"]').textContent(), 'Stabilization');
  await shot(p, 'stabilization-insufficient');
});

test('Create baseline asks first, reads "Creating..." while it runs, then the page shows it', async () => {
  await p.goto(`${ctx.url}/admin/stabilization`);
  await p.getByTestId('decision-badge').waitFor();
  const button = p.locator('#create-baseline');

  // Cancel changes nothing.
  await button.click();
  await p.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await api(ctx, token, 'GET', '/api/v1/health/baselines')).body.length, 0);

  await button.click();
  const dialog = p.getByRole('dialog');
  assert.match(await dialog.textContent(), /runs a fresh recorded check/);
  // Hold the creation's answer to see the button while it runs.
  let release;
  const held = new Promise((r) => { release = r; });
  await p.route('**/api/v1/health/baselines', async (route) => {
    await held;
    await route.continue();
  });
  await dialog.getByRole('button', { name: 'Create baseline' }).click();
  await until(async () => (await button.textContent()) === 'Creating...', { what: 'the button reading Creating...' });
  assert.equal(await button.isDisabled(), true);
  release();
  await until(async () => (await button.textContent()) === 'Create baseline' && !(await button.isDisabled()),
    { what: 'the button back' });
  await p.unroute('**/api/v1/health/baselines');

  const list = (await api(ctx, token, 'GET', '/api/v1/health/baselines')).body;
  assert.equal(list.length, 1);
  const b = list[0];
  assert.match(await p.getByTestId('stabilization-notice').textContent(), new RegExp(`Baseline #${b.id} created: 100\\.00% consistency, 0 violations`));
  assert.equal(await p.locator('#baseline-title').textContent(), `Baseline #${b.id}`);
  assert.equal(await fact('baseline-rate'), '100.00%');
  assert.equal(await fact('baseline-violations'), '0');
});

test('a dozen checks later: PROCEED in green with every criterion passing and the scheduled checks counted', async () => {
  await until(async () => (await report()).decision === 'PROCEED', { timeout: 60000, every: 500, what: 'the report reaching PROCEED' });
  await p.locator('#refresh-report').click();
  await decisionShown('PROCEED');
  const r = await report();
  const badge = p.getByTestId('decision-badge');
  assert.equal((await badge.textContent()).trim(), '✓PROCEED');
  assert.equal(await colourOf(badge), rgb.green);
  for (const key of ['data', 'consistency', 'trend', 'scheduler', 'violations'])
    assert.equal(await p.locator(`[data-criterion="${key}"] .pill`).textContent(), 'pass', key);
  assert.equal(await p.getByTestId('trend-verdict').textContent(), 'stable');
  assert.equal(await fact('current-rate'), '100.00% HEALTHY');
  assert.equal(await fact('change'), '±0.00 points');
  // "N of M expected", from the same report the page drew (the scheduler may have run one more since).
  const shown = await p.getByTestId('checks-run').textContent();
  const m = /^(\d+) of (\d+) expected$/.exec(shown.replace(/,/g, ''));
  assert.ok(m, shown);
  assert.ok(Number(m[1]) >= 1 && Number(m[2]) >= 1 && Math.abs(Number(m[1]) - r.scheduler.checks_run) <= 3, shown);
  assert.equal(await fact('scheduler-state'), 'running');
  assert.match(await p.getByTestId('reasons').textContent(), /consistency/i);
  await shot(p, 'stabilization-proceed');
});

test('drift behind Lockstep\'s back: FIX ISSUES in red, the new violations counted, the reasons and action items listed', async () => {
  drift(ctx.dir, 12); // 12 of 150 pairs: 92.00%, below 95 %
  await until(async () => (await report()).decision === 'FIX_ISSUES', { timeout: 30000, every: 300, what: 'the report reaching FIX_ISSUES' });
  await p.locator('#refresh-report').click();
  await decisionShown('FIX_ISSUES');
  const badge = p.getByTestId('decision-badge');
  assert.equal((await badge.textContent()).trim(), '✕FIX ISSUES');
  assert.equal(await colourOf(badge), rgb.red);
  assert.equal(await fact('new-violations'), '12');
  assert.equal(await fact('current-violations'), '12');
  assert.equal(await fact('current-rate'), '92.00% CRITICAL');
  assert.equal(await fact('change'), '\u22128.00 points');
  const reasons = await p.getByTestId('reasons').textContent();
  assert.match(reasons, /12 new violations/);
  assert.equal(await p.locator('[data-criterion="violations"] .pill').textContent(), 'fail');
  assert.match(await p.getByTestId('action-items').textContent(), /lockstep sync/);
  await shot(p, 'stabilization-fix-issues');
});

test('the window switch asks for that window; an API failure shows the banner', async () => {
  const asked = [];
  p.on('request', (req) => { if (req.url().includes('stabilization-report')) asked.push(new URL(req.url()).searchParams.get('window')); });
  await p.getByRole('button', { name: '24 h' }).click();
  await until(async () => /Report of the last 24h/.test(await p.locator('#stabilization-generated').textContent()),
    { what: 'the 24 h report' });
  assert.deepEqual(asked, ['24h']);
  assert.equal(await p.getByRole('button', { name: '24 h' }).getAttribute('aria-pressed'), 'true');
  assert.equal(await p.getByRole('button', { name: '72 h' }).getAttribute('aria-pressed'), 'false');

  await p.route('**/api/v1/health/stabilization-report*', (route) =>
    route.fulfill({ status: 503, contentType: 'application/json', body: '{"detail":"Database unavailable"}' }));
  p.problems.length = 0;
  await p.locator('#refresh-report').click();
  const banner = p.getByTestId('error-banner');
  await banner.waitFor();
  assert.equal(await banner.textContent(), '!Could not load the stabilization report: Database unavailable');
  await p.unroute('**/api/v1/health/stabilization-report*');
  await p.locator('#refresh-report').click();
  await until(async () => banner.isHidden(), { what: 'the banner gone' });
  p.problems.length = 0; // the browser logs the 503 answer itself
});

test('on a phone: one column, nothing wider than the screen', async () => {
  const phone = await newPage(browser, { viewport: { width: 390, height: 844 } });
  await signIn(phone, ctx, { to: '/admin/stabilization' });
  await phone.getByTestId('decision-badge').waitFor();
  const widths = await phone.evaluate(() => ({
    doc: document.documentElement.scrollWidth,
    view: window.innerWidth,
    columns: getComputedStyle(document.querySelector('.stabilization-grid')).gridTemplateColumns.split(' ').length,
  }));
  assert.ok(widths.doc <= widths.view, JSON.stringify(widths));
  assert.equal(widths.columns, 1);
  await shot(phone, 'stabilization-phone');
  assert.deepEqual(phone.problems, []);
  await phone.context().close();
});

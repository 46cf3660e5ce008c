// thresholds.test.mjs — a server with its own status thresholds
// (healthy_threshold 90, degraded_threshold 80): the dashboard colours,
// words and draws the bands the server decides by, never the default 99/95.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, apiToken, colourOf, drift, launch, newPage, openHealth, signIn, startLockstep,
} from './lib.mjs';

let ctx;
let browser;
let token;
let p;

before(async () => {
  ctx = await startLockstep('thresholds', {
    env: { LOCKSTEP_CHECK_INTERVAL: '3600', LOCKSTEP_HEALTHY_THRESHOLD: '90', LOCKSTEP_DEGRADED_THRESHOLD: '80' },
  });
  token = await apiToken(ctx);
  browser = await launch();
  p = await newPage(browser);
  await signIn(p, ctx);
});
after(async () => {
  await browser?.close();
  await ctx?.close();
});
afterEach(() => {
  assert.deepEqual(p.problems, [], 'no CSP violation, page error or console error');
});

const rgb = { healthy: 'rgb(16, 185, 129)', degraded: 'rgb(245, 158, 11)', critical: 'rgb(239, 68, 68)' };
const stroke = { healthy: '#10b981', degraded: '#f59e0b', critical: '#ef4444' };

/** Badge, description, gauge, legend and trend lines for status `key`. */
async function assertBands(key, description) {
  const badge = p.getByTestId('status-badge');
  assert.equal(await badge.getAttribute('data-status'), key);
  assert.match(await badge.getAttribute('class'), new RegExp(`\\bstatus-${key}\\b`));
  assert.equal(await colourOf(badge), rgb[key]);
  assert.equal(await p.getByTestId('status-description').textContent(), description);
  const gauge = p.getByTestId('gauge');
  assert.equal(await gauge.getAttribute('data-status'), key);
  assert.equal(await gauge.locator('.gauge-value').getAttribute('stroke'), stroke[key]);
  assert.deepEqual(await gauge.locator('.legend li').allTextContents(), ['Healthy ≥ 90%', 'Degraded 80–90%', 'Critical < 80%']);
  // The degraded zone (the second) starts at 80 % of the half circle (radius 94 around 100,100).
  const at = (f) => [100 + 94 * Math.cos(Math.PI * (1 - f)), 100 - 94 * Math.sin(Math.PI * (1 - f))].map((v) => v.toFixed(2)).join(' ');
  assert.equal(await gauge.locator('.gauge-zone').count(), 3);
  assert.ok((await gauge.locator('.gauge-zone').nth(1).getAttribute('d')).startsWith(`M ${at(0.8)} `));
  assert.ok((await gauge.locator('.gauge-zone').nth(2).getAttribute('d')).startsWith(`M ${at(0.9)} `));
  assert.deepEqual(await p.locator('.trend .threshold-label').allTextContents(), ['90% healthy', '80% degraded']);
}

test('the API tells the thresholds: /health/metrics answers thresholds {healthy, degraded}', async () => {
  const m = await api(ctx, token, 'GET', '/api/v1/health/metrics');
  assert.equal(m.status, 200);
  assert.deepEqual(m.body.thresholds, { healthy: 90, degraded: 80 });
});

test('a rate of the default degraded band is HEALTHY under 90/80, and coloured so everywhere', async () => {
  // Checked by the server (its thresholds decide the recorded status).
  const at = (await api(ctx, token, 'POST', '/api/v1/health/check-now')).body.timestamp;
  const s = (await api(ctx, token, 'GET', '/api/v1/health/status')).body;
  assert.equal(s.last_check, at);
  assert.ok(s.consistency_rate >= 90 && s.consistency_rate < 99, `demo rate ${s.consistency_rate}`);
  assert.equal(s.status, 'healthy');
  await openHealth(p, ctx);
  await assertBands('healthy', 'System operating normally (≥90% consistency)');
});

test('a rate of the default critical band is DEGRADED under 90/80', async () => {
  const m = (await api(ctx, token, 'GET', '/api/v1/health/metrics')).body;
  const total = m.consistent + m.inconsistent;
  // Drift pairs until about 85 % stay consistent.
  drift(ctx.dir, Math.ceil(total * 0.15) - m.inconsistent);
  assert.equal((await api(ctx, token, 'POST', '/api/v1/health/check-now')).status, 200);
  const s = (await api(ctx, token, 'GET', '/api/v1/health/status')).body;
  assert.ok(s.consistency_rate >= 80 && s.consistency_rate < 90, `rate ${s.consistency_rate}`);
  assert.equal(s.status, 'degraded');
  await openHealth(p, ctx);
  await assertBands('degraded', 'Minor issues detected (80-90% consistency)');
  // The dashboard's card words it the same way.
  await p.goto(`${ctx.url}/admin/dashboard`);
  const card = p.getByTestId('system-health');
  await card.waitFor();
  assert.equal(await card.getByTestId('status-badge').getAttribute('data-status'), 'degraded');
  assert.equal(await card.locator('.status-description').textContent(), 'Minor issues detected (80-90% consistency)');
});

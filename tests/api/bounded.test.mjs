// bounded.test.mjs — every list answer is bounded at any store size: the
// status and check-now carry at most status_violations_limit violations
// (newest first, with violations_truncated and their count), the violation
// lists are paginated (limit/offset, X-Total-Count, a maximum page), sync
// results are capped with results_total and results_truncated, and
// latest-report is the recorded file, sent whole.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setupServer, request, sql } from './lib.mjs';

const LIMIT = 7;
let ctx;
const get = (p) => request(ctx.url, 'GET', p, { token: ctx.adminToken });
const post = (p, body) => request(ctx.url, 'POST', p, { token: ctx.adminToken, body });
const key = (v) => `${v.user_id}/${v.specialization}/${v.issue_type}`;

before(async () => {
  // About 1,500 violating pairs: more than one page of every list.
  ctx = await setupServer('bounded', { LOCKSTEP_STATUS_VIOLATIONS_LIMIT: String(LIMIT) },
    ['--users', '2500', '--drift', '60']);
});

after(async () => {
  if (ctx) await ctx.stop();
});

test('check-now and status: at most status_violations_limit violations, newest first, with the count and violations_truncated', async () => {
  const c1 = await post('/api/v1/health/check-now');
  assert.equal(c1.status, 200);
  assert.ok(c1.body.inconsistent > 1000, `${c1.body.inconsistent} violations`);
  assert.equal(c1.body.violations.length, LIMIT);
  assert.equal(c1.body.total_violations, c1.body.inconsistent);
  assert.equal(c1.body.violations_truncated, true);

  // New violations after the first check are the newest: they lead the lists.
  const fresh = sql(ctx.dir, 'SELECT l.user_id, l.specialization_type FROM user_licenses l JOIN specialization_progress p ' +
    'ON p.student_id = l.user_id AND p.specialization_id = l.specialization_type ' +
    'WHERE p.current_level = 1 AND l.current_level = 1 ORDER BY l.user_id LIMIT 3')
    .split('\n').map((l) => l.split('|'));
  assert.equal(fresh.length, 3);
  for (const [user, spec] of fresh)
    sql(ctx.dir, `UPDATE user_licenses SET current_level = 2 WHERE user_id = ${user} AND specialization_type = '${spec}'`);
  const c2 = await post('/api/v1/health/check-now');
  assert.equal(c2.body.violations.length, LIMIT);
  const s = await get('/api/v1/health/status');
  assert.equal(s.status, 200);
  assert.equal(s.body.violations.length, LIMIT);
  assert.equal(s.body.violations_truncated, true);
  assert.equal(s.body.total_violations, c2.body.inconsistent);
  const times = s.body.violations.map((v) => Date.parse(v.first_seen));
  assert.deepEqual([...times].sort((a, b) => b - a), times, 'newest first');
  assert.equal(times[0], Date.parse(c2.body.timestamp), 'the violations found by the last check lead');
  assert.deepEqual(s.body.violations.map(key), c2.body.violations.map(key));
  for (const [user, spec] of fresh)
    assert.ok(s.body.violations.some((v) => v.user_id === Number(user) && v.specialization === spec), `${user}/${spec} is among the newest`);
  // Small answers at this size.
  assert.ok(s.text.length < 8000, `status is ${s.text.length} bytes`);
  assert.ok(c2.text.length < 8000, `check-now is ${c2.text.length} bytes`);

  // The file keeps every violation, and latest-report is that file.
  const latest = await get('/api/v1/health/latest-report');
  assert.equal(latest.status, 200);
  assert.equal(latest.body.violations.length, c2.body.inconsistent);
  const dir = path.join(ctx.dir, 'logs/integrity_checks');
  const file = fs.readdirSync(dir).sort().at(-1);
  assert.equal(latest.text, fs.readFileSync(path.join(dir, file), 'utf8'));
  assert.equal(latest.headers.get('content-length'), String(fs.statSync(path.join(dir, file)).size));
});

test('/health/violations: pages of at most 1,000, X-Total-Count, pages that add up to the whole list', async () => {
  const first = await get('/api/v1/health/violations');
  assert.equal(first.status, 200);
  const total = Number(first.headers.get('x-total-count'));
  assert.ok(total > 1000);
  assert.equal(first.body.length, 1000, 'the default page is the maximum page');
  const seen = new Set();
  for (let offset = 0; offset < total; offset += 400) {
    const p = await get(`/api/v1/health/violations?limit=400&offset=${offset}`);
    assert.equal(p.status, 200);
    assert.equal(p.body.length, Math.min(400, total - offset));
    for (const v of p.body) seen.add(key(v));
  }
  assert.equal(seen.size, total, 'no violation twice, none missing');
  assert.deepEqual((await get(`/api/v1/health/violations?offset=${total}`)).body, []);
  for (const bad of ['limit=1001', 'limit=0', 'offset=-1', 'limit=x'])
    assert.equal((await get(`/api/v1/health/violations?${bad}`)).status, 422, bad);
  const spec = first.body[0].specialization;
  const bySpec = await get(`/api/v1/health/violations?specialization=${spec}&limit=5`);
  assert.ok(bySpec.body.every((v) => v.specialization === spec));
  assert.ok(Number(bySpec.headers.get('x-total-count')) < total);
});

test('desync-issues: paginated the same way', async () => {
  const first = await get('/api/v1/licenses/admin/sync/desync-issues');
  assert.equal(first.status, 200);
  const total = Number(first.headers.get('x-total-count'));
  assert.ok(total > 1000);
  assert.equal(first.body.length, 1000);
  const last = await get(`/api/v1/licenses/admin/sync/desync-issues?limit=1000&offset=1000`);
  assert.equal(last.body.length, total - 1000);
  const keys = new Set([...first.body, ...last.body].map(key));
  assert.equal(keys.size, total);
  assert.equal((await get('/api/v1/licenses/admin/sync/desync-issues?limit=5000')).status, 422);
});

test('sync results: at most 1,000 listed, with results_total and results_truncated', async () => {
  const dry = await post('/api/v1/licenses/admin/sync/all', { dry_run: true });
  assert.equal(dry.status, 200);
  assert.ok(dry.body.total_issues > 1000);
  assert.equal(dry.body.results.length, 1000);
  assert.equal(dry.body.results_total, dry.body.total_issues);
  assert.equal(dry.body.results_truncated, true);
  const user = dry.body.results[0].user_id;
  const one = await post(`/api/v1/licenses/admin/sync/user/${user}/all`, {});
  assert.equal(one.status, 200);
  assert.equal(one.body.results_truncated, false);
  assert.equal(one.body.results.length, one.body.results_total);
});

// stabilization.test.mjs — baselines, the trend and the stabilization report
// against the real binary: `serve` with 1-second checks, a baseline through
// the API (files, audit row), the report reaching PROCEED, drift made behind
// Lockstep's back by SQL, and the report moving to FIX_ISSUES with its
// reasons; the same from the CLI verbs; errors and roles.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setupServer, request, sql, login, waitFor, BIN, dbArgs } from './lib.mjs';

let ctx;
before(async () => {
  ctx = await setupServer('stabilization',
    { LOCKSTEP_CHECK_INTERVAL: '1', LOCKSTEP_SYNC_INTERVAL: '3600' }, ['--drift', '0']);
});
after(async () => { assert.equal(await ctx.stop(), 0, ctx.srv.stderr()); });

const get = (p, token = ctx.adminToken) => request(ctx.url, 'GET', p, { token });
const post = (p, body) => request(ctx.url, 'POST', p, { token: ctx.adminToken, body });
const report = async () => (await get('/api/v1/health/stabilization-report?window=72h')).body;

/** Run a verb on the data dir with the server's intervals; status and output. */
function cli(args) {
  const r = spawnSync(BIN, ['--data-dir', ctx.dir, ...dbArgs(ctx.dir), ...args], {
    env: { ...process.env, LOCKSTEP_CHECK_INTERVAL: '1', LOCKSTEP_SYNC_INTERVAL: '3600' },
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const today = () => new Date().toISOString().slice(0, 10).replace(/-/g, '');

test('a baseline, PROCEED after a dozen checks, then drift behind our back: FIX_ISSUES', async () => {
  // Too little data at first: the report says so instead of deciding.
  const early = await report();
  assert.equal(early.decision, 'INSUFFICIENT_DATA');
  assert.equal(early.decided, false);
  assert.match(early.reasons[0], /recorded checks? in the window; at least 12 are needed/);

  // A baseline from a fresh check, through the monitor.
  const created = await post('/api/v1/health/baselines', { note: 'after deploy' });
  assert.equal(created.status, 201);
  const b = created.body;
  assert.ok(b.id > 0 && b.check_id > 0);
  assert.equal(b.consistency_rate, 100);
  assert.equal(b.status, 'healthy');
  assert.equal(b.note, 'after deploy');
  assert.deepEqual(b.violations, []);
  assert.match(b.file, /^logs\/baselines\/baseline_\d{8}_\d{6}(_\d+)?\.json$/);
  const report0 = JSON.parse(fs.readFileSync(path.join(ctx.dir, b.file), 'utf8'));
  assert.equal(report0.consistency_rate, 100);
  const readme = fs.readFileSync(path.join(ctx.dir, 'logs/baselines/BASELINE_README.md'), 'utf8');
  assert.match(readme, /## Status now: 🟢 HEALTHY/);
  assert.match(readme, /Automated checks every 0:00:01/);
  assert.ok(!fs.existsSync(path.join(ctx.dir, 'logs/baselines/KNOWN_VIOLATIONS.md')));
  assert.equal(sql(ctx.dir, "SELECT count(*) FROM audit_logs WHERE action = 'BASELINE_CREATE'"), '1');

  const list = await get('/api/v1/health/baselines');
  assert.equal(list.status, 200);
  assert.equal(list.body.length, 1);
  assert.equal(list.body[0].id, b.id);
  const one = await get(`/api/v1/health/baselines/${b.id}`);
  assert.equal(one.status, 200);
  assert.equal(one.body.check_id, b.check_id);
  assert.deepEqual(one.body.counts_by_specialization, {});

  // The scheduler runs a check a second: a dozen in the window decide.
  await waitFor(async () => (await report()).decision === 'PROCEED', 60000, 500);
  const good = await report();
  assert.equal(good.baseline.id, b.id);
  assert.equal(good.consistency.current_rate, 100);
  assert.equal(good.consistency.baseline_rate, 100);
  assert.equal(good.consistency.trend, 'stable');
  assert.ok(good.consistency.checks >= 12);
  assert.ok(good.scheduler.checks_expected >= 1);
  assert.ok(good.scheduler.checks_run >= 1);
  assert.ok(good.scheduler.success_rate >= 99);
  assert.equal(good.scheduler.running, true);
  assert.equal(good.violations.new_since_baseline, 0);
  assert.equal(good.violations.all_known, true);
  assert.equal(good.reasons.length, 4);
  assert.deepEqual(good.criteria, { data: 'pass', consistency: 'pass', trend: 'pass',
    scheduler: 'pass', violations: 'pass' });

  const trend = await get('/api/v1/health/trend?window=1h');
  assert.equal(trend.status, 200);
  assert.equal(trend.body.reference, 'baseline');
  assert.equal(trend.body.verdict, 'stable');
  assert.ok(trend.body.count >= 12);
  assert.equal(trend.body.points.length, trend.body.count);
  assert.equal(trend.body.average, 100);
  assert.equal(trend.body.slope_per_hour, 0);

  // Five licenses move behind Lockstep's back.
  sql(ctx.dir, 'UPDATE user_licenses SET current_level = CASE WHEN current_level > 1 ' +
    'THEN current_level - 1 ELSE current_level + 1 END ' +
    'WHERE id IN (SELECT id FROM user_licenses ORDER BY id LIMIT 5)');
  await waitFor(async () => (await report()).decision === 'FIX_ISSUES', 30000, 300);
  const bad = await report();
  assert.equal(bad.violations.baseline, 0);
  assert.equal(bad.violations.new_since_baseline, 5);
  assert.equal(bad.violations.current, 5);
  assert.equal(bad.violations.all_known, false);
  assert.equal(bad.violations.new.length, 5);
  assert.ok(bad.reasons.some((r) => /5 new violations not known at baseline #\d+/.test(r)), bad.reasons.join('\n'));
  assert.ok(bad.consistency.current_rate < 100);
  assert.ok(bad.observations.issues.some((r) => /new violations since/.test(r)));
  assert.ok(bad.action_items.length > 0);

  // The CLI sees the same, and keeps the files.
  const md = cli(['report', 'stabilization', '--window', '72h']);
  assert.equal(md.code, 4, md.err);
  assert.match(md.out, /## Decision: FIX_ISSUES/);
  const mdFile = path.join(ctx.dir, 'logs/reports', `stabilization_report_${today()}.md`);
  assert.match(fs.readFileSync(mdFile, 'utf8'), /## Decision: FIX_ISSUES/);
  const js = cli(['report', 'stabilization', '--format', 'json']);
  assert.equal(js.code, 4);
  assert.equal(JSON.parse(js.out).violations.new_since_baseline, 5);

  const svg = path.join(os.tmpdir(), `lockstep-trend-${process.pid}.svg`);
  const tr = cli(['trend', '--window', '1h', '--svg', svg]);
  assert.equal(tr.code, 0, tr.err);
  assert.match(tr.out, /Verdict: /);
  const chart = fs.readFileSync(svg, 'utf8');
  assert.match(chart, /^<\?xml[^>]*>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(chart, /<polyline /);
  assert.match(chart, /baseline #\d+ 100.00%/);
  fs.rmSync(svg);
  const txt = fs.readFileSync(path.join(ctx.dir, 'logs/reports', `consistency_trend_1h_${today()}.txt`), 'utf8');
  const lines = txt.split('\n');
  assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z 100\.00$/);
  assert.match(txt, /\nChecks: \d+\n/);

  // A second baseline lists the violations it knows.
  const again = await post('/api/v1/health/baselines');
  assert.equal(again.status, 201);
  assert.equal(again.body.inconsistent, 5);
  assert.equal(again.body.violations.length, 5);
  const known = fs.readFileSync(path.join(ctx.dir, 'logs/baselines/KNOWN_VIOLATIONS.md'), 'utf8');
  assert.match(known, /User \d+ \| [A-Z]+: Progress Level \d+ vs License Level \d+ \(Δ -?\d+\)/);
  const shown = cli(['baseline', 'show', '--json']);
  assert.equal(shown.code, 0);
  assert.equal(JSON.parse(shown.out).id, again.body.id);
});

test('bad windows and unknown baselines are refused; other roles are not admitted', async () => {
  assert.equal((await get('/api/v1/health/trend?window=banana')).status, 422);
  assert.equal((await get('/api/v1/health/trend?window=0')).status, 422);
  assert.equal((await get('/api/v1/health/stabilization-report?window=400d')).status, 422);
  assert.equal((await get('/api/v1/health/stabilization-report?baseline=x')).status, 422);
  const missing = await get('/api/v1/health/stabilization-report?baseline=9999');
  assert.equal(missing.status, 404);
  assert.match(missing.body.detail, /Baseline 9999 not found/);
  assert.equal((await get('/api/v1/health/trend?baseline=9999')).status, 404);
  assert.equal((await get('/api/v1/health/baselines/9999')).status, 404);
  assert.equal((await get('/api/v1/health/baselines/abc')).status, 404);
  assert.equal((await post('/api/v1/health/baselines', { note: 42 })).status, 400);
  assert.equal((await request(ctx.url, 'GET', '/api/v1/health/trend')).status, 401);
  ctx.addUser('coach@stab.test', 'instructor');
  const token = await login(ctx.url, 'coach@stab.test', 'password-123');
  for (const p of ['/api/v1/health/baselines', '/api/v1/health/trend', '/api/v1/health/stabilization-report'])
    assert.equal((await get(p, token)).status, 403, p);
  assert.equal((await request(ctx.url, 'POST', '/api/v1/health/baselines', { token })).status, 403);
});

// health.test.mjs — the health endpoints: the "unknown" status before any
// check, latest-report before and after, check-now (recorded and dry run, one
// at a time, never stale), history, metrics, violations; the probes; security
// headers; a graceful stop with a request in flight.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setupServer, request, sql, startServe, stopServe, freshDir, lockstep, login, waitFor, JWT_SECRET, SCALE } from './lib.mjs';

let ctx;
before(async () => { ctx = await setupServer('health', { LOCKSTEP_CHECK_INTERVAL: '600' }); });
after(async () => { await ctx.stop(); });

const get = (p) => request(ctx.url, 'GET', p, { token: ctx.adminToken });
const post = (p) => request(ctx.url, 'POST', p, { token: ctx.adminToken });
const files = () => {
  const d = path.join(ctx.dir, 'logs/integrity_checks');
  return fs.existsSync(d) ? fs.readdirSync(d).filter((f) => f.endsWith('.json')) : [];
};

test('before any check: status unknown, latest-report 404 with the minutes to the first run', async () => {
  const s = await get('/api/v1/health/status');
  assert.equal(s.status, 200);
  assert.equal(s.text, '{"status":"unknown","last_check":null,"consistency_rate":null,"total_violations":0,"total_users_monitored":0,"requires_attention":false,"violations":[]}');
  const r = await get('/api/v1/health/latest-report');
  assert.equal(r.status, 404);
  assert.equal(r.body.detail, 'No health reports available yet. The first check runs in 10 minutes.');
  const m = await get('/api/v1/health/metrics');
  assert.deepEqual(Object.keys(m.body).sort(), ['check_success_rate_24h', 'checks_last_24h', 'consistency_rate', 'consistent',
    'inconsistent', 'last_check', 'last_check_duration_ms', 'requires_attention', 'status', 'thresholds', 'total_users_monitored', 'violations_by_type', 'violations_count']);
  assert.deepEqual(m.body.thresholds, { healthy: 99, degraded: 95 });
  assert.deepEqual(m.body.violations_by_type, {}, 'no check: no counts');
  assert.equal(m.body.status, 'unknown');
  assert.equal(m.body.consistency_rate, null);
  assert.equal(m.body.checks_last_24h, 0);
  assert.deepEqual((await get('/api/v1/health/violations')).body, []);
  assert.deepEqual((await get('/api/v1/health/history')).body, []);
});

test('a dry run changes nothing and writes no file', async () => {
  const r = await post('/api/v1/health/check-now?dry_run=true');
  assert.equal(r.status, 200);
  assert.equal(r.body.total_checked, 150);
  assert.equal(files().length, 0);
  assert.equal(sql(ctx.dir, 'SELECT count(*) FROM check_runs'), '0');
  assert.equal((await get('/api/v1/health/status')).body.status, 'unknown');
});

test('check-now, then status shows the new numbers at once; latest-report is the logged file', async () => {
  const r = await post('/api/v1/health/check-now');
  assert.equal(r.status, 200);
  for (const k of ['timestamp', 'total_checked', 'consistent', 'inconsistent', 'consistency_rate', 'violations'])
    assert.ok(k in r.body, k);
  assert.equal(r.body.consistency_rate, 98.67);
  assert.equal(r.body.violations.length, 2);
  const s1 = await get('/api/v1/health/status');
  assert.equal(s1.body.status, 'degraded');
  assert.equal(s1.body.total_violations, 2);
  assert.equal(s1.body.total_users_monitored, 150);
  assert.equal(s1.body.requires_attention, true);
  assert.equal(s1.body.last_check, r.body.timestamp);
  // Drift behind the server's back, check again: status must not be stale.
  sql(ctx.dir, 'UPDATE user_licenses SET current_level = CASE WHEN current_level > 1 THEN 1 ELSE 2 END WHERE user_id % 5 = 0');
  const r2 = await post('/api/v1/health/check-now');
  const s2 = await get('/api/v1/health/status');
  assert.equal(s2.body.last_check, r2.body.timestamp);
  assert.equal(s2.body.total_violations, r2.body.inconsistent);
  assert.equal(s2.body.status, 'critical');
  assert.equal(s2.body.violations.length, r2.body.inconsistent);
  const m = await get('/api/v1/health/metrics');
  assert.equal(m.body.inconsistent, r2.body.inconsistent);
  assert.equal(m.body.checks_last_24h, 2);
  assert.ok(m.body.last_check_duration_ms > 0);
  // latest-report: exactly the integrity-check file of that check.
  const latest = await get('/api/v1/health/latest-report');
  assert.equal(latest.status, 200);
  const logged = files().sort().at(-1);
  assert.equal(latest.text, fs.readFileSync(path.join(ctx.dir, 'logs/integrity_checks', logged), 'utf8'));
  // check-now answers the same report with its violations bounded like the
  // status (newest first, with their count); the file keeps every one.
  const { violations: answered, total_violations: total, violations_truncated: cut, ...summary } = r2.body;
  const { violations: logged_violations, ...logged_summary } = latest.body;
  assert.deepEqual(logged_summary, summary);
  assert.equal(total, logged_violations.length);
  assert.equal(cut, false);
  const key = (x) => `${x.user_id}/${x.specialization}/${x.issue_type}`;
  assert.deepEqual(answered.map(key).sort(), logged_violations.map(key).sort());
  const v = await get('/api/v1/health/violations');
  assert.deepEqual(v.body, answered);
  assert.equal(v.headers.get('x-total-count'), String(total));
  // History: newest first, with the documented fields.
  const h = await get('/api/v1/health/history?limit=10');
  assert.equal(h.body.length, 2);
  assert.deepEqual(Object.keys(h.body[0]).sort(), ['consistency_rate', 'consistent', 'duration_ms', 'inconsistent', 'status', 'timestamp', 'total_checked', 'trigger']);
  assert.equal(h.body[0].timestamp, r2.body.timestamp);
  assert.equal(h.body[0].trigger, 'manual');
  assert.equal((await get(`/api/v1/health/history?since=${encodeURIComponent(r2.body.timestamp)}`)).body.length, 1);
  assert.equal((await get(`/api/v1/health/history?until=${encodeURIComponent(r2.body.timestamp)}`)).body.length, 1);
  assert.equal(sql(ctx.dir, "SELECT count(*) FROM audit_logs WHERE action = 'CHECK_NOW'"), '2');
});

test('concurrent check-now requests: one check at a time, every caller gets a report', async () => {
  const before = Number(sql(ctx.dir, 'SELECT count(*) FROM check_runs'));
  const results = await Promise.all(Array.from({ length: 6 }, () => post('/api/v1/health/check-now')));
  for (const r of results) {
    assert.equal(r.status, 200);
    assert.equal(r.body.total_checked, 150);
  }
  const after = Number(sql(ctx.dir, 'SELECT count(*) FROM check_runs'));
  assert.ok(after - before >= 1 && after - before <= 6);
  // Callers that joined a running check share its report: every answer is one
  // of the recorded checks, and there are no more checks than answers.
  const recorded = new Set(JSON.parse(JSON.stringify((await get('/api/v1/health/history?limit=20')).body)).map((c) => c.timestamp));
  for (const r of results)
    assert.ok(recorded.has(r.body.timestamp), `${r.body.timestamp} was recorded`);
  assert.equal(new Set(results.map((r) => r.body.timestamp)).size, after - before);
});

test('probes: /healthz, /readyz, also spelled //healthz', async () => {
  for (const p of ['/healthz', '//healthz']) {
    const r = await request(ctx.url, 'GET', p);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'ok' });
  }
  const ready = await request(ctx.url, 'GET', '/readyz');
  assert.equal(ready.status, 200);
  assert.equal(ready.body.status, 'ready');
});

test('security headers on every response: API, errors, pages', async () => {
  for (const [m, p, token] of [['GET', '/api/v1/health/status', ctx.adminToken], ['GET', '/api/v1/health/status', null],
    ['GET', '/api/v1/nope', null], ['GET', '/', null], ['GET', '/admin/health', null], ['GET', '/healthz', null]]) {
    const r = await request(ctx.url, m, p, { token });
    const csp = r.headers.get('content-security-policy');
    assert.ok(csp && csp.includes("script-src 'self'") && !csp.includes('unsafe-inline'), `${p}: ${csp}`);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', p);
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer', p);
    assert.equal(r.headers.get('x-frame-options'), 'DENY', p);
    assert.match(r.headers.get('x-request-id'), /^[0-9a-f]{16}$/, p);
  }
  const api = await request(ctx.url, 'GET', '/api/v1/health/status', { token: ctx.adminToken });
  assert.equal(api.headers.get('cache-control'), 'no-store');
  assert.match(api.headers.get('content-type'), /^application\/json/);
});

test('SIGTERM while a long request is in flight: it finishes, the process exits 0', async () => {
  const dir = freshDir('health-term');
  const users = Math.round(20000 * SCALE);
  const { password } = lockstep(dir, ['demo', '--users', String(users), '--drift', '100']);
  const srv = await startServe(dir, { LOCKSTEP_JWT_SECRET: JWT_SECRET, LOCKSTEP_CHECK_INTERVAL: '3600' });
  const token = await login(srv.url, 'admin@lockstep.local', password);
  // A sync of every drifted pair: more than a second of work.
  const pending = request(srv.url, 'POST', '/api/v1/licenses/admin/sync/all', { token, body: { dry_run: false } });
  await waitFor(() => Number(sql(dir, 'SELECT count(*) FROM license_progressions')) > 0, 10000, 10);
  const code = stopServe(srv);
  const r = await pending;
  assert.equal(r.status, 200);
  assert.equal(r.body.synced_count, users);
  assert.equal(await code, 0);
  assert.match(srv.stderr(), /finishing requests in flight/);
  assert.equal(sql(dir, 'SELECT count(*) FROM license_progressions'), String(users));
});

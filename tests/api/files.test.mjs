// files.test.mjs — file budgets under the data dir: an integrity-check file
// holds the full violation list only when the list changed since the day's
// last full file (otherwise it refers to that file, and latest-report still
// answers the whole report); a per-day size budget truncates to a count;
// baselines and sync logs under retention; no sync log for a no-op sync.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setupServer, request, sql, startServe, stopServe, freshDir, lockstep, waitFor, dayLog } from './lib.mjs';

const checkFiles = (dir) => {
  const d = path.join(dir, 'logs/integrity_checks');
  return fs.existsSync(d) ? fs.readdirSync(d).filter((f) => /_violations(_\d+)?\.json$/.test(f)).sort() : [];
};
const readCheck = (dir, f) => JSON.parse(fs.readFileSync(path.join(dir, 'logs/integrity_checks', f), 'utf8'));
const lastFile = (dir) => sql(dir, 'SELECT report_file FROM check_runs ORDER BY id DESC LIMIT 1').replace('logs/integrity_checks/', '');
const SUMMARY = ['timestamp', 'total_checked', 'consistent', 'inconsistent', 'consistency_rate'];

// A pair that is consistent now gets its progress one level up: one more violation.
function breakOnePair(dir) {
  const row = sql(dir, `SELECT p.student_id || ' ' || p.specialization_id FROM specialization_progress p
      JOIN user_licenses l ON l.user_id = p.student_id AND l.specialization_type = p.specialization_id
      WHERE p.current_level = l.current_level AND p.current_level < 5 ORDER BY 1 LIMIT 1`);
  const [user, spec] = row.split(' ');
  sql(dir, `UPDATE specialization_progress SET current_level = current_level + 1
      WHERE student_id = ${user} AND specialization_id = '${spec}'`);
}

test('unchanged violations: small files refer to the full one; latest-report still returns the whole list', async () => {
  const ctx = await setupServer('files-ref');
  const post = (p) => request(ctx.url, 'POST', p, { token: ctx.adminToken });
  const get = (p) => request(ctx.url, 'GET', p, { token: ctx.adminToken });
  try {
    const first = await post('/api/v1/health/check-now');
    assert.equal(first.status, 200);
    assert.equal(first.body.violations.length, 2);
    const full = lastFile(ctx.dir);
    const fullBody = readCheck(ctx.dir, full);
    assert.equal(fullBody.violations.length, 2);

    for (let i = 0; i < 3; i++) {
      const again = await post('/api/v1/health/check-now');
      assert.equal(again.status, 200);
      assert.equal(again.body.violations.length, 2, 'check-now still answers the list');
    }
    const files = checkFiles(ctx.dir);
    assert.equal(files.length, 4);
    const latest = lastFile(ctx.dir);
    assert.notEqual(latest, full);
    for (const f of files.filter((x) => x !== full)) {
      const small = readCheck(ctx.dir, f);
      for (const k of SUMMARY) assert.ok(k in small, `${f}: ${k}`);
      assert.equal(small.inconsistent, 2);
      assert.equal(small.violations_unchanged, true);
      assert.equal(small.violations_file, full);
      assert.equal('violations' in small, false);
      assert.ok(fs.statSync(path.join(ctx.dir, 'logs/integrity_checks', f)).size < 600, `${f} is small`);
    }
    // latest-report: this check's summary, the list of the file it refers to.
    const rep = await get('/api/v1/health/latest-report');
    assert.equal(rep.status, 200);
    const small = readCheck(ctx.dir, latest);
    assert.equal(rep.body.timestamp, small.timestamp);
    assert.equal(rep.body.violations_file, full);
    assert.deepEqual(rep.body.violations, fullBody.violations);

    // One violation more: the list changed, the file holds it in full.
    breakOnePair(ctx.dir);
    const changed = await post('/api/v1/health/check-now');
    assert.equal(changed.body.violations.length, 3);
    const next = readCheck(ctx.dir, lastFile(ctx.dir));
    assert.equal(next.violations.length, 3);
    assert.equal('violations_file' in next, false);
    const rep2 = await get('/api/v1/health/latest-report');
    assert.deepEqual(rep2.body.violations, next.violations);
    // The next unchanged check refers to that new file.
    const newFull = lastFile(ctx.dir);
    await post('/api/v1/health/check-now');
    assert.equal(readCheck(ctx.dir, lastFile(ctx.dir)).violations_file, newFull);
    // A referenced file removed by hand: latest-report answers from the store.
    fs.rmSync(path.join(ctx.dir, 'logs/integrity_checks', newFull));
    const rep3 = await get('/api/v1/health/latest-report');
    assert.equal(rep3.status, 200);
    assert.equal(rep3.body.violations.length, 3);
    // …and the next check writes the list again instead of a dangling reference.
    await post('/api/v1/health/check-now');
    assert.equal(readCheck(ctx.dir, lastFile(ctx.dir)).violations.length, 3);
  } finally {
    await ctx.stop();
  }
});

test('the daily budget: past it, files carry the summary and a count; logged once', async () => {
  const ctx = await setupServer('files-budget', { LOCKSTEP_REPORT_BUDGET_BYTES_PER_DAY: '2600' });
  const post = (p) => request(ctx.url, 'POST', p, { token: ctx.adminToken });
  const get = (p) => request(ctx.url, 'GET', p, { token: ctx.adminToken });
  try {
    await post('/api/v1/health/check-now');
    assert.equal(readCheck(ctx.dir, lastFile(ctx.dir)).violations.length, 2, 'the first list fits');
    breakOnePair(ctx.dir);
    await post('/api/v1/health/check-now');
    breakOnePair(ctx.dir);
    const r = await post('/api/v1/health/check-now');
    assert.equal(r.body.violations.length, 4);
    const cut = readCheck(ctx.dir, lastFile(ctx.dir));
    for (const k of SUMMARY) assert.ok(k in cut, k);
    assert.equal(cut.violations_truncated, true);
    assert.equal(cut.violations_count, 4);
    assert.equal(cut.inconsistent, 4);
    assert.equal('violations' in cut, false);
    // Until midnight UTC every further file is truncated, the warning written once.
    await post('/api/v1/health/check-now');
    assert.equal(readCheck(ctx.dir, lastFile(ctx.dir)).violations_truncated, true);
    const warnings = dayLog(ctx.dir).split('\n').filter((l) => / - WARNING - Integrity check files reached the daily budget/.test(l));
    assert.equal(warnings.length, 1, dayLog(ctx.dir));
    // latest-report still answers the whole list (from the store).
    const rep = await get('/api/v1/health/latest-report');
    assert.equal(rep.status, 200);
    assert.equal(rep.body.violations.length, 4);
    const total = checkFiles(ctx.dir).reduce((n, f) => n + fs.statSync(path.join(ctx.dir, 'logs/integrity_checks', f)).size, 0);
    assert.ok(total <= 2600, `${total} bytes written today`);
  } finally {
    await ctx.stop();
  }
});

test('baselines and sync logs under retention; the current baseline always stays', async () => {
  const dir = freshDir('files-retention');
  lockstep(dir, ['demo']);
  for (let i = 0; i < 4; i++) lockstep(dir, ['baseline', 'create']);
  const bdir = path.join(dir, 'logs/baselines');
  const sdir = path.join(dir, 'logs/sync_jobs');
  const baselines = () => fs.readdirSync(bdir).filter((f) => /^baseline_.*\.json$/.test(f)).sort();
  const made = baselines();
  assert.equal(made.length, 4);
  const current = path.basename(sql(dir, 'SELECT file FROM baselines ORDER BY id DESC LIMIT 1'));
  assert.equal(current, made[3]);
  // A newer-named stray file: by name it is the newest, but the store's
  // latest baseline is what reports compare against.
  fs.writeFileSync(path.join(bdir, 'baseline_29991231_000000.json'), '{}');
  fs.mkdirSync(sdir, { recursive: true });
  fs.writeFileSync(path.join(sdir, '20200101_000000_sync.log'), '{}\n');
  fs.writeFileSync(path.join(sdir, '20200102_000000_sync.log'), '{}\n');
  const old = new Date(Date.now() - 400 * 86400 * 1000);
  for (const f of [...made, 'baseline_29991231_000000.json']) fs.utimesSync(path.join(bdir, f), old, old);
  fs.utimesSync(path.join(sdir, '20200101_000000_sync.log'), old, old);

  const srv = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '1', LOCKSTEP_SYNC_INTERVAL: '3600', LOCKSTEP_BASELINE_KEEP: '1' });
  try {
    await waitFor(() => baselines().length === 2, 10000);
  } finally {
    assert.equal(await stopServe(srv), 0);
  }
  assert.deepEqual(baselines(), [current, 'baseline_29991231_000000.json'].sort());
  assert.ok(fs.existsSync(path.join(bdir, 'BASELINE_README.md')));
  assert.equal(fs.existsSync(path.join(sdir, '20200101_000000_sync.log')), false, 'an old sync log is pruned');
  assert.ok(fs.existsSync(path.join(sdir, '20200102_000000_sync.log')), 'a recent one stays');
  assert.match(dayLog(dir), /Removed 3 baseline file\(s\) beyond the newest 1 and older than 365 days from logs\/baselines/);
});

test('a sync with nothing to repair writes no sync log', async () => {
  const ctx = await setupServer('files-noop');
  const post = (p, body) => request(ctx.url, 'POST', p, { token: ctx.adminToken, body });
  const logs = () => {
    const d = path.join(ctx.dir, 'logs/sync_jobs');
    return fs.existsSync(d) ? fs.readdirSync(d).filter((f) => f.endsWith('_sync.log')) : [];
  };
  try {
    const broken = new Set((await request(ctx.url, 'GET', '/api/v1/licenses/admin/sync/desync-issues', { token: ctx.adminToken })).body.map((i) => i.user_id));
    const fine = sql(ctx.dir, "SELECT id FROM users WHERE role = 'student' ORDER BY id").split('\n').map(Number).find((id) => !broken.has(id));
    for (let i = 0; i < 5; i++) {
      const r = await post(`/api/v1/licenses/admin/sync/user/${fine}/all`, {});
      assert.equal(r.status, 200);
      assert.equal(r.body.total_issues, 0);
    }
    assert.deepEqual(logs(), []);
    // A sync that repairs something still writes its log.
    const r = await post(`/api/v1/licenses/admin/sync/user/${[...broken][0]}/all`, {});
    assert.equal(r.body.synced_count, 1);
    assert.equal(logs().length, 1);
  } finally {
    await ctx.stop();
  }
});

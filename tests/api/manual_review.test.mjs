// manual_review.test.mjs — rows written behind Lockstep's back that no sync may
// touch: levels 0, -3, 99 and NULL (invalid_level), specializations missing from
// the specializations table (unknown_specialization) and two license rows for
// one pair (duplicate_rows). The check, the files, the API, the metrics and the
// baselines show them; sync (dry and real, CLI and API) and the enforcer leave
// them as they are and repair the rest. Runs on SQLite (the sqlite3 shell, whose
// foreign keys are off) and, under LOCKSTEP_TEST_PG, on PostgreSQL (psql, with
// the constraints dropped).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  BIN, PG, api, dbArgs, freshDir, lockstep, login, sql, startServe, stopServe,
} from './lib.mjs';

/** Run a verb; { status, out, err } whatever the exit code. */
function run(dir, args) {
  try {
    return { status: 0, out: execFileSync(BIN, ['--data-dir', dir, ...dbArgs(dir), ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString(), err: '' };
  } catch (e) {
    return { status: e.status, out: e.stdout.toString(), err: e.stderr.toString() };
  }
}

/** Take away the constraints another client could write around: the unique
 * (user, specialization) of user_licenses, NOT NULL of its level, and the
 * foreign keys to specializations. */
function looseTables(dir) {
  if (PG) {
    sql(dir, `DO $$ DECLARE c record; BEGIN
      FOR c IN SELECT conrelid::regclass AS t, conname FROM pg_constraint
        WHERE conrelid IN ('specialization_progress'::regclass, 'user_licenses'::regclass)
        AND ((contype = 'u' AND conrelid = 'user_licenses'::regclass) OR (contype = 'f' AND confrelid = 'specializations'::regclass))
      LOOP EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.t, c.conname); END LOOP; END $$;
      ALTER TABLE user_licenses ALTER COLUMN current_level DROP NOT NULL`);
    return;
  }
  // SQLite: a copy of the table without them, rows copied, swapped in.
  const create = sql(dir, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'user_licenses'");
  const loose = create
    .replace(/CREATE TABLE "?user_licenses"?/, 'CREATE TABLE user_licenses_loose')
    .replace(/,\s*UNIQUE\s*\(\s*user_id\s*,\s*specialization_type\s*\)/, '')
    .replace(/current_level INTEGER NOT NULL DEFAULT 1/, 'current_level INTEGER DEFAULT 1')
    .replace(/REFERENCES specializations\(id\)[^,]*,/g, ',');
  assert.ok(!/UNIQUE \(user_id/.test(loose), loose);
  const indexes = sql(dir, "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'user_licenses' AND sql IS NOT NULL")
    .split('\n').filter(Boolean);
  sql(dir, `PRAGMA foreign_keys = OFF; BEGIN; ${loose};
    INSERT INTO user_licenses_loose SELECT * FROM user_licenses; DROP TABLE user_licenses;
    ALTER TABLE user_licenses_loose RENAME TO user_licenses; ${indexes.map((s) => `${s};`).join(' ')} COMMIT`);
}

const rowsOf = (dir, table, key) => sql(dir, `SELECT * FROM ${table} ORDER BY ${key}`);
const snapshot = (dir) => ({
  progress: rowsOf(dir, 'specialization_progress', 'id'),
  licenses: rowsOf(dir, 'user_licenses', 'id'),
  progressions: rowsOf(dir, 'license_progressions', 'id'),
});
const keyOf = (v) => `${v.user_id}|${v.specialization}`;

test('invalid levels, unknown specializations and duplicate rows: shown everywhere, never repaired', async () => {
  const dir = freshDir('manual-review');
  const { password } = lockstep(dir, ['demo', '--users', '12', '--drift', '0']);
  const pairs = sql(dir, 'SELECT student_id, specialization_id, current_level FROM specialization_progress ORDER BY student_id, specialization_id')
    .split('\n').map((l) => { const [u, s, lv] = l.split('|'); return { user: Number(u), spec: s, level: Number(lv) }; });
  assert.ok(pairs.length >= 8, `${pairs.length} demo pairs`);
  const [a, b, c, d, f, g, host] = pairs;
  const max = Object.fromEntries(sql(dir, 'SELECT id, max_levels FROM specializations').split('\n').map((l) => l.split('|')).map(([k, v]) => [k, Number(v)]));
  looseTables(dir);
  const where = (p, t = 'user_licenses') => (t === 'user_licenses'
    ? `user_id = ${p.user} AND specialization_type = '${p.spec}'`
    : `student_id = ${p.user} AND specialization_id = '${p.spec}'`);
  const now = PG ? 'now()' : "'2026-01-01T00:00:00.000000Z'";
  sql(dir, `UPDATE user_licenses SET current_level = 99 WHERE ${where(a)}`);
  sql(dir, `UPDATE specialization_progress SET current_level = 0 WHERE ${where(b, 'progress')}`);
  sql(dir, `UPDATE user_licenses SET current_level = -3 WHERE ${where(c)}`);
  sql(dir, `INSERT INTO user_licenses(user_id, specialization_type, current_level, max_achieved_level, started_at, created_at, updated_at)
    VALUES (${d.user}, '${d.spec}', 1, 1, ${now}, ${now}, ${now})`);
  const fLevel = f.level > 1 ? f.level - 1 : f.level + 1; // an ordinary mismatch, repaired
  sql(dir, `UPDATE user_licenses SET current_level = ${fLevel} WHERE ${where(f)}`);
  sql(dir, `UPDATE user_licenses SET current_level = NULL WHERE ${where(g)}`);
  // Names not in specializations, before, between and after the others (bytewise).
  const progressRow = (spec, level) => `INSERT INTO specialization_progress(student_id, specialization_id, current_level, created_at, updated_at)
    VALUES (${host.user}, '${spec}', ${level}, ${now}, ${now})`;
  const licenseRow = (spec, level) => `INSERT INTO user_licenses(user_id, specialization_type, current_level, max_achieved_level, started_at, created_at, updated_at)
    VALUES (${host.user}, '${spec}', ${level}, ${level}, ${now}, ${now}, ${now})`;
  sql(dir, progressRow('GHOST', 2));
  sql(dir, licenseRow('GHOST', 2));
  sql(dir, progressRow('zeta', 2));
  sql(dir, licenseRow('AAA', 5));

  const expected = new Map([
    [keyOf({ user_id: a.user, specialization: a.spec }), ['invalid_level', a.level, 99]],
    [keyOf({ user_id: b.user, specialization: b.spec }), ['invalid_level', 0, b.level]],
    [keyOf({ user_id: c.user, specialization: c.spec }), ['invalid_level', c.level, -3]],
    [keyOf({ user_id: d.user, specialization: d.spec }), ['duplicate_rows', d.level, null]],
    [keyOf({ user_id: g.user, specialization: g.spec }), ['invalid_level', g.level, null]],
    [`${host.user}|GHOST`, ['unknown_specialization', 2, 2]],
    [`${host.user}|zeta`, ['unknown_specialization', 2, null]],
    [`${host.user}|AAA`, ['unknown_specialization', null, 5]],
    [keyOf({ user_id: f.user, specialization: f.spec }), ['level_mismatch', f.level, fLevel]],
  ]);
  function assertViolations(list, { withMismatch = true } = {}) {
    const got = new Map(list.map((v) => [keyOf(v), v]));
    const want = new Map([...expected].filter(([, [t]]) => withMismatch || t !== 'level_mismatch'));
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), 'one violation per pair, and only these');
    for (const [k, [type, pl, ll]] of want) {
      const v = got.get(k);
      assert.equal(v.issue_type, type, k);
      assert.equal(v.progress_level, pl, `${k} progress_level`);
      assert.equal(v.license_level, ll, `${k} license_level`);
      assert.equal(v.delta, pl !== null && ll !== null ? pl - ll : null, `${k} delta`);
      assert.equal(v.recommended_action, type === 'level_mismatch' ? 'sync_progress_to_license' : 'manual_review', k);
    }
  }

  // The check: every pair once (the duplicate too), the new types in the report and its file.
  const before = snapshot(dir);
  const checked = run(dir, ['check', '--json']);
  assert.ok([3, 4].includes(checked.status), checked.err);
  const report = JSON.parse(checked.out);
  assert.equal(report.total_checked, pairs.length + 3);
  assert.equal(report.inconsistent, expected.size);
  assertViolations(report.violations);
  const files = fs.readdirSync(path.join(dir, 'logs/integrity_checks')).filter((n) => n.endsWith('.json')).sort();
  const file = JSON.parse(fs.readFileSync(path.join(dir, 'logs/integrity_checks', files.at(-1)), 'utf8'));
  assertViolations(file.violations);
  assert.deepEqual(snapshot(dir), before, 'a check changes no domain row');

  // A baseline lists them for a person.
  lockstep(dir, ['baseline', 'create']);
  const known = fs.readFileSync(path.join(dir, 'logs/baselines/KNOWN_VIOLATIONS.md'), 'utf8');
  assert.match(known, new RegExp(`User ${a.user} \\| ${a.spec}: Progress Level ${a.level} vs License Level 99 \\(invalid_level: manual review\\)`));
  assert.match(known, new RegExp(`User ${d.user} \\| ${d.spec}: Progress Level ${d.level} vs License Level none \\(duplicate_rows: manual review\\)`));
  assert.match(known, new RegExp(`User ${host.user} \\| AAA: Progress Level none vs License Level 5 \\(unknown_specialization: manual review\\)`));

  // The dry-run sync lists them apart and changes nothing.
  const dry = JSON.parse(run(dir, ['sync', '--dry-run', '--json']).out);
  assert.equal(dry.total_issues, 1);
  assert.equal(dry.results[0].issue_type, 'level_mismatch');
  assert.equal(dry.manual_review_count, expected.size - 1);
  assertViolations(dry.manual_review.map((v) => ({ ...v })), { withMismatch: false });
  assert.deepEqual(snapshot(dir), before, 'a dry run changes nothing');

  const srv = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '3600', LOCKSTEP_SYNC_INTERVAL: '3600' });
  try {
    const token = await login(srv.url, 'admin@lockstep.local', password);
    const viol = await api(srv.url, token, 'GET', '/api/v1/health/violations?limit=100');
    assert.equal(viol.status, 200);
    assertViolations(viol.body);
    const status = await api(srv.url, token, 'GET', '/api/v1/health/status');
    assertViolations(status.body.violations);
    const metrics = await api(srv.url, token, 'GET', '/api/v1/health/metrics');
    assert.deepEqual(metrics.body.violations_by_type, {
      level_mismatch: 1, missing_license: 0, missing_progress: 0, invalid_level: 4, unknown_specialization: 3, duplicate_rows: 1,
    });
    const prom = await (await fetch(`${srv.url}/metrics`)).text();
    assert.match(prom, /^lockstep_violations\{issue_type="invalid_level"\} 4$/m);
    assert.match(prom, /^lockstep_violations\{issue_type="duplicate_rows"\} 1$/m);
    assert.match(prom, /^lockstep_violations\{issue_type="unknown_specialization"\} 3$/m);
    // A user's pairs: the duplicated one once, with its state.
    const prog = await api(srv.url, token, 'GET', `/api/v1/users/${d.user}/progress`);
    const states = prog.body.specializations.filter((s) => s.specialization === d.spec);
    assert.equal(states.length, 1);
    assert.equal(states[0].state, 'duplicate_rows');
    const hostPairs = await api(srv.url, token, 'GET', `/api/v1/users/${host.user}/progress`);
    assert.deepEqual(hostPairs.body.specializations.map((s) => s.specialization),
      [...hostPairs.body.specializations.map((s) => s.specialization)].sort((x, y) => (Buffer.from(x) < Buffer.from(y) ? -1 : 1)));
    assert.equal(hostPairs.body.specializations.find((s) => s.specialization === 'GHOST').state, 'unknown_specialization');

    // The enforcer: a level-up never counts from (or copies) a level out of range.
    const up = await api(srv.url, token, 'POST', `/api/v1/users/${b.user}/progress/${b.spec}/xp`, { xp_gained: 5000 });
    assert.equal(up.status, 422, JSON.stringify(up.body));
    assert.match(up.body.message, /outside its valid range .*manual review \(invalid_level\)/);
    const set = await api(srv.url, token, 'POST', `/api/v1/users/${a.user}/progress/${a.spec}/level`, { new_level: 99 });
    assert.equal(set.status, 422);
    assert.match(set.body.message, new RegExp(`Invalid level 99 for ${a.spec} \\(valid range: 1-${max[a.spec]}\\)`));
    // An API sync of the pair with license level 99: listed, not written.
    const one = await api(srv.url, token, 'POST', `/api/v1/licenses/admin/sync/user/${a.user}`, { specialization: a.spec, dry_run: false });
    assert.equal(one.status, 200, JSON.stringify(one.body));
    assert.equal(one.body.synced_count, 0);
    assert.equal(one.body.total_issues, 0);
    assert.equal(one.body.manual_review_count, 1);
    assert.equal(one.body.manual_review[0].license_level, 99);
    assert.deepEqual(snapshot(dir), before, 'the refused writes and the API sync changed nothing');
  } finally {
    await stopServe(srv);
  }

  // License wins: the 99 would be copied into progress; it is not.
  const licenseWins = run(dir, ['sync', '--json', '--direction', 'license_to_progress', '--user', String(a.user), '--spec', a.spec]);
  assert.equal(licenseWins.status, 0, licenseWins.err);
  const lw = JSON.parse(licenseWins.out);
  assert.equal(lw.synced_count, 0);
  assert.equal(lw.manual_review_count, 1);
  assert.equal(lw.manual_review[0].recommended_action, 'manual_review');
  assert.deepEqual(snapshot(dir), before, 'a license-wins sync over level 99 writes nothing');

  // The real sync repairs the mismatch only; every other row stays as it was.
  const synced = run(dir, ['sync', '--json']);
  assert.equal(synced.status, 0, synced.err);
  const result = JSON.parse(synced.out);
  assert.equal(result.synced_count, 1);
  assert.equal(result.failed_count, 0);
  assert.equal(result.manual_review_count, expected.size - 1);
  const after = snapshot(dir);
  assert.deepEqual(after.progress, before.progress);
  const changed = after.licenses.split('\n').filter((l) => !before.licenses.split('\n').includes(l));
  assert.equal(changed.length, 1, changed.join('\n'));
  assert.match(changed[0], new RegExp(`^\\d+\\|${f.user}\\|${f.spec}\\|${f.level}\\|`));
  assert.equal(sql(dir, `SELECT current_level FROM specialization_progress WHERE ${where(a, 'progress')}`), String(a.level));
  assert.equal(sql(dir, `SELECT current_level FROM user_licenses WHERE ${where(a)}`), '99', 'the 99 is not copied anywhere');
  assert.equal(sql(dir, 'SELECT count(*) FROM specialization_progress WHERE current_level > 8 OR current_level < 0'), '0');
  assert.equal(sql(dir, 'SELECT count(*) FROM license_progressions WHERE to_level > 8 OR to_level < 1'), '0');
  // The sync log names the pairs left for a person.
  const log = JSON.parse(fs.readFileSync(path.join(dir, result.log_file ?? sql(dir, 'SELECT log_file FROM sync_runs ORDER BY id DESC LIMIT 1')), 'utf8'));
  assert.equal(log.manual_review_count, expected.size - 1);

  // The next check: the same manual-review pairs, the mismatch gone; a second sync finds nothing to repair.
  const again = JSON.parse(run(dir, ['check', '--json']).out);
  assertViolations(again.violations, { withMismatch: false });
  const second = JSON.parse(run(dir, ['sync', '--json']).out);
  assert.equal(second.total_issues, 0);
  assert.deepEqual(snapshot(dir), after);
});

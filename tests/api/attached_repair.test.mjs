// attached_repair.test.mjs — attached mode on PostgreSQL with repair = on
// (attach.md, rules 3 and 4), black-box over the reference academy
// (tests/fixtures/academy): a writing role's sync repairs through the mapped
// columns only and leaves the manual_review pairs alone; progressions_table
// empty appends none; with exactly the GRANTs of docs/attach.md the pairs the
// academy's own audit trigger cannot follow fail with the database's reason;
// no write stores a level outside 1..max. Shares its helpers with
// attached.test.mjs (attached_lib.mjs); runs only with LOCKSTEP_TEST_PG.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PG, startServe, stopServe, login, api, request } from './lib.mjs';
import * as attached from './attached_lib.mjs';

let base;
let baseOracle;

before(() => {
  if (!PG) return;
  ({ base, baseOracle } = attached.loadBase());
});

function rowsByPair(url) {
  const read = (sql) => new Map(attached.q(url, sql).split('\n').filter(Boolean).map((l) => {
    const i = l.indexOf('\t');
    return [l.slice(0, i), JSON.parse(l.slice(i + 1))];
  }));
  return {
    progress: read(`SELECT student_id || '|' || specialization_id || E'\\t' || row_to_json(p)::text FROM specialization_progress p`),
    license: read(`SELECT user_id || '|' || specialization_type || E'\\t' || row_to_json(l)::text FROM user_licenses l`),
  };
}

test('repair = on with a writing role: sync repairs what it may, through the mapped columns only, and leaves manual_review pairs alone', { skip: attached.SKIP }, () => {
  const url = attached.createAcademy('repair', { template: base.split('/').pop() });
  const role = `academy_rw_${process.pid}`;
  attached.q(PG, `CREATE ROLE "${role}" LOGIN`);
  attached.made.roles.push(role);
  // Read everything; write the three tables a repair writes (and, for the
  // academy's own audit trigger on license levels, audit_logs).
  attached.q(url, `GRANT SELECT ON ALL TABLES IN SCHEMA public TO "${role}";
          GRANT INSERT, UPDATE ON specialization_progress, user_licenses, license_progressions, audit_logs TO "${role}";
          GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "${role}";
          CREATE SCHEMA lockstep; GRANT ALL ON SCHEMA lockstep TO "${role}"`);
  const before = attached.oracle(url);
  const rows = rowsByPair(url);
  const untouched = attached.snapshot(url);
  const progressionsBefore = Number(attached.q(url, 'SELECT max(id) FROM license_progressions'));
  const dir = attached.tmpDir('repair');
  const cfg = attached.writeConfig(dir, attached.pgUrl(new URL(url).pathname.slice(1), role), { domain: { repair: 'on' } });
  { const mg = attached.lockstep(cfg, ['migrate']); assert.equal(mg.code, 0, attached.show(mg)); }

  const dry = attached.lockstep(cfg, ['sync', '--dry-run', '--json']);
  assert.equal(dry.code, 0, attached.show(dry));
  attached.assertUnchanged(url, untouched, 'sync --dry-run with repair = on');

  const r = attached.lockstep(cfg, ['sync', '--json']);
  assert.ok(r.code === 0 || r.code === 1, attached.show(r));
  const result = JSON.parse(r.out);
  const repairable = before.pairs.filter((p) => ['level_mismatch', 'missing_license', 'missing_progress'].includes(p.issue_type));
  assert.equal(result.synced_count, repairable.length, `every repairable pair synced: ${r.out.slice(0, 2000)}`);

  // The oracle afterwards: nothing repairable left; the manual_review pairs as they were.
  const after = attached.oracle(url);
  for (const t of ['level_mismatch', 'missing_license', 'missing_progress']) assert.equal(after.summary[t], 0, t);
  const manual = (o) => o.pairs.filter((p) => attached.ACTION[p.issue_type] === 'manual_review');
  assert.deepEqual(manual(after), manual(before), 'the manual_review pairs are the same');
  assert.equal(after.summary.total_checked, before.summary.total_checked, 'no pair appeared or vanished');

  // Row by row: manual_review and consistent pairs untouched; repaired pairs
  // changed only in the mapped columns; no level outside 1..max.
  const now = rowsByPair(url);
  const issueOf = new Map(before.pairs.map((p) => [`${p.user_id}|${p.specialization}`, p.issue_type]));
  const LICENSE_MAPPED = ['current_level', 'max_achieved_level', 'started_at', 'updated_at'];
  const same = (a, b, except, what) => {
    for (const k of Object.keys(a)) if (!except.includes(k)) assert.deepEqual(b[k], a[k], `${what}: ${k}`);
  };
  // Progress wins: no existing progress row is written at all.
  for (const [k, p] of rows.progress)
    assert.deepEqual(now.progress.get(k), p, `progress ${k} (${issueOf.get(k) ?? 'consistent'}) untouched`);
  for (const [k, l] of rows.license) {
    const issue = issueOf.get(k);
    const n = now.license.get(k);
    if (issue === 'level_mismatch') {
      same(l, n, LICENSE_MAPPED.filter((c) => c !== 'started_at'), `license ${k}: only mapped columns`);
      assert.equal(n.current_level, rows.progress.get(k).current_level, `license ${k} at the progress level`);
      assert.equal(n.max_achieved_level, Math.max(l.max_achieved_level, n.current_level), `license ${k}: max achieved never goes down`);
    } else {
      assert.deepEqual(n, l, `license ${k} (${issue ?? 'consistent'}) untouched`);
    }
  }
  for (const p of repairable) {
    const k = `${p.user_id}|${p.specialization}`;
    const max = attached.LEVELS[p.specialization];
    if (p.issue_type === 'missing_license') {
      const n = now.license.get(k);
      assert.ok(n, `license ${k} created`);
      assert.equal(n.current_level, p.progress_level, `license ${k} at the progress level`);
      assert.equal(n.max_achieved_level, p.progress_level, `license ${k}: max achieved = level`);
      assert.ok(n.started_at, `license ${k}: started_at filled`);
      assert.equal(n.instructor_notes, null, `license ${k}: an unmapped column left to its default`);
      assert.equal(n.last_advanced_at, null, `license ${k}: an unmapped column left to its default`);
    }
    if (p.issue_type === 'missing_progress') {
      const n = now.progress.get(k);
      assert.ok(n, `progress ${k} created`);
      assert.equal(n.current_level, p.license_level, `progress ${k} at the license level`);
      for (const c of ['total_xp', 'completed_sessions', 'completed_projects', 'theory_hours_completed', 'practice_hours_completed', 'last_activity'])
        assert.equal(n[c], null, `progress ${k}: ${c} is not mapped, left to the table's default (none: NULL)`);
    }
    for (const side of ['progress', 'license']) {
      const lvl = now[side].get(k)?.current_level;
      assert.ok(lvl >= 1 && lvl <= max, `${side} ${k}: level ${lvl} within 1..${max}`);
    }
  }

  // Progressions: one per license level change, from the old level to the new, and only there.
  const appended = attached.q(url, `SELECT l.user_id || '|' || l.specialization_type, g.from_level, g.to_level, coalesce(g.advancement_reason, '')
                           FROM license_progressions g JOIN user_licenses l ON l.id = g.user_license_id
                           WHERE g.id > ${progressionsBefore}`).split('\n').filter(Boolean).map((x) => x.split('|'))
    .map(([u, s, from, to, reason]) => ({ key: `${u}|${s}`, from: Number(from), to: Number(to), reason }));
  const mismatched = repairable.filter((p) => p.issue_type === 'level_mismatch');
  for (const p of mismatched) {
    const k = `${p.user_id}|${p.specialization}`;
    const mine = appended.filter((a) => a.key === k);
    assert.equal(mine.length, 1, `one progression for ${k}`);
    assert.equal(mine[0].from, p.license_level);
    assert.equal(mine[0].to, p.progress_level);
    assert.match(mine[0].reason, /^Auto-sync from SpecializationProgress/);
  }
  for (const a of appended)
    assert.ok(['level_mismatch', 'missing_license'].includes(issueOf.get(a.key)), `a progression only for a repaired license (${a.key})`);

  // The academy's own trigger on license levels ran as it runs for the
  // application: its rows are in the academy's audit_logs (one per level
  // change), not in a table of Lockstep's that its unqualified name could
  // find through Lockstep's search_path.
  assert.equal(attached.q(url, "SELECT count(*) FROM public.audit_logs WHERE action = 'LICENSE_LEVEL_CHANGE'"), String(mismatched.length),
    'the academy\'s trigger wrote its audit rows to the academy\'s audit_logs');
  const foreign = attached.q(url, `SELECT string_agg(n.nspname || '.' || c.relname, ',') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                          WHERE n.nspname = 'lockstep' AND c.relname = 'audit_logs'`);
  if (foreign) assert.equal(attached.q(url, "SELECT count(*) FROM lockstep.audit_logs WHERE action = 'LICENSE_LEVEL_CHANGE'"), '0',
    'no row of the academy\'s trigger in Lockstep\'s own audit table');

  // The rest of the academy: users, specializations, schema unchanged.
  const s = attached.snapshot(url);
  assert.equal(s.dump, untouched.dump, 'the schema dump of public');
  for (const t of ['users', 'specializations', 'alembic_version']) assert.equal(s.rows[t], untouched.rows[t], t);

  // A check agrees with the oracle; a second sync finds nothing.
  const c = attached.lockstep(cfg, ['check', '--json']);
  attached.assertReport(JSON.parse(c.out), after, attached.emailsOf(url), 'check after sync');
  const again = attached.lockstep(cfg, ['sync', '--json']);
  assert.equal(JSON.parse(again.out).synced_count, 0, attached.show(again));
});

test('repair = on with progressions_table empty: the repairs happen, no progression is appended', { skip: attached.SKIP }, () => {
  const url = attached.createAcademy('noprog', { template: base.split('/').pop() });
  const dir = attached.tmpDir('noprog');
  const cfg = attached.writeConfig(dir, url, { domain: { repair: 'on', progressions_table: '' } });
  { const mg = attached.lockstep(cfg, ['migrate']); assert.equal(mg.code, 0, attached.show(mg)); }
  const before = attached.snapshot(url);
  const r = attached.lockstep(cfg, ['sync', '--json']);
  assert.ok(r.code === 0 || r.code === 1, attached.show(r));
  const after = attached.oracle(url);
  for (const t of ['level_mismatch', 'missing_license', 'missing_progress']) assert.equal(after.summary[t], 0, `${t}: ${r.out.slice(0, 1000)}`);
  const now = attached.snapshot(url);
  assert.equal(now.rows.license_progressions, before.rows.license_progressions, 'license_progressions untouched');
  const seq = (snap) => /license_progressions_id_seq=(\S+)/.exec(snap.seqs)[1];
  assert.equal(seq(now), seq(before), 'no progression id taken');
});

test('repair = on with the GRANTs of docs/attach.md only: the pairs the academy\'s audit trigger cannot follow fail with the database\'s reason, and change nothing', { skip: attached.SKIP }, () => {
  const url = attached.createAcademy('docgrants', { template: base.split('/').pop() });
  const role = `academy_doc_${process.pid}`;
  attached.q(PG, `CREATE ROLE "${role}" LOGIN`);
  attached.made.roles.push(role);
  // docs/attach.md, step 1 and "Repairs", word for word but the role's name.
  attached.q(url, `GRANT USAGE ON SCHEMA public TO "${role}";
          GRANT SELECT ON specialization_progress, user_licenses, license_progressions, users, specializations TO "${role}";
          CREATE SCHEMA lockstep AUTHORIZATION "${role}";
          GRANT INSERT, UPDATE ON specialization_progress, user_licenses TO "${role}";
          GRANT INSERT ON license_progressions TO "${role}";
          GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "${role}"`);
  const before = attached.oracle(url);
  const rows = rowsByPair(url);
  const snap = attached.snapshot(url);
  const dir = attached.tmpDir('docgrants');
  const cfg = attached.writeConfig(dir, attached.pgUrl(new URL(url).pathname.slice(1), role), { domain: { repair: 'on' } });
  { const mg = attached.lockstep(cfg, ['migrate']); assert.equal(mg.code, 0, attached.show(mg)); }
  const d = attached.lockstep(cfg, ['doctor']);
  assert.equal(d.code, 0, attached.show(d));

  // A license level change fires the academy's trigger, which writes
  // audit_logs as the role that changed the level: Lockstep's, without INSERT there.
  const r = attached.lockstep(cfg, ['sync', '--json']);
  assert.equal(r.code, 1, `a pair could not be repaired: ${attached.show(r)}`);
  const result = JSON.parse(r.out);
  const count = (t) => before.pairs.filter((p) => p.issue_type === t).length;
  assert.equal(result.failed_count, count('level_mismatch'), r.out.slice(0, 2000));
  assert.equal(result.synced_count, count('missing_license') + count('missing_progress'), r.out.slice(0, 2000));
  const failed = result.results.filter((x) => x.success === false);
  assert.equal(failed.length, count('level_mismatch'));
  for (const x of failed) {
    assert.equal(x.issue_type, 'level_mismatch', JSON.stringify(x));
    assert.match(x.error, /permission denied for table audit_logs/, JSON.stringify(x));
  }

  // The failed pairs changed nothing: their licenses as they were, no progression, no audit row.
  const after = attached.oracle(url);
  assert.deepEqual(after.pairs.filter((p) => p.issue_type === 'level_mismatch'), before.pairs.filter((p) => p.issue_type === 'level_mismatch'));
  assert.equal(after.summary.missing_license + after.summary.missing_progress, 0);
  const now = rowsByPair(url);
  for (const p of before.pairs.filter((x) => x.issue_type === 'level_mismatch')) {
    const k = `${p.user_id}|${p.specialization}`;
    assert.deepEqual(now.license.get(k), rows.license.get(k), `license ${k}`);
    assert.deepEqual(now.progress.get(k), rows.progress.get(k), `progress ${k}`);
  }
  const s2 = attached.snapshot(url);
  assert.equal(s2.rows.audit_logs, snap.rows.audit_logs, 'audit_logs untouched');
  assert.equal(s2.rows.users, snap.rows.users, 'users untouched');
  assert.equal(s2.dump, snap.dump, 'the schema dump of public');
});

test('repair = on: no write of Lockstep stores a level outside 1..max, nor on a track without a level count', { skip: attached.SKIP }, async () => {
  const url = attached.createAcademy('guard', { template: base.split('/').pop() });
  const dir = attached.tmpDir('guard');
  const cfg = attached.writeConfig(dir, url, { domain: { repair: 'on' } });
  { const mg = attached.lockstep(cfg, ['migrate']); assert.equal(mg.code, 0, attached.show(mg)); }
  const r = attached.lockstep(cfg, ['user', 'add', '--email', 'guard@lockstep.test', '--role', 'admin', '--password-stdin'],
    { input: 'guard-password-123\n' });
  assert.equal(r.code, 0, attached.show(r));
  const snap = attached.snapshot(url);
  const consistent = (spec) => attached.q(url, `SELECT p.student_id FROM specialization_progress p JOIN user_licenses l
    ON l.user_id = p.student_id AND l.specialization_type = p.specialization_id
    WHERE p.specialization_id = '${spec}' AND p.current_level = l.current_level ORDER BY 1 LIMIT 1`);
  const srv = await startServe(dir, { LOCKSTEP_CONFIG: cfg });
  try {
    const token = await login(srv.url, 'guard@lockstep.test', 'guard-password-123');
    for (const [spec, level] of [['PLAYER', 9], ['PLAYER', 0], ['PLAYER', -1], ['INTERNSHIP', 4], ['COACH', 9]]) {
      const u = consistent(spec);
      const res = await api(srv.url, token, 'POST', `/api/v1/users/${u}/progress/${spec}/level`, { new_level: level });
      assert.equal(res.status, 422, `${spec} level ${level}: ${JSON.stringify(res.body)}`);
    }
    const lfa = consistent('LFA_COACH');
    const res = await api(srv.url, token, 'POST', `/api/v1/users/${lfa}/progress/LFA_COACH/level`, { new_level: 1 });
    assert.ok(res.status >= 400 && res.status < 500, `LFA_COACH has no known maximum: ${res.status} ${JSON.stringify(res.body)}`);
    // An xp gain cannot lift a level past the maximum either.
    const top = attached.q(url, `SELECT p.student_id FROM specialization_progress p JOIN user_licenses l
      ON l.user_id = p.student_id AND l.specialization_type = p.specialization_id
      WHERE p.specialization_id = 'INTERNSHIP' AND p.current_level = 3 AND l.current_level = 3 ORDER BY 1 LIMIT 1`);
    const xp = await api(srv.url, token, 'POST', `/api/v1/users/${top}/progress/INTERNSHIP/xp`, { xp_gained: 100000 });
    assert.ok(xp.status < 500, JSON.stringify(xp.body));
    assert.equal(attached.q(url, `SELECT current_level FROM specialization_progress WHERE student_id = ${top} AND specialization_id = 'INTERNSHIP'`), '3');
    assert.equal(attached.q(url, `SELECT current_level FROM user_licenses WHERE user_id = ${top} AND specialization_type = 'INTERNSHIP'`), '3');
  } finally {
    assert.equal(await stopServe(srv), 0, srv.stderr());
  }
  const now = attached.snapshot(url);
  // Rows are "count md5 tuples": the content of these tables is what it was.
  for (const t of ['users', 'specializations', 'user_licenses', 'license_progressions'])
    assert.equal(now.rows[t].split(' ')[1], snap.rows[t].split(' ')[1], `${t}: nothing written`);
  assert.equal(attached.q(url, `SELECT count(*) FROM specialization_progress WHERE specialization_id IN ('PLAYER', 'COACH', 'INTERNSHIP')
    AND (current_level < 1 OR current_level > CASE specialization_id WHEN 'INTERNSHIP' THEN 3 ELSE 8 END)`), '3',
  'the seed\'s three out-of-range progress levels, no new one');
});

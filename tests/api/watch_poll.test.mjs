// watch_poll.test.mjs — [watch] mode = poll (watch.md) against the real binary,
// on the attached reference academy (tests/fixtures/academy, attach.md's facts):
// on PostgreSQL (its `timestamp` updated_at bumped by the academy's own
// trigger) a drift written by psql shows in /health/status within the poll
// and its repair too; a drift that leaves updated_at alone is not seen until
// a full sweep records it as a watch_divergence; the watermarks persist over
// a restart of serve (a change written while it was down is taken, not a
// divergence). On SQLite (text updated_at in an attached file) a drift and
// its repair. A mode = poll with an unmapped updated_at is refused before
// anything starts.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  healthStatus, msUntilStatus, sleep, startServe, stopServe, login, api, sweepFindsOneDivergence,
} from './lib.mjs';
import * as attached from './attached_lib.mjs';

const ADMIN = 'poll.admin@lockstep.test';
const PASSWORD = 'poll-admin-password-1';
const POLL = { LOCKSTEP_WATCH_MODE: 'poll' }; // the environment's key, as serve's others

const pairOf = (s, user, spec) => s.violations.find((v) => v.user_id === user && v.specialization === spec);

const status = healthStatus;
const msUntil = msUntilStatus;

/** serve on `cfg` in poll mode, logged in, once its full sweep at start is recorded
 * (one after `sweptBefore`, the last of an earlier serve). */
async function servePoll(dir, cfg, sweptBefore = null) {
  const srv = await startServe(dir, { LOCKSTEP_CONFIG: cfg, ...POLL });
  try {
    const token = await login(srv.url, ADMIN, PASSWORD);
    await msUntil(srv, token, (s) => s.watch?.last_full_sweep && s.watch.last_full_sweep !== sweptBefore);
    return { srv, token };
  } catch (e) {
    await stopServe(srv);
    throw e;
  }
}

/** migrate and a Lockstep login on `cfg`. */
function prepare(cfg) {
  const mg = attached.lockstep(cfg, ['migrate']);
  assert.equal(mg.code, 0, attached.show(mg));
  const add = attached.lockstep(cfg, ['user', 'add', '--email', ADMIN, '--role', 'admin', '--name', 'Poll Admin',
    '--password-stdin'], { input: `${PASSWORD}\n` });
  assert.equal(add.code, 0, attached.show(add));
}

/** A consistent pair of a track with 8 levels, at a level with room both ways. */
const CONSISTENT = `SELECT p.student_id, p.specialization_id, p.current_level FROM specialization_progress p
  JOIN user_licenses l ON l.user_id = p.student_id AND l.specialization_type = p.specialization_id
  AND l.current_level = p.current_level WHERE p.specialization_id IN ('PLAYER', 'COACH')
  AND p.current_level BETWEEN 2 AND 7 ORDER BY p.student_id DESC, p.specialization_id LIMIT 1 OFFSET `;

function pairFrom(row) {
  const [u, spec, level] = row.split('|');
  return { user: Number(u), spec, level: Number(level) };
}

const watchStatus = (cfg) => {
  const r = attached.lockstep(cfg, ['watch', 'status', '--json']);
  assert.equal(r.code, 0, attached.show(r));
  return JSON.parse(r.out);
};

describe('[watch] mode = poll on the attached academy on PostgreSQL', { skip: attached.SKIP }, () => {
  let template;
  before(() => {
    template = attached.createAcademy('pollbase').split('/').pop();
  });

  /** A copy of the academy with Lockstep migrated on it, mode poll in its config. */
  function academy(name) {
    const url = attached.createAcademy(name, { template });
    const dir = attached.tmpDir(name);
    const cfg = attached.writeConfig(dir, url);
    fs.appendFileSync(cfg, '[watch]\nmode = poll\n');
    prepare(cfg);
    return { url, dir, cfg };
  }
  const setLicense = (url, p, level, how = '') => attached.q(url, `${how}UPDATE user_licenses SET current_level = ${level}
    WHERE user_id = ${p.user} AND specialization_type = '${p.spec}'`);

  test('a drift that bumps updated_at shows within the poll; its repair by psql resolves it; no trigger installed', async () => {
    const { url, cfg, dir } = academy('polldrift');
    // The reference academy has no index on updated_at: doctor says what each poll then reads, and the fix.
    const doctor = attached.lockstep(cfg, ['doctor']);
    assert.equal(doctor.code, 0, attached.show(doctor));
    assert.match(doctor.out, /! watch\s+poll \(mapped updated_at specialization_progress\.updated_at and user_licenses\.updated_at\).*; no index leads with specialization_progress\.updated_at nor user_licenses\.updated_at, so each poll reads both tables whole/, attached.show(doctor));
    const fix = /fix: (CREATE INDEX specialization_progress_updated_at_idx ON specialization_progress \(updated_at\)); (CREATE INDEX user_licenses_updated_at_idx ON user_licenses \(updated_at\)) \(docs/.exec(doctor.out);
    assert.ok(fix, attached.show(doctor));
    attached.q(url, fix[2]); // the fix as doctor gives it, run by psql
    const one = attached.lockstep(cfg, ['doctor', '--json']);
    const point = JSON.parse(one.out).points.find((x) => x.name === 'watch');
    assert.equal(point.result, 'note', one.out);
    assert.match(point.message, /no index leads with specialization_progress\.updated_at, so each poll reads that table whole/, one.out);
    assert.equal(point.fix, `${fix[1]} (docs/attach.md, "Without triggers")`, one.out);
    attached.q(url, 'CREATE INDEX ON specialization_progress (updated_at, id)'); // any index led by the column
    const indexed = attached.lockstep(cfg, ['doctor']);
    assert.match(indexed.out, /✓ watch\s+poll \(mapped updated_at specialization_progress\.updated_at and user_licenses\.updated_at\)/, attached.show(indexed));
    assert.doesNotMatch(indexed.out, /no index leads/, attached.show(indexed));
    const { srv, token } = await servePoll(dir, cfg);
    try {
      assert.equal(attached.q(url, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'lockstep%'"), '0', 'poll needs no trigger');
      const before = await status(srv, token);
      assert.equal(before.watch.mode, 'poll');
      assert.match(before.watch.watermarks.license, /^20\d\d-/);
      const p = pairFrom(attached.q(url, `${CONSISTENT}0`));
      // The academy's trigger bumps updated_at (a timestamp without time zone) to now().
      setLicense(url, p, p.level + 1);
      const lag = await msUntil(srv, token, (s) => pairOf(s, p.user, p.spec)?.issue_type === 'level_mismatch');
      assert.ok(lag < 2000, `drift seen after ${lag} ms (poll every 250 ms)`);
      const s1 = await status(srv, token);
      assert.equal(s1.total_violations, before.total_violations + 1);
      assert.equal(s1.watch.watermarks.license, attached.q(url, 'SELECT max(updated_at)::text FROM user_licenses'));
      setLicense(url, p, p.level);
      const lag2 = await msUntil(srv, token, (s) => !pairOf(s, p.user, p.spec));
      assert.ok(lag2 < 2000, `repair seen after ${lag2} ms`);
      const s2 = await status(srv, token);
      assert.equal(s2.total_violations, before.total_violations);
      assert.equal(s2.watch.pending_changes, 0);
      const full = await api(srv.url, token, 'POST', '/api/v1/health/check-now?full=true');
      assert.equal(full.status, 200, JSON.stringify(full.body));
      assert.equal(full.body.divergences, 0, JSON.stringify(full.body.divergent_pairs));
    } finally {
      assert.equal(await stopServe(srv), 0, srv.stderr());
    }
  });

  test('a drift that leaves updated_at alone is not seen; the full sweep records the divergence and corrects the state', async () => {
    const { url, cfg, dir } = academy('pollquiet');
    const { srv, token } = await servePoll(dir, cfg);
    try {
      const p = pairFrom(attached.q(url, `${CONSISTENT}1`));
      const stamp = attached.q(url, `SELECT updated_at FROM user_licenses WHERE user_id = ${p.user} AND specialization_type = '${p.spec}'`);
      // The academy's own triggers off for this session: updated_at stays.
      setLicense(url, p, p.level - 1, 'SET session_replication_role = replica; ');
      assert.equal(attached.q(url, `SELECT updated_at FROM user_licenses WHERE user_id = ${p.user} AND specialization_type = '${p.spec}'`), stamp);
      await sleep(1000);
      assert.equal(pairOf(await status(srv, token), p.user, p.spec), undefined, 'nothing polled the change');
      await sweepFindsOneDivergence(srv, token, p.user, p.spec, 'level_mismatch');
    } finally {
      assert.equal(await stopServe(srv), 0, srv.stderr());
    }
  });

  test('restart of serve: the watermarks persist; a change written while it was down is taken, no divergence', async () => {
    const { url, cfg, dir } = academy('pollrestart');
    let { srv, token } = await servePoll(dir, cfg);
    const p = pairFrom(attached.q(url, `${CONSISTENT}2`));
    let marks;
    let swept;
    try {
      setLicense(url, p, p.level + 1);
      await msUntil(srv, token, (s) => pairOf(s, p.user, p.spec)?.issue_type === 'level_mismatch');
      swept = (await status(srv, token)).watch.last_full_sweep;
    } finally {
      assert.equal(await stopServe(srv), 0, srv.stderr());
    }
    marks = watchStatus(cfg);
    assert.equal(marks.mode, 'poll');
    assert.equal(marks.license_watermark, attached.q(url, 'SELECT max(updated_at)::text FROM user_licenses'));
    assert.match(attached.lockstep(cfg, ['watch', 'status']).out, /watermarks\s+progress 20\d\d-.*, license 20\d\d-/);
    // While serve is down: the pair repaired, another one drifts.
    setLicense(url, p, p.level);
    const q = pairFrom(attached.q(url, `${CONSISTENT}3`));
    setLicense(url, q, q.level + 1);
    ({ srv, token } = await servePoll(dir, cfg, swept));
    try {
      const s = await status(srv, token);
      assert.equal(pairOf(s, p.user, p.spec), undefined, 'the repair written while down');
      assert.equal(pairOf(s, q.user, q.spec)?.issue_type, 'level_mismatch', 'the drift written while down');
      assert.equal(s.watch.divergences_total, 0, 'taken by the poll before the sweep, not found by it');
      const after = watchStatus(cfg);
      assert.equal(after.license_watermark, attached.q(url, 'SELECT max(updated_at)::text FROM user_licenses'));
      assert.ok(after.license_watermark > marks.license_watermark);
    } finally {
      assert.equal(await stopServe(srv), 0, srv.stderr());
    }
  });
});

// ---------------------------------------------------------------------------
// SQLite: the academy's file attached, updated_at as text.

const FIXTURE = attached.FIXTURE;
// attached_lib removes its directories only on PostgreSQL runs: these are this file's.
const sqliteDirs = [];
process.on('exit', (code) => {
  if (code || process.exitCode || process.env.LOCKSTEP_TEST_KEEP) return;
  for (const d of sqliteDirs) fs.rmSync(d, { recursive: true, force: true });
});
function sqliteDir(name) {
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `lockstep-poll-${name}-`)));
  sqliteDirs.push(d);
  return d;
}
const SQLITE_LEVELS = { PLAYER: 8, COACH: 8, INTERNSHIP: 3, GK_A: 4, GKB: 4 };

/** sqlite3 on `file`, waiting for locks (Lockstep reads the file meanwhile). */
const sq = (file, query) => execFileSync('sqlite3', ['-batch', '-cmd', '.timeout 5000', file], { input: query })
  .toString().trim();

/** The academy on SQLite in a directory, Lockstep's own file in another; the config's path. */
function sqliteAcademy(name, domain = {}) {
  const file = path.join(sqliteDir(`${name}-academy`), 'academy.db');
  sq(file, fs.readFileSync(path.join(FIXTURE, 'sqlite-schema.sql'), 'utf8')
    + fs.readFileSync(path.join(FIXTURE, 'sqlite-seed.sql'), 'utf8'));
  const dir = sqliteDir(name);
  const lines = [`db = sqlite:${path.join(dir, 'lockstep.db')}`, `data_dir = ${dir}`, 'check_interval = 3600',
    '[domain]', 'source = attached', `database = ${file}`];
  for (const [k, v] of Object.entries(domain)) lines.push(`${k} = ${v}`);
  lines.push('[levels]', ...Object.entries(SQLITE_LEVELS).map(([k, v]) => `${k} = ${v}`), '[watch]', 'mode = poll');
  const cfg = path.join(dir, 'lockstep.ini');
  fs.writeFileSync(cfg, `${lines.join('\n')}\n`, { mode: 0o600 });
  return { file, dir, cfg };
}

test('attached SQLite academy, mode poll: a drift with a new updated_at shows within the poll, its repair too', async () => {
  const { file, dir, cfg } = sqliteAcademy('pollsqlite');
  prepare(cfg);
  const doctor = attached.lockstep(cfg, ['doctor']);
  assert.match(doctor.out, /! watch\s+poll .*; no index leads with specialization_progress\.updated_at nor user_licenses\.updated_at/, attached.show(doctor));
  // The fix as doctor gives it runs in the sqlite3 shell on the academy's file.
  const fix = /fix: (CREATE INDEX .*) \(docs\/attach\.md/.exec(doctor.out);
  assert.ok(fix, attached.show(doctor));
  sq(file, fix[1]);
  const indexed = attached.lockstep(cfg, ['doctor']);
  assert.match(indexed.out, /✓ watch\s+poll \(mapped updated_at/, attached.show(indexed));
  const { srv, token } = await servePoll(dir, cfg);
  try {
    const before = await status(srv, token);
    assert.match(before.watch.watermarks.progress, /^2025-/);
    const p = pairFrom(sq(file, `${CONSISTENT}0`));
    const write = (level) => sq(file, `UPDATE user_licenses SET current_level = ${level},
      updated_at = strftime('%Y-%m-%d %H:%M:%f000', 'now') WHERE user_id = ${p.user} AND specialization_type = '${p.spec}'`);
    write(p.level + 1);
    const lag = await msUntil(srv, token, (s) => pairOf(s, p.user, p.spec)?.issue_type === 'level_mismatch');
    assert.ok(lag < 2000, `drift seen after ${lag} ms`);
    assert.equal((await status(srv, token)).watch.watermarks.license, sq(file, 'SELECT max(updated_at) FROM user_licenses'));
    write(p.level);
    const lag2 = await msUntil(srv, token, (s) => !pairOf(s, p.user, p.spec));
    assert.ok(lag2 < 2000, `repair seen after ${lag2} ms`);
    assert.equal((await status(srv, token)).total_violations, before.total_violations);
  } finally {
    assert.equal(await stopServe(srv), 0, srv.stderr());
  }
});

test('mode = poll with an unmapped updated_at: refused with the key named, nothing started or created', () => {
  const { dir, cfg } = sqliteAcademy('pollrefused', { license_updated_at: '' });
  for (const args of [['serve', '--listen', '127.0.0.1:0'], ['migrate'], ['doctor']]) {
    const r = attached.lockstep(cfg, args);
    assert.notEqual(r.code, 0, attached.show(r));
    assert.match(r.err + r.out, /\[watch\] mode = poll needs \[domain\] license_updated_at/, attached.show(r));
  }
  assert.deepEqual(fs.readdirSync(dir), ['lockstep.ini'], 'no store, no log');
  // A mapped name that is not a column: named with its key and table when the store opens.
  const wrong = sqliteAcademy('pollcolumn', { progress_updated_at: 'touched_at' });
  const r = attached.lockstep(wrong.cfg, ['migrate']);
  assert.equal(r.code, 1, attached.show(r));
  assert.match(r.err, /\[domain\] progress_updated_at: no column touched_at in table specialization_progress/, attached.show(r));
});

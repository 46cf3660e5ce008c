// attached_sqlite.test.mjs — attached mode on SQLite (attach.md), black-box:
// Lockstep's store is its own SQLite file and the reference academy's SQLite
// database (tests/fixtures/academy/sqlite-*.sql: the schema a FastAPI +
// SQLAlchemy backend creates on SQLite, 3,000 users, drift, orphans both ways,
// NULL and out-of-range levels, a track without a level count, a NOCASE
// specialization column with tracks whose NOCASE order is not their byte
// order) is attached to it (`[domain] database = PATH`). `migrate`, `check`,
// `check --dry-run`, `doctor`, `serve` (status, metrics, jobs, sync refused),
// `sync`, baselines, the stabilization report and the trend run on it; the
// figures equal the independent SQL oracle (sqlite-expected.sql) pair by
// pair; the academy's file is byte-for-byte what it was (sha256) and no
// journal appears beside it. With `repair = on` (on a copy): sync repairs what
// it may through the mapped columns only, leaves manual_review pairs alone,
// and a NOT NULL column it cannot fill fails those pairs with SQLite's reason.
// Errors: a missing academy file, a wrong mapped column.
//
// Always SQLite, also under LOCKSTEP_TEST_PG (scripts/pg-test): the store is
// named by the config file's `db = sqlite:…`, never by the harness.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, startServe, stopServe, login, api, request } from './lib.mjs';

const FIXTURE = fileURLToPath(new URL('../fixtures/academy/', import.meta.url));
/** The level counts of the academy's config files (attach.md), and two tracks for the ordering case. */
const LEVELS = { PLAYER: 8, COACH: 8, INTERNSHIP: 3, GK_A: 4, GKB: 4 };
const REPAIRS_OFF = 'repairs are off for the attached database (domain.repair = off)';
const ISSUE_TYPES = ['level_mismatch', 'missing_license', 'missing_progress', 'invalid_level',
  'unknown_specialization', 'duplicate_rows'];
const REPAIRABLE = ['level_mismatch', 'missing_license', 'missing_progress'];
const ACTION = {
  level_mismatch: 'sync_progress_to_license', // the default direction, progress_to_license
  missing_license: 'create_license_from_progress',
  missing_progress: 'create_progress_from_license',
  invalid_level: 'manual_review',
  unknown_specialization: 'manual_review',
  duplicate_rows: 'manual_review',
};
/** The columns a repair may write (attach.md's default mapping). */
const MAPPED = {
  specialization_progress: ['student_id', 'specialization_id', 'current_level', 'updated_at'],
  user_licenses: ['user_id', 'specialization_type', 'current_level', 'max_achieved_level', 'started_at', 'updated_at'],
};

// ---------------------------------------------------------------------------
// Directories: removed when every test passed; kept after a failure or with LOCKSTEP_TEST_KEEP.

const dirs = [];
process.on('exit', (code) => {
  if (code || process.exitCode || process.env.LOCKSTEP_TEST_KEEP) return;
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function tmpDir(name) {
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `lockstep-attached-sqlite-${name}-`)));
  dirs.push(d);
  return d;
}

/** sqlite3 on `file` (read-only unless `write`); rows as `a|b` lines. */
function sq(file, query, { write = false, cmd } = {}) {
  const args = ['-batch', ...(write ? [] : ['-readonly']), ...(cmd ? ['-cmd', cmd] : []), file];
  return execFileSync('sqlite3', args, { input: query, maxBuffer: 256 << 20 }).toString().trim();
}

/** A new academy file: the reference schema and seed, in a directory of its own. */
function createAcademy(name) {
  const d = tmpDir(`academy-${name}`);
  const file = path.join(d, 'academy.db');
  sq(file, fs.readFileSync(path.join(FIXTURE, 'sqlite-schema.sql'), 'utf8')
    + fs.readFileSync(path.join(FIXTURE, 'sqlite-seed.sql'), 'utf8'), { write: true });
  return file;
}
/** A copy of an academy file in a directory of its own. */
function copyAcademy(file, name) {
  const copy = path.join(tmpDir(`academy-${name}`), 'academy.db');
  fs.copyFileSync(file, copy);
  return copy;
}

const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
/** What lies beside the academy's file: only itself (no -wal, -shm or -journal). */
const beside = (file) => fs.readdirSync(path.dirname(file)).sort();

/**
 * The oracle (sqlite-expected.sql) on `file`: the summary {total_checked,
 * consistent, inconsistent, <issue type>…, consistency_rate} and the
 * inconsistent pairs {user_id, specialization, issue_type, progress_level, license_level}.
 */
function oracle(file, levels = LEVELS) {
  const values = Object.entries(levels).map(([s, m]) => `('${s}', ${m})`).join(', ');
  const out = sq(file, fs.readFileSync(path.join(FIXTURE, 'sqlite-expected.sql'), 'utf8'), {
    cmd: `CREATE TEMP TABLE levels (spec TEXT PRIMARY KEY, max_level INTEGER NOT NULL); INSERT INTO levels VALUES ${values};`,
  });
  const summary = {};
  const pairs = [];
  const lvl = (s) => (s === '' ? null : Number(s));
  for (const line of out.split('\n')) {
    const f = line.split('|');
    if (f[0] === 'pair') pairs.push({ user_id: Number(f[1]), specialization: f[2], issue_type: f[3], progress_level: lvl(f[4]), license_level: lvl(f[5]) });
    else summary[f[0]] = Number(f[1]);
  }
  summary.consistency_rate = summary.total_checked
    ? Math.round((summary.consistent / summary.total_checked) * 10000) / 100 : 100;
  return { summary, pairs };
}

const exitFor = (rate) => (rate >= 99 ? 0 : rate >= 95 ? 3 : 4);
const statusFor = (rate) => (rate >= 99 ? 'healthy' : rate >= 95 ? 'degraded' : 'critical');

/** The caller's environment without any Lockstep setting (LOCKSTEP_BIN and the test's own stay). */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('LOCKSTEP_') || k === 'LOCKSTEP_BIN' || k.startsWith('LOCKSTEP_TEST')) env[k] = v;
  return { ...env, ...extra };
}

/** A config file: Lockstep's SQLite store in `dir`, the academy `file` attached. */
function writeConfig(dir, file, { domain = {}, levels = LEVELS } = {}) {
  const lines = [`db = sqlite:${path.join(dir, 'lockstep.db')}`, `data_dir = ${dir}`, 'check_interval = 3600',
    '[domain]', 'source = attached', `database = ${file}`];
  for (const [k, v] of Object.entries(domain)) lines.push(`${k} = ${v}`);
  lines.push('[levels]');
  for (const [k, v] of Object.entries(levels)) lines.push(`${k} = ${v}`);
  const cfg = path.join(dir, 'lockstep.ini');
  fs.writeFileSync(cfg, `${lines.join('\n')}\n`, { mode: 0o600 });
  return cfg;
}

/** `lockstep --config FILE ARGS…`; {code, out, err}. */
function lockstep(cfg, args, { input } = {}) {
  const r = spawnSync(BIN, ['--config', cfg, ...args], { env: cleanEnv(), encoding: 'utf8', input, maxBuffer: 256 << 20 });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}
const show = (r) => `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\nstdout: ${r.out.slice(0, 3000)}\nstderr: ${r.err.slice(0, 3000)}`;

function emailsOf(file) {
  return new Map(sq(file, 'SELECT id, email FROM users').split('\n').map((l) => {
    const [id, email] = l.split('|');
    return [Number(id), email];
  }));
}

/** A check report (or a status's violations) against the oracle, figure by figure and pair by pair. */
function assertReport(report, expected, emails, what) {
  const { summary, pairs } = expected;
  assert.equal(report.total_checked, summary.total_checked, `${what}: total_checked`);
  assert.equal(report.consistent, summary.consistent, `${what}: consistent`);
  assert.equal(report.inconsistent, summary.inconsistent, `${what}: inconsistent`);
  assert.equal(report.consistency_rate, summary.consistency_rate, `${what}: consistency_rate`);
  assert.equal(report.status, statusFor(summary.consistency_rate), `${what}: status`);
  assertViolations(report.violations, expected, emails, what);
}

function assertViolations(violations, { summary, pairs }, emails, what) {
  const counts = Object.fromEntries(ISSUE_TYPES.map((t) => [t, 0]));
  for (const v of violations) counts[v.issue_type] = (counts[v.issue_type] ?? 0) + 1;
  assert.deepEqual(counts, Object.fromEntries(ISSUE_TYPES.map((t) => [t, summary[t]])), `${what}: violations per issue type`);
  const key = (v) => `${v.user_id}|${v.specialization}|${v.issue_type}`;
  assert.deepEqual(violations.map(key).sort(), pairs.map(key).sort(), `${what}: the inconsistent pairs and their issue types`);
  const byKey = new Map(pairs.map((p) => [key(p), p]));
  for (const v of violations) {
    const p = byKey.get(key(v));
    assert.equal(v.recommended_action, ACTION[v.issue_type], `${what}: action of ${key(v)}`);
    assert.equal(v.user_email, emails.get(v.user_id), `${what}: e-mail of ${key(v)} (the academy's, as stored)`);
    if (v.issue_type === 'duplicate_rows') continue; // which row's level is shown is not fixed
    assert.equal(v.progress_level, p.progress_level, `${what}: progress_level of ${key(v)}`);
    assert.equal(v.license_level, p.license_level, `${what}: license_level of ${key(v)}`);
    const delta = p.progress_level !== null && p.license_level !== null ? p.progress_level - p.license_level : null;
    assert.equal(v.delta, delta, `${what}: delta of ${key(v)}`);
  }
}

// ---------------------------------------------------------------------------
// The reference academy, built once; each test works on its own copy.

let base;
let baseOracle;
before(() => {
  base = createAcademy('base');
  baseOracle = oracle(base);
});

test('the fixture: attach.md\'s facts on SQLite, and the oracle on its deliberate cases', () => {
  assert.equal(sq(base, "SELECT count(*) FROM pragma_table_info('users')"), '28');
  assert.equal(sq(base, "SELECT group_concat(name, ',') FROM pragma_table_info('specializations')"), 'id,is_active,created_at');
  assert.equal(sq(base, "SELECT \"notnull\" || ':' || (dflt_value IS NULL) FROM pragma_table_info('users') WHERE name = 'payment_verified'"), '1:1',
    'payment_verified NOT NULL without default');
  assert.equal(sq(base, "SELECT group_concat(name || ':' || \"notnull\", ',') FROM pragma_table_info('specialization_progress') WHERE name IN ('current_level', 'total_xp')"),
    'current_level:0,total_xp:0');
  assert.equal(sq(base, "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('user_licenses') WHERE \"notnull\" AND dflt_value IS NULL AND NOT pk ORDER BY name)"),
    'current_level,max_achieved_level,specialization_type,started_at,user_id');
  assert.equal(sq(base, "SELECT count(*) FROM pragma_index_list('specialization_progress') WHERE \"unique\" AND origin <> 'pk'"), '2',
    'the pair unique twice');
  assert.match(sq(base, "SELECT sql FROM sqlite_master WHERE name = 'specialization_progress'"), /specialization_id VARCHAR\(50\) NOT NULL COLLATE NOCASE/);
  assert.equal(sq(base, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"), '1', 'the application\'s own trigger');
  assert.equal(sq(base, 'SELECT count(*) FROM users'), '3000');
  assert.equal(sq(base, "SELECT group_concat(DISTINCT role) FROM (SELECT role FROM users ORDER BY role)"), 'ADMIN,INSTRUCTOR,STUDENT');
  assert.ok(Number(sq(base, 'SELECT count(*) FROM users WHERE email <> lower(email)')) > 1000, 'mixed-case e-mails');
  assert.equal(sq(base, 'SELECT count(*) FROM specialization_progress WHERE current_level IS NULL'), '3');
  // The ordering pitfall: under the column's NOCASE collation GK_A sorts first, bytewise GKB does.
  assert.equal(sq(base, "SELECT group_concat(s, ',') FROM (SELECT DISTINCT specialization_id AS s FROM specialization_progress WHERE s LIKE 'GK%' ORDER BY s)"), 'GK_A,GKB');
  assert.equal(sq(base, "SELECT group_concat(s, ',') FROM (SELECT DISTINCT specialization_id AS s FROM specialization_progress WHERE s LIKE 'GK%' ORDER BY s COLLATE BINARY)"), 'GKB,GK_A');

  const { summary, pairs } = baseOracle;
  const issue = (k) => pairs.find((p) => `${p.user_id}|${p.specialization}` === k)?.issue_type;
  const keys = (query) => sq(base, query).split('\n').filter(Boolean);
  for (const k of keys("SELECT student_id || '|' || specialization_id FROM specialization_progress WHERE current_level IS NULL"))
    assert.equal(issue(k), 'invalid_level', `${k}: a NULL progress level with its license is invalid_level, not missing_progress`);
  for (const k of keys("SELECT student_id || '|' || specialization_id FROM specialization_progress WHERE specialization_id = 'INTERNSHIP' AND current_level > 3"))
    assert.equal(issue(k), 'invalid_level', `${k}: INTERNSHIP above 3`);
  for (const k of keys("SELECT student_id || '|' || specialization_id FROM specialization_progress WHERE specialization_id = 'COACH' AND current_level = 9"))
    assert.equal(issue(k), 'invalid_level', `${k}: equal levels outside 1..8`);
  for (const k of keys("SELECT user_id || '|' || specialization_type FROM user_licenses WHERE specialization_type = 'LFA_COACH'"))
    assert.equal(issue(k), 'unknown_specialization', `${k}: a track without a level count`);
  assert.equal(issue(sq(base, "SELECT user_id || '|' || specialization_type FROM user_licenses WHERE current_level = 0")), 'invalid_level');
  assert.ok(pairs.some((p) => p.specialization === 'GK_A' && p.issue_type === 'missing_license'));
  assert.ok(pairs.some((p) => p.specialization === 'GKB' && p.issue_type === 'missing_progress'));
  assert.deepEqual(summary, {
    total_checked: 5255, consistent: 4887, inconsistent: 368, level_mismatch: 113, missing_license: 118,
    missing_progress: 124, invalid_level: 7, unknown_specialization: 6, duplicate_rows: 0, consistency_rate: 93,
  }, 'the fixture as sqlite-seed.sql makes it');
  // The oracle only read.
  assert.deepEqual(beside(base), ['academy.db']);
});

describe('Lockstep attached to the reference academy on SQLite (repair = off)', () => {
  let file;
  let dir;
  let cfg;
  let hash;
  let emails;
  const ADMIN_EMAIL = 'Ops.Admin@Lockstep.test';
  const ADMIN_PASSWORD = 'attached-admin-password-1';

  before(() => {
    file = copyAcademy(base, 'main');
    dir = tmpDir('main');
    cfg = writeConfig(dir, file);
    emails = emailsOf(file);
    hash = sha256(file);
  });
  const assertUntouched = (what) => {
    assert.equal(sha256(file), hash, `${what}: the academy's file changed`);
    assert.deepEqual(beside(file), ['academy.db'], `${what}: nothing beside the academy's file (no journal, no WAL)`);
  };

  test('migrate: Lockstep\'s own file only, no domain table in it', () => {
    const r = lockstep(cfg, ['migrate']);
    assert.equal(r.code, 0, show(r));
    assertUntouched('migrate');
    const store = path.join(dir, 'lockstep.db');
    assert.ok(fs.existsSync(store), 'Lockstep\'s store file');
    const tables = sq(store, "SELECT name FROM sqlite_master WHERE type = 'table'").split('\n');
    assert.ok(tables.includes('schema_migrations'), tables.join(','));
    for (const t of ['specializations', 'specialization_progress', 'user_licenses', 'license_progressions'])
      assert.ok(!tables.includes(t), `no copy of ${t} in Lockstep's file`);
    const again = lockstep(cfg, ['migrate']);
    assert.equal(again.code, 0, show(again));
    assertUntouched('migrate (twice)');
  });

  test('check --json: the oracle\'s figures pair by pair, bytewise merge over a NOCASE column; exit by status', () => {
    const r = lockstep(cfg, ['check', '--json']);
    assert.equal(r.code, exitFor(baseOracle.summary.consistency_rate), show(r));
    assertReport(JSON.parse(r.out), baseOracle, emails, 'check');
    assertUntouched('check');
  });

  test('check --dry-run: the same figures, nothing written', () => {
    const history = sq(path.join(dir, 'lockstep.db'), 'SELECT count(*) FROM sqlite_master');
    const r = lockstep(cfg, ['check', '--dry-run', '--json']);
    assert.equal(r.code, exitFor(baseOracle.summary.consistency_rate), show(r));
    assertReport(JSON.parse(r.out), baseOracle, emails, 'check --dry-run');
    const { consistent, total_checked: total, inconsistent } = baseOracle.summary;
    const plain = lockstep(cfg, ['check', '--dry-run']);
    assert.equal(plain.code, exitFor(baseOracle.summary.consistency_rate), show(plain));
    assert.match(plain.out, new RegExp(`\\(${consistent}/${total} consistent, ${inconsistent} inconsistent\\)`), show(plain));
    assert.equal(sq(path.join(dir, 'lockstep.db'), 'SELECT count(*) FROM sqlite_master'), history);
    assertUntouched('check --dry-run');
  });

  test('doctor: every point holds (exit 0), the attached points with their figures; --json; nothing changed', () => {
    const r = lockstep(cfg, ['doctor']);
    assert.equal(r.code, 0, show(r));
    assert.doesNotMatch(r.out, /^✗/m, r.out);
    const j = lockstep(cfg, ['doctor', '--json']);
    assert.equal(j.code, 0, show(j));
    const doc = JSON.parse(j.out);
    assert.equal(doc.ok, true, j.out);
    const point = (name) => doc.points.filter((p) => p.name === name);
    assert.match(JSON.stringify(point('attached')), new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), j.out);
    const progressRows = sq(file, 'SELECT count(*) FROM specialization_progress');
    const licenseRows = sq(file, 'SELECT count(*) FROM user_licenses');
    assert.match(JSON.stringify(point('rows')), new RegExp(`${progressRows} progress rows, ${licenseRows} license rows`), j.out);
    assert.equal(point('pair_key').length, 2, j.out);
    assert.ok(point('pair_key').every((p) => p.result === 'ok'), `both tables unique on the pair: ${j.out}`);
    // LFA_COACH, GANCUJU_PLAYER and LFA_FOOTBALL_PLAYER have no [levels] line.
    assert.match(JSON.stringify(point('levels')), /LFA_COACH/, j.out);
    assertUntouched('doctor');
  });

  test('doctor: the not_null point on SQLite as on PostgreSQL (docs/attach.md: the same points except privileges)', () => {
    const j = lockstep(cfg, ['doctor', '--json']);
    const doc = JSON.parse(j.out);
    // The NOT NULL columns without a default that a repair would have to fill:
    // none here (a repair fills each of user_licenses'); only information while repairs are off.
    const nn = doc.points.filter((p) => p.name === 'not_null');
    assert.equal(nn.length, 1, `doctor has the not_null point: ${j.out}`);
    assert.equal(nn[0].result, 'ok', j.out);
    assertUntouched('doctor');
  });

  test('user add: a Lockstep login in Lockstep\'s file; the academy\'s users untouched; e-mails match case-insensitively', () => {
    const r = lockstep(cfg, ['user', 'add', '--email', ADMIN_EMAIL, '--role', 'admin', '--name', 'Ops Admin', '--password-stdin'],
      { input: `${ADMIN_PASSWORD}\n` });
    assert.equal(r.code, 0, show(r));
    assertUntouched('user add');
    const twice = lockstep(cfg, ['user', 'add', '--email', ADMIN_EMAIL.toUpperCase(), '--role', 'admin', '--password-stdin'],
      { input: `${ADMIN_PASSWORD}\n` });
    assert.notEqual(twice.code, 0, `the same e-mail in other case is the same account: ${show(twice)}`);
    const list = lockstep(cfg, ['user', 'list']);
    assert.equal(list.code, 0, show(list));
    assert.match(list.out, /ops\.admin@lockstep\.test/i, show(list));
    assert.doesNotMatch(list.out, /academy\.example|gmail\.com|example\.org/i, 'the academy\'s users are no Lockstep logins');
    const academyAdmin = sq(file, "SELECT email FROM users WHERE role = 'ADMIN' ORDER BY id LIMIT 1");
    const pw = lockstep(cfg, ['user', 'passwd', '--email', academyAdmin], { input: 'a-new-password-123\n' });
    assert.equal(pw.code, 1, `an academy account is not Lockstep's to change: ${show(pw)}`);
    assertUntouched('user list, user passwd');
  });

  test('baseline create, report stabilization, trend: the oracle\'s figures; the academy untouched', () => {
    const b = lockstep(cfg, ['baseline', 'create', '--json']);
    assert.equal(b.code, 0, show(b));
    const baseline = JSON.parse(b.out);
    assert.equal(baseline.total_checked, baseOracle.summary.total_checked, b.out.slice(0, 500));
    assert.equal(baseline.inconsistent, baseOracle.summary.inconsistent);
    assert.equal(baseline.consistency_rate, baseOracle.summary.consistency_rate);
    const known = fs.readFileSync(path.join(dir, 'logs/baselines/KNOWN_VIOLATIONS.md'), 'utf8');
    const nul = baseOracle.pairs.find((p) => p.issue_type === 'invalid_level' && p.progress_level === null);
    assert.match(known, new RegExp(`User ${nul.user_id} \\| ${nul.specialization}: .*invalid_level: manual review`), known.slice(0, 2000));
    const show1 = lockstep(cfg, ['baseline', 'show', '--json']);
    assert.equal(show1.code, 0, show(show1));
    const shown = JSON.parse(show1.out);
    assertViolations(shown.violations, baseOracle, emails, 'baseline show');

    // Two recorded checks, no scheduler run yet: INSUFFICIENT_DATA (exit 6), over the academy's figures.
    const rep = lockstep(cfg, ['report', 'stabilization', '--format', 'json']);
    assert.equal(rep.code, 6, show(rep));
    const report = JSON.parse(rep.out);
    assert.equal(report.decision, 'INSUFFICIENT_DATA', rep.out.slice(0, 2000));
    assert.match(JSON.stringify(report), new RegExp(`"baseline":${baseOracle.summary.inconsistent}\\b`), rep.out.slice(0, 3000));
    assert.match(JSON.stringify(report), new RegExp(`"current":${baseOracle.summary.inconsistent}\\b`), rep.out.slice(0, 3000));
    const md = lockstep(cfg, ['report', 'stabilization']);
    assert.equal(md.code, 6, show(md));
    assert.match(md.out, /93(\.00)?\s?%/, md.out.slice(0, 3000));

    const tr = lockstep(cfg, ['trend', '--json']);
    assert.equal(tr.code, 0, show(tr));
    const trend = JSON.parse(tr.out);
    assert.ok(trend.count >= 2, tr.out.slice(0, 1000));
    assert.equal(trend.last.consistency_rate ?? trend.last, baseOracle.summary.consistency_rate, tr.out.slice(0, 1000));
    assertUntouched('baseline, report, trend');
  });

  test('serve: status and metrics agree with the oracle, sync refused (409), auto-sync disabled, logins case-insensitive', async () => {
    const srv = await startServe(dir, { LOCKSTEP_CONFIG: cfg });
    try {
      const token = await login(srv.url, ADMIN_EMAIL.toLowerCase(), ADMIN_PASSWORD);
      await login(srv.url, ADMIN_EMAIL.toUpperCase(), ADMIN_PASSWORD);
      const academyAdmin = sq(file, "SELECT email FROM users WHERE role = 'ADMIN' ORDER BY id LIMIT 1");
      const denied = await request(srv.url, 'POST', '/api/v1/auth/login', { body: { email: academyAdmin, password: 'password' } });
      assert.equal(denied.status, 401, 'an academy account is no Lockstep login');

      // The checks recorded so far (check, baseline) are over the academy.
      const status = await api(srv.url, token, 'GET', '/api/v1/health/status');
      assert.equal(status.status, 200, JSON.stringify(status.body));
      assert.equal(status.body.status, statusFor(baseOracle.summary.consistency_rate));
      assert.equal(status.body.consistency_rate, baseOracle.summary.consistency_rate);
      assert.equal(status.body.total_violations, baseOracle.summary.inconsistent);
      assert.equal(status.body.violations.length, Math.min(100, baseOracle.summary.inconsistent));
      assert.equal(status.body.violations_truncated, baseOracle.summary.inconsistent > 100);
      const all = await api(srv.url, token, 'GET', '/api/v1/health/violations?limit=1000');
      assert.equal(all.status, 200, JSON.stringify(all.body));
      assertViolations(all.body, baseOracle, emails, '/health/violations');

      const now = await api(srv.url, token, 'POST', '/api/v1/health/check-now');
      assert.ok(now.status === 200 || now.status === 202, JSON.stringify(now.body));
      const metrics = await api(srv.url, token, 'GET', '/api/v1/health/metrics');
      assert.equal(metrics.status, 200, JSON.stringify(metrics.body));
      assert.deepEqual(metrics.body.violations_by_type, Object.fromEntries(ISSUE_TYPES.map((t) => [t, baseOracle.summary[t]])),
        JSON.stringify(metrics.body));

      const sync = await api(srv.url, token, 'POST', '/api/v1/licenses/admin/sync/all', { dry_run: false });
      assert.equal(sync.status, 409, JSON.stringify(sync.body));
      assert.ok(sync.body.detail.includes(REPAIRS_OFF), sync.body.detail);
      const mismatch = baseOracle.pairs.find((p) => p.issue_type === 'level_mismatch');
      const one = await api(srv.url, token, 'POST', `/api/v1/licenses/admin/sync/user/${mismatch.user_id}`,
        { specialization: mismatch.specialization });
      assert.equal(one.status, 409, JSON.stringify(one.body));
      assert.ok(one.body.detail.includes(REPAIRS_OFF), one.body.detail);
      const level = await api(srv.url, token, 'POST', `/api/v1/users/${mismatch.user_id}/progress/${mismatch.specialization}/level`,
        { new_level: 2 });
      assert.equal(level.status, 409, JSON.stringify(level.body));
      const dry = await api(srv.url, token, 'POST', '/api/v1/licenses/admin/sync/all', { dry_run: true });
      assert.equal(dry.status, 200, JSON.stringify(dry.body));
      assert.equal(dry.body.dry_run, true);
      assert.equal(dry.body.total_issues, baseOracle.pairs.filter((p) => REPAIRABLE.includes(p.issue_type)).length, JSON.stringify(dry.body).slice(0, 500));

      const jobs = await api(srv.url, token, 'GET', '/api/v1/health/jobs');
      assert.equal(jobs.status, 200, JSON.stringify(jobs.body));
      const autoSync = jobs.body.find((j) => j.id === 'progress_license_sync');
      assert.ok(autoSync, JSON.stringify(jobs.body));
      assert.equal(autoSync.enabled, false, JSON.stringify(autoSync));
      assert.equal(autoSync.disabled_reason, REPAIRS_OFF, JSON.stringify(autoSync));
      assert.equal(autoSync.next_run, null, JSON.stringify(autoSync));
      const checkJob = jobs.body.find((j) => j.id === 'coupling_health_check');
      assert.notEqual(checkJob?.enabled, false, JSON.stringify(checkJob));

      // A student's progress is read from the academy's rows, keys bytewise.
      const gk = baseOracle.pairs.find((p) => p.specialization === 'GK_A' && p.issue_type === 'level_mismatch');
      for (const p of [mismatch, gk]) {
        const prog = await api(srv.url, token, 'GET', `/api/v1/users/${p.user_id}/progress`);
        assert.equal(prog.status, 200, JSON.stringify(prog.body));
        const entry = prog.body.specializations.find((e) => e.specialization === p.specialization);
        assert.equal(entry?.state, 'level_mismatch', JSON.stringify(prog.body));
        assert.equal(entry.progress.current_level, p.progress_level, JSON.stringify(entry));
        assert.equal(entry.license.current_level, p.license_level, JSON.stringify(entry));
      }
    } finally {
      assert.equal(await stopServe(srv), 0, srv.stderr());
    }
    assertUntouched('serve');
  });

  test('sync: exit 1 with the message; sync --dry-run allowed; the academy untouched', () => {
    const r = lockstep(cfg, ['sync']);
    assert.equal(r.code, 1, show(r));
    assert.ok(r.err.includes(REPAIRS_OFF), show(r));
    const d = lockstep(cfg, ['sync', '--dry-run']);
    assert.equal(d.code, 0, show(d));
    assert.ok(!d.err.includes(REPAIRS_OFF), show(d));
    assertUntouched('sync');
  });

  test('after every verb: the academy\'s file byte-for-byte what it was, nothing beside it', () => {
    assertUntouched('the end');
    // An open of the file that could write would have left it in WAL mode or with a journal.
    assert.equal(sq(file, 'PRAGMA journal_mode'), 'delete');
  });
});

// ---------------------------------------------------------------------------
// repair = on, on copies.

/** Every progress and license row, by table and id, as objects. */
function rowsOf(file) {
  const read = (table) => new Map(JSON.parse(sq(file, `SELECT json_group_array(json(r)) FROM (SELECT json_object(${
    sq(file, `SELECT group_concat('''' || name || ''', "' || name || '"', ', ') FROM pragma_table_info('${table}')`)
  }) AS r FROM ${table})`) || '[]').map((o) => [o.id, o]));
  return { specialization_progress: read('specialization_progress'), user_licenses: read('user_licenses') };
}

test('repair = on: sync repairs through the mapped columns only, leaves manual_review pairs alone, never a level outside 1..max', () => {
  const file = copyAcademy(base, 'repair');
  const dir = tmpDir('repair');
  const cfg = writeConfig(dir, file, { domain: { repair: 'on' } });
  const before = oracle(file);
  const rows = rowsOf(file);
  const others = ['users', 'specializations', 'alembic_version'].map((t) => sq(file, `SELECT * FROM ${t} ORDER BY 1`));
  { const m = lockstep(cfg, ['migrate']); assert.equal(m.code, 0, show(m)); }
  const dryHash = sha256(file);
  const dry = lockstep(cfg, ['sync', '--dry-run', '--json']);
  assert.equal(dry.code, 0, show(dry));
  assert.equal(sha256(file), dryHash, 'a dry run writes nothing');

  const r = lockstep(cfg, ['sync', '--json']);
  assert.equal(r.code, 0, show(r));
  const result = JSON.parse(r.out);
  const repairable = before.pairs.filter((p) => REPAIRABLE.includes(p.issue_type));
  assert.equal(result.synced_count, repairable.length, r.out.slice(0, 2000));
  assert.equal(result.failed_count, 0, r.out.slice(0, 2000));

  const after = oracle(file);
  for (const t of REPAIRABLE) assert.equal(after.summary[t], 0, t);
  const manual = (o) => o.pairs.filter((p) => ACTION[p.issue_type] === 'manual_review');
  assert.deepEqual(manual(after), manual(before), 'the manual_review pairs as they were');
  assert.equal(after.summary.total_checked, before.summary.total_checked);

  // Existing rows: only mapped columns changed, and only on repaired pairs.
  const issueOf = new Map(before.pairs.map((p) => [`${p.user_id}|${p.specialization}`, p.issue_type]));
  const now = rowsOf(file);
  for (const table of Object.keys(MAPPED)) {
    const [u, s] = table === 'user_licenses' ? ['user_id', 'specialization_type'] : ['student_id', 'specialization_id'];
    for (const [id, old] of rows[table]) {
      const n = now[table].get(id);
      const issue = issueOf.get(`${old[u]}|${old[s]}`);
      if (issue === 'level_mismatch' && table === 'user_licenses') {
        for (const c of Object.keys(old))
          if (!MAPPED[table].includes(c)) assert.deepEqual(n[c], old[c], `${table} ${id}: ${c} is not mapped`);
        assert.equal(n.max_achieved_level, Math.max(old.max_achieved_level, n.current_level), `${table} ${id}: max achieved never goes down`);
      } else {
        assert.deepEqual(n, old, `${table} ${id} (${issue ?? 'consistent'}) untouched`);
      }
    }
    // New rows: their unmapped columns left to the table's defaults (none here: NULL).
    for (const [id, n] of now[table]) {
      if (rows[table].has(id)) continue;
      const issue = issueOf.get(`${n[u]}|${n[s]}`);
      assert.equal(issue, table === 'user_licenses' ? 'missing_license' : 'missing_progress', `${table} ${id} created for a missing row`);
      for (const c of Object.keys(n))
        if (!MAPPED[table].includes(c) && c !== 'id') assert.equal(n[c], null, `${table} ${id}: ${c} is not mapped`);
    }
  }
  // No level outside 1..max on a repaired pair.
  for (const p of repairable) {
    const max = LEVELS[p.specialization];
    for (const table of Object.keys(MAPPED)) {
      const [u, s] = table === 'user_licenses' ? ['user_id', 'specialization_type'] : ['student_id', 'specialization_id'];
      const row = [...now[table].values()].find((x) => x[u] === p.user_id && x[s] === p.specialization);
      assert.ok(row && row.current_level >= 1 && row.current_level <= max, `${table} ${p.user_id}|${p.specialization}: ${row?.current_level} in 1..${max}`);
    }
  }
  assert.deepEqual(['users', 'specializations', 'alembic_version'].map((t) => sq(file, `SELECT * FROM ${t} ORDER BY 1`)), others,
    'users, specializations, alembic_version untouched');
  // The academy's own trigger saw each license level change.
  assert.equal(Number(sq(file, "SELECT count(*) FROM audit_logs WHERE action = 'LICENSE_LEVEL_CHANGE'")),
    before.pairs.filter((p) => p.issue_type === 'level_mismatch').length);

  // Lockstep's WAL is its own file's: the academy keeps its journal mode, and no journal is left beside it.
  assert.equal(sq(file, 'PRAGMA journal_mode'), 'delete');
  assert.deepEqual(beside(file), ['academy.db']);
  const c = lockstep(cfg, ['check', '--json']);
  assertReport(JSON.parse(c.out), after, emailsOf(file), 'check after sync');
  const again = lockstep(cfg, ['sync', '--json']);
  assert.equal(JSON.parse(again.out).synced_count, 0, show(again));
});

test('repair = on: a NOT NULL column without default fails those pairs with SQLite\'s reason; the others are repaired', () => {
  const file = copyAcademy(base, 'notnull');
  // The application added a required column to user_licenses (SQLite's
  // table rebuild, as Alembic's batch mode does it).
  sq(file, `PRAGMA foreign_keys = OFF;
    BEGIN;
    CREATE TABLE user_licenses_new (
      id INTEGER NOT NULL, user_id INTEGER NOT NULL, specialization_type VARCHAR(20) NOT NULL,
      current_level INTEGER NOT NULL, max_achieved_level INTEGER NOT NULL, started_at DATETIME NOT NULL,
      last_advanced_at DATETIME, instructor_notes TEXT, created_at DATETIME, updated_at DATETIME,
      issued_by VARCHAR(100) NOT NULL,
      PRIMARY KEY (id), FOREIGN KEY (user_id) REFERENCES users (id),
      CONSTRAINT uq_user_license_specialization UNIQUE (user_id, specialization_type));
    INSERT INTO user_licenses_new SELECT *, 'academy-app' FROM user_licenses;
    DROP TABLE user_licenses;
    ALTER TABLE user_licenses_new RENAME TO user_licenses;
    COMMIT;`, { write: true });
  const dir = tmpDir('notnull');
  const cfg = writeConfig(dir, file, { domain: { repair: 'on' } });
  const before = oracle(file);
  { const m = lockstep(cfg, ['migrate']); assert.equal(m.code, 0, show(m)); }
  const r = lockstep(cfg, ['sync', '--json']);
  assert.ok(r.code === 0 || r.code === 1, show(r));
  const result = JSON.parse(r.out);
  const missingLicense = before.pairs.filter((p) => p.issue_type === 'missing_license');
  const others = before.pairs.filter((p) => p.issue_type === 'level_mismatch' || p.issue_type === 'missing_progress');
  assert.equal(result.failed_count, missingLicense.length, r.out.slice(0, 2000));
  assert.equal(result.synced_count, others.length, r.out.slice(0, 2000));
  for (const x of result.results.filter((y) => !y.success)) {
    assert.equal(x.issue_type, 'missing_license', JSON.stringify(x));
    assert.match(x.error, /NOT NULL constraint failed: user_licenses\.issued_by/, JSON.stringify(x));
  }
  const after = oracle(file);
  assert.equal(after.summary.level_mismatch, 0);
  assert.equal(after.summary.missing_progress, 0);
  assert.equal(after.summary.missing_license, missingLicense.length, 'the failed pairs changed nothing');
  assert.equal(sq(file, "SELECT count(*) FROM user_licenses WHERE issued_by <> 'academy-app'"), '0');
  notNullFile = file;
  notNullCfg = cfg;
});

let notNullFile;
let notNullCfg;
test('doctor with repair = on names the NOT NULL column without default a repair cannot fill (attach.md)', { skip: false }, () => {
  assert.ok(notNullCfg, 'the previous test made the academy');
  const hash = sha256(notNullFile);
  const d = lockstep(notNullCfg, ['doctor', '--json']);
  const nn = JSON.parse(d.out).points.filter((p) => p.name === 'not_null');
  assert.equal(nn.length, 1, `a not_null point: ${d.out}`);
  assert.notEqual(nn[0].result, 'ok', d.out);
  assert.match(`${nn[0].message} ${nn[0].fix ?? ''}`, /user_licenses\.issued_by|issued_by/, d.out);
  assert.equal(sha256(notNullFile), hash, 'doctor changes nothing');
});

test('repair = on: the level endpoint never stores a level outside 1..max, nor on a track without a level count', async () => {
  const file = copyAcademy(base, 'guard');
  const dir = tmpDir('guard');
  const cfg = writeConfig(dir, file, { domain: { repair: 'on' } });
  { const mg = lockstep(cfg, ['migrate']); assert.equal(mg.code, 0, show(mg)); }
  const r = lockstep(cfg, ['user', 'add', '--email', 'guard@lockstep.test', '--role', 'admin', '--password-stdin'],
    { input: 'guard-password-123\n' });
  assert.equal(r.code, 0, show(r));
  const levels = () => sq(file, `SELECT 'p', id, current_level FROM specialization_progress UNION ALL
    SELECT 'l', id, current_level || '/' || max_achieved_level FROM user_licenses ORDER BY 1, 2`);
  const was = levels();
  const consistent = (spec) => sq(file, `SELECT p.student_id FROM specialization_progress p JOIN user_licenses l
    ON l.user_id = p.student_id AND l.specialization_type = p.specialization_id
    WHERE p.specialization_id = '${spec}' AND p.current_level = l.current_level ORDER BY 1 LIMIT 1`);
  // A track without a level count has no known maximum: said so, not "0".
  const list = lockstep(cfg, ['spec', 'list']);
  assert.equal(list.code, 0, show(list));
  assert.match(list.out, /^PLAYER\s.*max_levels 8\s/m);
  assert.match(list.out, /^LFA_COACH\s.*max_levels unknown\s/m);
  const srv = await startServe(dir, { LOCKSTEP_CONFIG: cfg });
  try {
    const token = await login(srv.url, 'GUARD@lockstep.test', 'guard-password-123');
    const specs = Object.fromEntries((await api(srv.url, token, 'GET', '/api/v1/specializations')).body
      .map((sp) => [sp.id, sp.max_levels]));
    assert.equal(specs.PLAYER, 8);
    assert.equal(specs.LFA_COACH, null);
    for (const [spec, level] of [['PLAYER', 9], ['PLAYER', 0], ['PLAYER', -1], ['INTERNSHIP', 4], ['GK_A', 5], ['GKB', 5]]) {
      const u = consistent(spec);
      assert.ok(u, spec);
      const res = await api(srv.url, token, 'POST', `/api/v1/users/${u}/progress/${spec}/level`, { new_level: level });
      assert.equal(res.status, 422, `${spec} level ${level}: ${JSON.stringify(res.body)}`);
    }
    const lfa = consistent('LFA_COACH');
    const res = await api(srv.url, token, 'POST', `/api/v1/users/${lfa}/progress/LFA_COACH/level`, { new_level: 1 });
    assert.ok(res.status >= 400 && res.status < 500, `LFA_COACH has no known maximum: ${res.status} ${JSON.stringify(res.body)}`);
    // The NULL-level pair is manual_review: a sync of it changes nothing.
    const nul = baseOracle.pairs.find((x) => x.issue_type === 'invalid_level' && x.progress_level === null);
    const one = await api(srv.url, token, 'POST', `/api/v1/licenses/admin/sync/user/${nul.user_id}`, { specialization: nul.specialization });
    assert.ok(one.status === 200 || one.status === 409 || one.status === 422, JSON.stringify(one.body));
  } finally {
    assert.equal(await stopServe(srv), 0, srv.stderr());
  }
  assert.equal(levels(), was, 'no level written');
});

// ---------------------------------------------------------------------------
// Errors.

test('a missing academy file: a clear error, no file created (neither the academy\'s nor Lockstep\'s)', async () => {
  const dir = tmpDir('missing');
  const where = tmpDir('missing-academy');
  const file = path.join(where, 'academy.db');
  const cfg = writeConfig(dir, file);
  const names = (r, what) => {
    assert.ok(r.err.includes(file), `${what} names the file: ${show(r)}`);
    assert.match(r.err, /\[domain\] database/, `${what}: ${show(r)}`);
    assert.match(r.err, /no such file/, `${what}: ${show(r)}`);
  };
  const m = lockstep(cfg, ['migrate']);
  assert.equal(m.code, 1, show(m));
  names(m, 'migrate');
  await assert.rejects(startServe(dir, { LOCKSTEP_CONFIG: cfg }), (e) => e.message.includes(file));
  assert.deepEqual(fs.readdirSync(where), [], 'the academy\'s file is never created');
  assert.ok(!fs.existsSync(path.join(dir, 'lockstep.db')), `no store file: ${fs.readdirSync(dir)}`);
  // A store made with the academy in place, then the academy gone: every verb says so.
  const good = copyAcademy(base, 'missing-later');
  { const r = lockstep(writeConfig(dir, good), ['migrate']); assert.equal(r.code, 0, show(r)); }
  writeConfig(dir, file);
  for (const args of [['check'], ['check', '--dry-run'], ['sync', '--dry-run']]) {
    const r = lockstep(cfg, args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${show(r)}`);
    names(r, args.join(' '));
  }
  assert.deepEqual(fs.readdirSync(where), [], 'the academy\'s file is never created');
  // An empty file (a wrong path touched by something) is no academy either.
  fs.writeFileSync(file, '');
  const e = lockstep(cfg, ['check', '--dry-run']);
  assert.equal(e.code, 1, show(e));
  assert.match(e.err, /empty/, show(e));
  assert.equal(fs.statSync(file).size, 0);
});

test('doctor with a missing academy file or a wrong mapped column, once a store exists: ✗ naming it (exit 1)', () => {
  const dir = tmpDir('doctor-bad');
  const where = tmpDir('doctor-bad-academy');
  const missing = path.join(where, 'academy.db');
  const good = copyAcademy(base, 'doctor-bad-good');
  { const r = lockstep(writeConfig(dir, good), ['migrate']); assert.equal(r.code, 0, show(r)); }
  const m = lockstep(writeConfig(dir, missing), ['doctor']);
  assert.equal(m.code, 1, show(m));
  assert.match(m.out, new RegExp(`^✗ .*${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*no such file`, 'm'), show(m));
  const c = lockstep(writeConfig(dir, good, { domain: { progress_level: 'lvl' } }), ['doctor']);
  assert.equal(c.code, 1, show(c));
  assert.match(c.out, /^✗ .*\[domain\] progress_level: no column lvl in table specialization_progress/m, show(c));
  assert.deepEqual(fs.readdirSync(where), [], 'the academy\'s file is never created');
});

test('doctor before any store (docs/attach.md runs it before migrate): a missing academy file or a wrong column is ✗ (exit 1)', () => {
  const where = tmpDir('doctor-first-academy');
  const missing = path.join(where, 'academy.db');
  const dir = tmpDir('doctor-first');
  const m = lockstep(writeConfig(dir, missing), ['doctor']);
  const good = copyAcademy(base, 'doctor-first-good');
  const dir2 = tmpDir('doctor-first-2');
  const c = lockstep(writeConfig(dir2, good, { domain: { progress_level: 'lvl' } }), ['doctor']);
  assert.deepEqual(fs.readdirSync(where), [], 'the academy\'s file is never created');
  assert.ok(!fs.existsSync(path.join(dir, 'lockstep.db')) && !fs.existsSync(path.join(dir2, 'lockstep.db')), 'doctor creates no store');
  assert.equal(m.code, 1, `a missing academy file: doctor must not say the configuration will work: ${show(m)}`);
  assert.ok(m.out.includes(missing), show(m));
  assert.equal(c.code, 1, `a wrong column: doctor must not say the configuration will work: ${show(c)}`);
  assert.match(c.out, /progress_level/, show(c));
});

test('a wrong mapped column or table: an error naming key, table and column; no store file created; the academy untouched', async () => {
  const file = copyAcademy(base, 'badcol');
  const hash = sha256(file);
  const dir = tmpDir('badcol');
  const bad = () => writeConfig(dir, file, { domain: { progress_level: 'lvl' } });
  const names = (r, what) => {
    for (const word of ['progress_level', 'specialization_progress', 'lvl'])
      assert.match(r.err + r.out, new RegExp(`\\b${word}\\b`), `${what} names ${word}: ${show(r)}`);
  };
  let cfg = bad();
  const m = lockstep(cfg, ['migrate']);
  assert.equal(m.code, 1, show(m));
  names(m, 'migrate');
  await assert.rejects(startServe(dir, { LOCKSTEP_CONFIG: cfg }), (e) => /progress_level/.test(e.message) && /\blvl\b/.test(e.message));
  assert.ok(!fs.existsSync(path.join(dir, 'lockstep.db')), `no store file: ${fs.readdirSync(dir)}`);
  // With a store in place, the verbs that need one say the same.
  { const r = lockstep(writeConfig(dir, file), ['migrate']); assert.equal(r.code, 0, show(r)); }
  cfg = bad();
  for (const args of [['check'], ['check', '--dry-run']]) {
    const r = lockstep(cfg, args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${show(r)}`);
    names(r, args.join(' '));
  }
  // A wrong table name too.
  const t = lockstep(writeConfig(dir, file, { domain: { license_table: 'licences' } }), ['check', '--dry-run']);
  assert.equal(t.code, 1, show(t));
  assert.match(t.err, /license_table/, show(t));
  assert.match(t.err, /\blicences\b/, show(t));
  assert.equal(sha256(file), hash);
  assert.deepEqual(beside(file), ['academy.db']);
});

test('duplicate rows (no unique constraint on the pair): duplicate_rows per pair, counted once; doctor marks the tables', () => {
  const file = copyAcademy(base, 'dup');
  sq(file, fs.readFileSync(path.join(FIXTURE, 'sqlite-duplicates.sql'), 'utf8'), { write: true });
  const expected = oracle(file);
  assert.equal(expected.summary.duplicate_rows, 4);
  assert.equal(expected.summary.total_checked, baseOracle.summary.total_checked, 'a duplicate adds no pair');
  const hash = sha256(file);
  const cfg = writeConfig(tmpDir('dup'), file);
  { const mg = lockstep(cfg, ['migrate']); assert.equal(mg.code, 0, show(mg)); }
  const r = lockstep(cfg, ['check', '--json']);
  assert.equal(r.code, exitFor(expected.summary.consistency_rate), show(r));
  assertReport(JSON.parse(r.out), expected, emailsOf(file), 'check over duplicates');
  const d = lockstep(cfg, ['doctor', '--json']);
  const keys = JSON.parse(d.out).points.filter((p) => p.name === 'pair_key');
  assert.equal(keys.length, 2, d.out);
  assert.ok(keys.every((p) => p.result === 'note' && /duplicate_rows/.test(p.message)), d.out);
  assert.equal(sha256(file), hash);
});

test('an emptied academy: check exit 1 with the reason (allow_empty = false); healthy over 0 pairs with allow_empty = true', () => {
  const file = copyAcademy(base, 'empty');
  sq(file, 'DELETE FROM license_progressions; DELETE FROM user_licenses; DELETE FROM specialization_progress;', { write: true });
  const hash = sha256(file);
  const cfg = writeConfig(tmpDir('empty'), file);
  { const mg = lockstep(cfg, ['migrate']); assert.equal(mg.code, 0, show(mg)); }
  const r = lockstep(cfg, ['check']);
  assert.equal(r.code, 1, show(r));
  assert.match(r.err, /the attached database has no pairs/, show(r));
  const cfgOk = writeConfig(tmpDir('empty-ok'), file, { domain: { allow_empty: 'true' } });
  { const mg = lockstep(cfgOk, ['migrate']); assert.equal(mg.code, 0, show(mg)); }
  const ok = lockstep(cfgOk, ['check', '--json', '--dry-run']);
  assert.equal(ok.code, 0, show(ok));
  assert.equal(JSON.parse(ok.out).total_checked, 0);
  assert.equal(sha256(file), hash);
});

test('two 47-byte ids sharing their first 32: check names the drifted pair with its full id, a repair writes that row; one of 70 bytes is ✗ in doctor and fails the check', () => {
  const ALPHA = 'LFA_FOOTBALL_PLAYER_INTERNSHIP_TRACK_ALPHA_2025';
  const BRAVO = 'LFA_FOOTBALL_PLAYER_INTERNSHIP_TRACK_BRAVO_2025';
  const levels = { ...LEVELS, [ALPHA]: 4, [BRAVO]: 6 };
  const file = copyAcademy(base, 'long-ids');
  const [first, second] = sq(file, "SELECT id FROM users WHERE role = 'STUDENT' ORDER BY id LIMIT 2").split('\n').map(Number);
  // Both tracks for two students at equal levels; the first one's bravo license another level.
  sq(file, `INSERT INTO specializations (id, is_active) VALUES ('${ALPHA}', 1), ('${BRAVO}', 1);
    INSERT INTO specialization_progress (student_id, specialization_id, current_level) VALUES
      (${first}, '${ALPHA}', 2), (${first}, '${BRAVO}', 3), (${second}, '${ALPHA}', 1), (${second}, '${BRAVO}', 1);
    INSERT INTO user_licenses (user_id, specialization_type, current_level, max_achieved_level, started_at) VALUES
      (${first}, '${ALPHA}', 2, 2, '2025-09-01'), (${first}, '${BRAVO}', 5, 5, '2025-09-01'),
      (${second}, '${ALPHA}', 1, 1, '2025-09-01'), (${second}, '${BRAVO}', 1, 1, '2025-09-01');`, { write: true });
  const expected = oracle(file, levels);
  const ofTracks = (vs) => vs.filter((v) => v.specialization.startsWith(ALPHA.slice(0, 32)))
    .map((v) => `${v.user_id} ${v.specialization} ${v.issue_type}`);
  assert.deepEqual(ofTracks(expected.pairs), [`${first} ${BRAVO} level_mismatch`]);
  const dir = tmpDir('long-ids');
  const cfg = writeConfig(dir, file, { domain: { repair: 'on' }, levels });
  { const m = lockstep(cfg, ['migrate']); assert.equal(m.code, 0, show(m)); }
  const c = lockstep(cfg, ['check', '--json']);
  assert.equal(c.code, exitFor(expected.summary.consistency_rate), show(c));
  assertReport(JSON.parse(c.out), expected, emailsOf(file), 'check over 47-byte ids');
  const doc = JSON.parse(lockstep(cfg, ['doctor', '--json']).out).points.filter((p) => p.name === 'spec_ids');
  assert.deepEqual(doc.map((p) => p.result), ['ok'], JSON.stringify(doc));

  const level = (table, spec) => Number(sq(file, table === 'license'
    ? `SELECT current_level FROM user_licenses WHERE user_id = ${first} AND specialization_type = '${spec}'`
    : `SELECT current_level FROM specialization_progress WHERE student_id = ${first} AND specialization_id = '${spec}'`));
  const fixed = lockstep(cfg, ['sync', '--user', String(first), '--spec', BRAVO, '--json']);
  assert.equal(fixed.code, 0, show(fixed));
  assert.deepEqual([level('license', BRAVO), level('license', ALPHA)], [3, 2], 'bravo repaired, alpha untouched');
  assert.deepEqual(ofTracks(JSON.parse(lockstep(cfg, ['check', '--dry-run', '--json']).out).violations), []);

  const tooLong = `${ALPHA}_${'X'.repeat(22)}`; // 70 bytes
  sq(file, `INSERT INTO user_licenses (user_id, specialization_type, current_level, max_achieved_level, started_at)
            VALUES (${second}, '${tooLong}', 1, 1, '2025-09-01')`, { write: true });
  const d = lockstep(cfg, ['doctor', '--json']);
  assert.equal(d.code, 1, show(d));
  const bad = JSON.parse(d.out).points.filter((p) => p.name === 'spec_ids' && p.result !== 'ok');
  assert.equal(bad.length, 1, show(d));
  assert.match(bad[0].message, /user_licenses\.specialization_type holds a specialization id of 70 bytes/);
  const failed = lockstep(cfg, ['check', '--json']);
  assert.equal(failed.code, 1, show(failed));
  assert.match(failed.err + failed.out, new RegExp(`user ${second}: user_licenses\\.specialization_type holds a specialization id of 70 bytes`));
});

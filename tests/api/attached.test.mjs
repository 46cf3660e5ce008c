// attached.test.mjs — attached mode on PostgreSQL (attach.md), black-box:
// Lockstep pointed at the reference academy database (tests/fixtures/academy:
// the schema a FastAPI + SQLAlchemy backend creates, 10,000 users, drift,
// orphans both ways, NULL and out-of-range levels, tracks without a level
// count) in a database with the en_US.UTF-8 collation. `migrate`, `check`,
// `check --dry-run`, `doctor`, `baseline create`, `serve` (login, health, sync
// refused) and `sync` run on it; the figures equal the independent SQL oracle
// (tests/fixtures/academy/expected.sql) pair by pair; Lockstep's schema holds
// no domain tables; and the academy's schema `public` — its schema dump, every
// row, every tuple's place, every sequence — is the same after every verb as
// before. Also: an unknown [domain] key, a mapping to a missing column, an
// emptied academy, a read-only role, duplicate rows, and track names whose
// order differs between the collation and bytes.
//
// Runs only against a PostgreSQL server (LOCKSTEP_TEST_PG, as scripts/pg-test
// sets it); the database's collation needs the en_US.UTF-8 locale on the
// server's machine (scripts/bootstrap test generates it).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, PG, startServe, stopServe, login, api, request } from './lib.mjs';

const FIXTURE = fileURLToPath(new URL('../fixtures/academy/', import.meta.url));
const SKIP = PG ? false : 'attached mode on PostgreSQL needs LOCKSTEP_TEST_PG (scripts/pg-test)';
/** The level counts the academy keeps in its own config files (attach.md). */
const LEVELS = { PLAYER: 8, COACH: 8, INTERNSHIP: 3 };
const REPAIRS_OFF = 'repairs are off for the attached database (domain.repair = off)';
const ACADEMY_TABLES = ['users', 'specializations', 'specialization_progress', 'user_licenses',
  'license_progressions', 'audit_logs'];
const ISSUE_TYPES = ['level_mismatch', 'missing_license', 'missing_progress', 'invalid_level',
  'unknown_specialization', 'duplicate_rows'];
const ACTION = {
  level_mismatch: 'sync_progress_to_license', // the default direction, progress_to_license
  missing_license: 'create_license_from_progress',
  missing_progress: 'create_progress_from_license',
  invalid_level: 'manual_review',
  unknown_specialization: 'manual_review',
  duplicate_rows: 'manual_review',
};

// ---------------------------------------------------------------------------
// Databases, roles and directories of this file: dropped and removed when
// every test passed; kept for a look after a failure or with LOCKSTEP_TEST_KEEP.

const made = { databases: [], roles: [], dirs: [] };
let serial = 0;

function pgUrl(db, user) {
  const u = new URL(PG);
  u.pathname = `/${db}`;
  if (user) { u.username = user; u.password = ''; }
  return u.toString();
}

/** psql on `url`, unaligned and tuples only; returns stdout trimmed. */
function psql(url, args, { fieldSep = '|' } = {}) {
  return execFileSync('psql', ['-X', '-q', '-A', '-t', '-F', fieldSep, '-v', 'ON_ERROR_STOP=1', url, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 }).toString().trim();
}
const q = (url, sql) => psql(url, ['-c', sql]);

process.on('exit', (code) => {
  if (code || process.exitCode || process.env.LOCKSTEP_TEST_KEEP || !PG) return;
  for (const db of made.databases) {
    try { execFileSync('psql', ['-X', '-q', PG, '-c', `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`], { stdio: 'ignore' }); } catch { /* in use */ }
  }
  for (const role of made.roles) {
    try { execFileSync('psql', ['-X', '-q', PG, '-c', `DROP ROLE IF EXISTS "${role}"`], { stdio: 'ignore' }); } catch { /* owns something */ }
  }
  for (const dir of made.dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tmpDir(name) {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `lockstep-attached-${name}-`)));
  made.dirs.push(dir);
  return dir;
}

/**
 * A new database with the en_US.UTF-8 collation (an academy's usual one, where
 * ORDER BY text is not bytewise), as a copy of `template` or, without one,
 * loaded with the reference schema and `files` of the fixture.
 */
function createAcademy(name, { template, files = ['schema.sql', 'seed.sql'] } = {}) {
  const db = `lockstep_academy_${process.pid}_${++serial}_${name}`;
  const how = template ? `TEMPLATE "${template}"`
    : "TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'en_US.UTF-8' LC_CTYPE 'en_US.UTF-8'";
  try {
    q(PG, `CREATE DATABASE "${db}" ${how}`);
  } catch (e) {
    throw new Error(`cannot create a database with the en_US.UTF-8 collation (scripts/bootstrap test generates the locale): ${e.stderr}`);
  }
  made.databases.push(db);
  const url = pgUrl(db);
  if (!template) for (const f of files) psql(url, ['-f', path.join(FIXTURE, f)]);
  return url;
}

/** A fixture file more on an academy database. */
const load = (url, file) => psql(url, ['-f', path.join(FIXTURE, file)]);

/**
 * The oracle (expected.sql) on `url`: the summary {total_checked, consistent,
 * inconsistent, <issue type>…} and the inconsistent pairs, each
 * {user_id, specialization, issue_type, progress_level, license_level}.
 */
function oracle(url, levels = LEVELS) {
  const values = Object.entries(levels).map(([s, m]) => `('${s}', ${m})`).join(', ');
  const out = psql(url, ['-v', `levels=${values}`, '-f', path.join(FIXTURE, 'expected.sql'), '-c',
    `SELECT 'pair', user_id, specialization, issue_type, coalesce(progress_level::text, ''),
            coalesce(license_level::text, '')
     FROM academy_expected WHERE issue_type IS NOT NULL ORDER BY user_id, specialization COLLATE "C"`]);
  const summary = {};
  const pairs = [];
  for (const line of out.split('\n')) {
    const f = line.split('|');
    if (f[0] === 'pair') {
      const lvl = (s) => (s === '' ? null : Number(s));
      pairs.push({ user_id: Number(f[1]), specialization: f[2], issue_type: f[3], progress_level: lvl(f[4]), license_level: lvl(f[5]) });
    } else {
      summary[f[0]] = Number(f[1]);
    }
  }
  summary.consistency_rate = summary.total_checked
    ? Math.round((summary.consistent / summary.total_checked) * 10000) / 100 : 100;
  return { summary, pairs };
}

/** check's exit code for a rate (domain.md's default thresholds). */
const exitFor = (rate) => (rate >= 99 ? 0 : rate >= 95 ? 3 : 4);
const statusFor = (rate) => (rate >= 99 ? 'healthy' : rate >= 95 ? 'degraded' : 'critical');

/**
 * What the academy's schema `public` is: the schema dump (`pg_dump -s`),
 * every table's rows (content checksum, bytewise order) and the place and
 * writing transaction of every tuple (a row rewritten with the same values
 * moves), and every sequence's state. Equal snapshots: nothing of it changed.
 */
function snapshot(url, schema = 'public') {
  const dump = execFileSync('pg_dump', ['--schema-only', `--schema="${schema}"`, url], { maxBuffer: 64 << 20 })
    .toString().split('\n').filter((l) => !/^\\(un)?restrict /.test(l)).join('\n');
  const tables = q(url, `SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = '${schema}' AND c.relkind IN ('r', 'p') ORDER BY relname COLLATE "C"`)
    .split('\n').filter(Boolean);
  const rows = {};
  for (const t of tables) {
    rows[t] = q(url, `SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text COLLATE "C"), ''))
                        || ' ' || (SELECT md5(coalesce(string_agg(ctid::text || ':' || xmin::text, ',' ORDER BY ctid), ''))
                                   FROM "${schema}"."${t}")
                      FROM "${schema}"."${t}" x`);
  }
  const seqs = q(url, `SELECT sequencename || '=' || coalesce(last_value::text, 'null') FROM pg_sequences
                       WHERE schemaname = '${schema}' ORDER BY sequencename COLLATE "C"`);
  return { dump, rows, seqs };
}

function assertUnchanged(url, before, what, schema = 'public') {
  const now = snapshot(url, schema);
  assert.deepEqual(Object.keys(now.rows), Object.keys(before.rows), `${what}: the academy's tables`);
  for (const t of Object.keys(before.rows))
    assert.equal(now.rows[t], before.rows[t], `${what}: rows of ${t} changed (count md5 tuples)`);
  assert.equal(now.seqs, before.seqs, `${what}: a sequence of the academy moved`);
  assert.equal(now.dump, before.dump, `${what}: the schema dump of ${schema} changed`);
}

/** The caller's environment without any Lockstep setting (LOCKSTEP_BIN and the test's own stay). */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('LOCKSTEP_') || k === 'LOCKSTEP_BIN' || k.startsWith('LOCKSTEP_TEST')) env[k] = v;
  return { ...env, ...extra };
}

/** A config file for Lockstep attached to `url`: attach.md's [domain] and [levels]. */
function writeConfig(dir, url, { domain = {}, levels = LEVELS, top = {} } = {}) {
  const lines = [`db = ${url}`, `data_dir = ${dir}`, 'check_interval = 3600'];
  for (const [k, v] of Object.entries(top)) lines.push(`${k} = ${v}`);
  lines.push('[domain]', 'source = attached', 'schema = public', 'lockstep_schema = lockstep');
  for (const [k, v] of Object.entries(domain)) lines.push(`${k} = ${v}`);
  lines.push('[levels]');
  for (const [k, v] of Object.entries(levels)) lines.push(`${k} = ${v}`);
  const file = path.join(dir, 'lockstep.ini');
  fs.writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return file;
}

/** `lockstep --config FILE ARGS…`; {code, out, err}. */
function lockstep(cfg, args, { input } = {}) {
  const r = spawnSync(BIN, ['--config', cfg, ...args], {
    env: cleanEnv(), encoding: 'utf8', input, maxBuffer: 256 << 20,
  });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}
const show = (r) => `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\nstdout: ${r.out.slice(0, 3000)}\nstderr: ${r.err.slice(0, 3000)}`;

/** Check a `check --json` report against the oracle, figure by figure and pair by pair. */
function assertReport(report, expected, emails, what) {
  const { summary, pairs } = expected;
  assert.equal(report.total_checked, summary.total_checked, `${what}: total_checked`);
  assert.equal(report.consistent, summary.consistent, `${what}: consistent`);
  assert.equal(report.inconsistent, summary.inconsistent, `${what}: inconsistent`);
  assert.equal(report.consistency_rate, summary.consistency_rate, `${what}: consistency_rate`);
  assert.equal(report.status, statusFor(summary.consistency_rate), `${what}: status`);
  const counts = Object.fromEntries(ISSUE_TYPES.map((t) => [t, 0]));
  for (const v of report.violations) counts[v.issue_type] = (counts[v.issue_type] ?? 0) + 1;
  assert.deepEqual(counts, Object.fromEntries(ISSUE_TYPES.map((t) => [t, summary[t]])), `${what}: violations per issue type`);
  const key = (v) => `${v.user_id}|${v.specialization}|${v.issue_type}`;
  const got = report.violations.map(key).sort();
  const want = pairs.map(key).sort();
  assert.deepEqual(got, want, `${what}: the inconsistent pairs and their issue types`);
  const byKey = new Map(pairs.map((p) => [key(p), p]));
  for (const v of report.violations) {
    const p = byKey.get(key(v));
    assert.equal(v.recommended_action, ACTION[v.issue_type], `${what}: action of ${key(v)}`);
    assert.equal(v.user_email?.toLowerCase(), emails.get(v.user_id)?.toLowerCase(), `${what}: e-mail of ${key(v)}`);
    if (v.issue_type === 'duplicate_rows') continue; // which row's level is shown is not fixed
    assert.equal(v.progress_level, p.progress_level, `${what}: progress_level of ${key(v)}`);
    assert.equal(v.license_level, p.license_level, `${what}: license_level of ${key(v)}`);
    const delta = p.progress_level !== null && p.license_level !== null ? p.progress_level - p.license_level : null;
    assert.equal(v.delta, delta, `${what}: delta of ${key(v)}`);
  }
}

function emailsOf(url) {
  return new Map(q(url, 'SELECT id, email FROM users').split('\n').map((l) => {
    const [id, email] = l.split('|');
    return [Number(id), email];
  }));
}

// ---------------------------------------------------------------------------
// The template every test copies: the reference academy, loaded once.

let base;
let baseOracle;

before(() => {
  if (!PG) return;
  base = createAcademy('base');
  baseOracle = oracle(base);
});

test('the fixture: an en_US.UTF-8 database with attach.md\'s facts, and the oracle on its deliberate cases', { skip: SKIP }, () => {
  assert.equal(q(base, 'SELECT datcollate FROM pg_database WHERE datname = current_database()'), 'en_US.UTF-8');
  assert.equal(q(base, "SELECT 'a' < 'B', 'GK_A' < 'GKB', 'GK_A' < 'GKB' COLLATE \"C\""), 't|t|f', 'ORDER BY text is not bytewise here');
  // attach.md's facts.
  assert.equal(q(base, "SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = 'userrole'"),
    'ADMIN,INSTRUCTOR,STUDENT');
  assert.equal(q(base, "SELECT count(*) FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = 'specializationtype'"), '6');
  assert.equal(q(base, "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'users'"), '28');
  assert.equal(q(base, "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'specializations'"),
    'id,is_active,created_at');
  assert.equal(q(base, `SELECT string_agg(column_name || ':' || is_nullable || ':' || coalesce(column_default, '-'), ',' ORDER BY column_name)
                        FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'specialization_progress'
                        AND column_name IN ('current_level', 'total_xp')`), 'current_level:YES:-,total_xp:YES:-');
  assert.equal(q(base, `SELECT count(*) FROM pg_constraint WHERE conrelid = 'specialization_progress'::regclass AND contype = 'u'`), '2',
    'two identical unique constraints on the pair');
  assert.equal(q(base, `SELECT data_type || character_maximum_length FROM information_schema.columns
                        WHERE table_name = 'user_licenses' AND column_name = 'specialization_type'`), 'character varying20');
  assert.equal(q(base, `SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns
                        WHERE table_name = 'user_licenses' AND is_nullable = 'NO' AND column_default IS NULL`),
    'current_level,max_achieved_level,specialization_type,started_at,user_id');
  assert.equal(q(base, `SELECT data_type || ':' || is_nullable || ':' || coalesce(column_default, '-') FROM information_schema.columns
                        WHERE table_name = 'users' AND column_name = 'payment_verified'`), 'boolean:NO:-');
  assert.equal(q(base, "SELECT count(*) FROM users"), '10000');
  assert.ok(Number(q(base, 'SELECT count(*) FROM users WHERE email <> lower(email)')) > 1000, 'mixed-case e-mails');
  assert.equal(q(base, "SELECT count(*) FROM specializations"), '6');
  assert.equal(q(base, "SELECT count(*) FROM specialization_progress WHERE current_level IS NULL"), '3');

  // The oracle, on the cases the seed made on purpose (domain.md's states).
  const { summary, pairs } = baseOracle;
  const of = (where) => q(base, `SELECT student_id || '|' || specialization_id FROM specialization_progress WHERE ${where}`).split('\n');
  const issue = (k) => pairs.find((p) => `${p.user_id}|${p.specialization}` === k)?.issue_type;
  for (const k of of('current_level IS NULL'))
    assert.equal(issue(k), 'invalid_level', `${k}: a NULL progress level with its license is invalid_level, not missing_progress`);
  for (const k of of("specialization_id = 'INTERNSHIP' AND current_level > 3"))
    assert.equal(issue(k), 'invalid_level', `${k}: INTERNSHIP above 3 (with or without its license)`);
  for (const k of of("specialization_id = 'COACH' AND current_level = 9"))
    assert.equal(issue(k), 'invalid_level', `${k}: equal levels outside 1..8 are not consistent`);
  for (const k of of("specialization_id IN ('LFA_COACH', 'GANCUJU_PLAYER', 'LFA_FOOTBALL_PLAYER')"))
    assert.equal(issue(k), 'unknown_specialization', `${k}: a track without a level count`);
  assert.equal(issue(q(base, "SELECT user_id || '|' || specialization_type FROM user_licenses WHERE current_level = 0")), 'invalid_level');
  assert.deepEqual(summary, {
    total_checked: 10918, consistent: 10374, inconsistent: 544, level_mismatch: 262, missing_license: 113,
    missing_progress: 122, invalid_level: 7, unknown_specialization: 40, duplicate_rows: 0, consistency_rate: 95.02,
  }, 'the fixture as seed.sql documents it');
});

describe('Lockstep attached to the reference academy', { skip: SKIP }, () => {
  let url;
  let dir;
  let cfg;
  let snap;
  let emails;
  const ADMIN_EMAIL = 'Ops.Admin@Lockstep.test';
  const ADMIN_PASSWORD = 'attached-admin-password-1';

  before(() => {
    url = createAcademy('main', { template: base.split('/').pop() });
    dir = tmpDir('main');
    cfg = writeConfig(dir, url);
    emails = emailsOf(url);
    snap = snapshot(url);
  });

  test('migrate: Lockstep\'s schema only; the academy untouched', () => {
    const r = lockstep(cfg, ['migrate']);
    assert.equal(r.code, 0, show(r));
    assert.equal(q(url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'lockstep'"), '1', 'lockstep_schema created');
    assert.notEqual(q(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'lockstep' AND tablename = 'schema_migrations'"), '0',
      'the migrations are recorded in Lockstep\'s schema');
    assertUnchanged(url, snap, 'migrate');
    const again = lockstep(cfg, ['migrate']);
    assert.equal(again.code, 0, show(again));
    assertUnchanged(url, snap, 'migrate (twice)');
  });

  test('check --json: the oracle\'s figures, pair by pair; exit by status', () => {
    const r = lockstep(cfg, ['check', '--json']);
    assert.equal(r.code, exitFor(baseOracle.summary.consistency_rate), show(r));
    assertReport(JSON.parse(r.out), baseOracle, emails, 'check');
    assertUnchanged(url, snap, 'check');
  });

  test('check --dry-run: the same figures, nothing written', () => {
    const r = lockstep(cfg, ['check', '--dry-run', '--json']);
    assert.equal(r.code, exitFor(baseOracle.summary.consistency_rate), show(r));
    assertReport(JSON.parse(r.out), baseOracle, emails, 'check --dry-run');
    const plain = lockstep(cfg, ['check', '--dry-run']);
    assert.equal(plain.code, exitFor(baseOracle.summary.consistency_rate), show(plain));
    assert.match(plain.out, new RegExp(`\\(${baseOracle.summary.consistent}/${baseOracle.summary.total_checked} consistent, ${baseOracle.summary.inconsistent} inconsistent\\)`));
    assertUnchanged(url, snap, 'check --dry-run');
  });

  test('doctor: every point holds (exit 0), --json ok, nothing changed', () => {
    const r = lockstep(cfg, ['doctor']);
    assert.equal(r.code, 0, show(r));
    assert.doesNotMatch(r.out, /^✗/m, r.out);
    const j = lockstep(cfg, ['doctor', '--json']);
    assert.equal(j.code, 0, show(j));
    const doc = JSON.parse(j.out);
    assert.equal(doc.ok, true, j.out);
    assert.ok(doc.points.every((p) => p.result !== 'fail'), j.out);
    assertUnchanged(url, snap, 'doctor');
  });

  test('baseline create: the oracle\'s figures, the academy untouched', () => {
    const r = lockstep(cfg, ['baseline', 'create', '--json']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.out, new RegExp(`"total_checked":\\s*${baseOracle.summary.total_checked}\\b`));
    assertUnchanged(url, snap, 'baseline create');
  });

  test('user add/list/passwd: Lockstep\'s own logins only; the academy\'s users untouched', () => {
    const r = lockstep(cfg, ['user', 'add', '--email', ADMIN_EMAIL, '--role', 'admin', '--name', 'Ops Admin',
      '--password-stdin'], { input: `${ADMIN_PASSWORD}\n` });
    assert.equal(r.code, 0, show(r));
    assertUnchanged(url, snap, 'user add');
    const list = lockstep(cfg, ['user', 'list']);
    assert.equal(list.code, 0, show(list));
    assert.match(list.out, new RegExp(ADMIN_EMAIL.replace(/\./g, '\\.'), 'i'), show(list));
    assert.doesNotMatch(list.out, /academy\.example|gmail\.com|example\.org/i, 'the academy\'s users are no Lockstep logins');
    // An academy admin's account is not Lockstep's to change (its bcrypt hash stays).
    const academyAdmin = q(url, "SELECT email FROM users WHERE role = 'ADMIN' ORDER BY id LIMIT 1");
    const pw = lockstep(cfg, ['user', 'passwd', '--email', academyAdmin], { input: 'a-new-password-123\n' });
    assert.equal(pw.code, 1, show(pw));
    assertUnchanged(url, snap, 'user list, user passwd');
  });

  test('serve: login, health, sync refused with 409, level changes refused; the academy untouched', async () => {
    const srv = await startServe(dir, { LOCKSTEP_CONFIG: cfg });
    try {
      // Logins are Lockstep's own accounts; e-mails match case-insensitively.
      const token = await login(srv.url, ADMIN_EMAIL.toLowerCase(), ADMIN_PASSWORD);
      const academyAdmin = q(url, "SELECT email FROM users WHERE role = 'ADMIN' ORDER BY id LIMIT 1");
      const denied = await request(srv.url, 'POST', '/api/v1/auth/login', { body: { email: academyAdmin, password: 'password' } });
      assert.equal(denied.status, 401, 'an academy account is no Lockstep login');

      const status = await api(srv.url, token, 'GET', '/api/v1/health/status');
      assert.equal(status.status, 200, JSON.stringify(status.body));
      assert.equal(status.body.status, statusFor(baseOracle.summary.consistency_rate));
      assert.equal(status.body.consistency_rate, baseOracle.summary.consistency_rate);
      assert.equal(status.body.total_violations, baseOracle.summary.inconsistent);

      const sync = await api(srv.url, token, 'POST', '/api/v1/licenses/admin/sync/all', { dry_run: false });
      assert.equal(sync.status, 409, JSON.stringify(sync.body));
      assert.ok(sync.body.detail.includes(REPAIRS_OFF), sync.body.detail);
      const dry = await api(srv.url, token, 'POST', '/api/v1/licenses/admin/sync/all', { dry_run: true });
      assert.equal(dry.status, 200, JSON.stringify(dry.body));
      assert.equal(dry.body.dry_run, true);

      // The auto-sync is not scheduled and shows as disabled.
      const jobs = await api(srv.url, token, 'GET', '/api/v1/health/jobs');
      assert.equal(jobs.status, 200, JSON.stringify(jobs.body));
      const autoSync = jobs.body.find((j) => j.id === 'progress_license_sync');
      assert.ok(autoSync, JSON.stringify(jobs.body));
      assert.equal(autoSync.next_run, null, `not scheduled: ${JSON.stringify(autoSync)}`);
      assert.match(JSON.stringify(autoSync), /disabled|"enabled":false/, 'shown as disabled');

      const mismatch = baseOracle.pairs.find((p) => p.issue_type === 'level_mismatch');
      const one = await api(srv.url, token, 'POST', `/api/v1/licenses/admin/sync/user/${mismatch.user_id}`,
        { specialization: mismatch.specialization });
      assert.equal(one.status, 409, JSON.stringify(one.body));
      assert.ok(one.body.detail.includes(REPAIRS_OFF), one.body.detail);
      const level = await api(srv.url, token, 'POST', `/api/v1/users/${mismatch.user_id}/progress/${mismatch.specialization}/level`,
        { new_level: 2 });
      assert.equal(level.status, 409, JSON.stringify(level.body));
      assert.ok(level.body.detail.includes(REPAIRS_OFF), level.body.detail);
      const xp = await api(srv.url, token, 'POST', `/api/v1/users/${mismatch.user_id}/progress/${mismatch.specialization}/xp`,
        { xp_gained: 5000 });
      assert.equal(xp.status, 409, JSON.stringify(xp.body));
      assert.ok(xp.body.detail.includes(REPAIRS_OFF), xp.body.detail);
    } finally {
      assert.equal(await stopServe(srv), 0, srv.stderr());
    }
    assertUnchanged(url, snap, 'serve');
  });

  test('sync: exit 1 with the message; sync --dry-run lists and changes nothing', () => {
    const r = lockstep(cfg, ['sync']);
    assert.equal(r.code, 1, show(r));
    assert.ok(r.err.includes(REPAIRS_OFF), show(r));
    assertUnchanged(url, snap, 'sync');
    const d = lockstep(cfg, ['sync', '--dry-run']);
    assert.ok(!d.err.includes(REPAIRS_OFF), `a dry run is allowed: ${show(d)}`);
    assert.equal(d.code, 0, show(d));
    assertUnchanged(url, snap, 'sync --dry-run');
  });

  test('Lockstep\'s schema holds no domain tables, and no schema but it appeared', () => {
    const domain = q(url, `SELECT table_schema || '.' || table_name FROM information_schema.tables
                           WHERE table_schema <> 'public' AND table_name IN
                           ('specializations', 'specialization_progress', 'user_licenses', 'license_progressions')`);
    assert.equal(domain, '', 'no copy of a domain table');
    // Lockstep's logins live in its own schema (attach.md): whatever the
    // table is called, it holds Lockstep's one account, not the academy's users.
    const users = q(url, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'lockstep' AND table_name = 'users'");
    if (users === '1') assert.equal(q(url, 'SELECT count(*) FROM lockstep.users'), '1', 'lockstep.users holds Lockstep\'s accounts only');
    assert.equal(q(url, `SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace
                         WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'`), 'lockstep,public');
  });

  test('the academy\'s schema public is byte-for-byte what it was', () => {
    assertUnchanged(url, snap, 'after every verb');
  });
});

test('an unknown key in [domain]: an error naming it, nothing created', { skip: SKIP }, () => {
  const url = createAcademy('badkey', { files: ['schema.sql'] });
  const snap = snapshot(url);
  const dir = tmpDir('badkey');
  const cfg = writeConfig(dir, url, { domain: { progress_lvl: 'current_level' } });
  for (const args of [['migrate'], ['check', '--dry-run'], ['doctor']]) {
    const r = lockstep(cfg, args);
    assert.notEqual(r.code, 0, `${args.join(' ')}: ${show(r)}`);
    assert.ok(r.code === 1 || r.code === 2, `${args.join(' ')}: exit 1 or 2, not a crash: ${show(r)}`);
    assert.match(r.err + r.out, /progress_lvl/, `${args.join(' ')} names the key: ${show(r)}`);
  }
  assert.equal(q(url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'lockstep'"), '0', 'no schema created');
  assertUnchanged(url, snap, 'an unknown key');
});

test('a mapping to a missing column: an error at start naming key, table and column', { skip: SKIP }, async () => {
  const url = createAcademy('badcol', { files: ['schema.sql'] });
  const snap = snapshot(url);
  const dir = tmpDir('badcol');
  const cfg = writeConfig(dir, url, { domain: { progress_level: 'lvl' } });
  const names = (r, what) => {
    const text = r.err + r.out;
    for (const word of ['progress_level', 'specialization_progress', 'lvl'])
      assert.match(text, new RegExp(`\\b${word}\\b`), `${what} names ${word}: ${show(r)}`);
  };
  for (const args of [['migrate'], ['check'], ['check', '--dry-run']]) {
    const r = lockstep(cfg, args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${show(r)}`);
    names(r, args.join(' '));
  }
  const d = lockstep(cfg, ['doctor']);
  assert.equal(d.code, 1, show(d));
  assert.match(d.out, /^✗ /m, show(d));
  names(d, 'doctor');
  await assert.rejects(startServe(dir, { LOCKSTEP_CONFIG: cfg }), (e) => {
    for (const word of ['progress_level', 'specialization_progress', 'lvl']) assert.match(e.message, new RegExp(`\\b${word}\\b`));
    return true;
  }, 'serve does not start');
  assert.equal(q(url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'lockstep'"), '0', 'no schema created');
  assertUnchanged(url, snap, 'a missing column');
});

test('an emptied academy: check exit 1, status unknown (allow_empty = false); 0 pairs allowed with allow_empty = true', { skip: SKIP }, () => {
  const url = createAcademy('empty', { template: base.split('/').pop() });
  q(url, 'TRUNCATE license_progressions, user_licenses, specialization_progress');
  const snap = snapshot(url);
  const dir = tmpDir('empty');
  const cfg = writeConfig(dir, url, { domain: { allow_empty: 'false' } });
  const m = lockstep(cfg, ['migrate']);
  assert.equal(m.code, 0, show(m));
  const r = lockstep(cfg, ['check']);
  assert.equal(r.code, 1, show(r));
  assert.notEqual(r.err.trim(), '', 'with the reason');
  const j = lockstep(cfg, ['check', '--json']);
  assert.equal(j.code, 1, show(j));
  if (j.out.trim()) assert.equal(JSON.parse(j.out).status, 'unknown', show(j));
  const dry = lockstep(cfg, ['check', '--dry-run']);
  assert.equal(dry.code, 1, show(dry));
  // The same database with allow_empty = true: a healthy check over 0 pairs.
  const cfgOk = writeConfig(tmpDir('empty-ok'), url, { domain: { allow_empty: 'true' }, top: {} });
  const ok = lockstep(cfgOk, ['check', '--json', '--dry-run']);
  assert.equal(ok.code, 0, show(ok));
  assert.equal(JSON.parse(ok.out).total_checked, 0);
  assertUnchanged(url, snap, 'an emptied academy');
});

test('a read-only role (SELECT on public, its own schema lockstep) runs migrate and check --dry-run', { skip: SKIP }, () => {
  const url = createAcademy('readonly', { template: base.split('/').pop() });
  const role = `academy_ro_${process.pid}`;
  q(PG, `CREATE ROLE "${role}" LOGIN`);
  made.roles.push(role);
  q(url, `GRANT USAGE ON SCHEMA public TO "${role}"; GRANT SELECT ON ALL TABLES IN SCHEMA public TO "${role}";
          CREATE SCHEMA lockstep; GRANT ALL ON SCHEMA lockstep TO "${role}"`);
  const roUrl = pgUrl(new URL(url).pathname.slice(1), role);
  // The role cannot write the academy (so the test means something).
  assert.throws(() => q(roUrl, 'UPDATE user_licenses SET current_level = current_level WHERE id = 1'), /permission denied/);
  assert.throws(() => q(roUrl, 'CREATE TABLE public.x (i int)'), /permission denied/);
  const snap = snapshot(url);
  const dir = tmpDir('readonly');
  const cfg = writeConfig(dir, roUrl);
  const m = lockstep(cfg, ['migrate']);
  assert.equal(m.code, 0, show(m));
  const r = lockstep(cfg, ['check', '--dry-run', '--json']);
  assert.equal(r.code, exitFor(baseOracle.summary.consistency_rate), show(r));
  assertReport(JSON.parse(r.out), oracle(url), emailsOf(url), 'check --dry-run as a read-only role');
  const c = lockstep(cfg, ['check', '--json']);
  assert.equal(c.code, exitFor(baseOracle.summary.consistency_rate), show(c));
  assertUnchanged(url, snap, 'a read-only role');
});

test('duplicate rows (no unique constraint on the pair): duplicate_rows per pair, counted once', { skip: SKIP }, () => {
  const url = createAcademy('dup', { template: base.split('/').pop() });
  load(url, 'duplicates.sql');
  const expected = oracle(url);
  assert.equal(expected.summary.duplicate_rows, 6);
  assert.equal(expected.summary.total_checked, baseOracle.summary.total_checked, 'a duplicate adds no pair');
  const snap = snapshot(url);
  const dir = tmpDir('dup');
  const cfg = writeConfig(dir, url);
  { const mg = lockstep(cfg, ['migrate']); assert.equal(mg.code, 0, show(mg)); }
  const r = lockstep(cfg, ['check', '--json']);
  assert.equal(r.code, exitFor(expected.summary.consistency_rate), show(r));
  assertReport(JSON.parse(r.out), expected, emailsOf(url), 'check over duplicates');
  const d = lockstep(cfg, ['doctor', '--json']);
  const points = JSON.parse(d.out).points;
  assert.ok(points.some((p) => p.result !== 'ok' && /unique/i.test(`${p.message} ${p.fix ?? ''}`)),
    `doctor marks the missing unique constraints: ${show(d)}`);
  assertUnchanged(url, snap, 'duplicates');
});

test('track names whose en_US.UTF-8 order is not their byte order: the merge pairs the right rows', { skip: SKIP }, () => {
  const url = createAcademy('collation', { template: base.split('/').pop() });
  load(url, 'collation.sql');
  const levels = { ...LEVELS, GK_A: 4, GKB: 4 };
  const expected = oracle(url, levels);
  const snap = snapshot(url);
  const dir = tmpDir('collation');
  const cfg = writeConfig(dir, url, { levels });
  { const mg = lockstep(cfg, ['migrate']); assert.equal(mg.code, 0, show(mg)); }
  const r = lockstep(cfg, ['check', '--dry-run', '--json']);
  assert.equal(r.code, exitFor(expected.summary.consistency_rate), show(r));
  assertReport(JSON.parse(r.out), expected, emailsOf(url), 'check under en_US.UTF-8');
  assertUnchanged(url, snap, 'collation');
});

test('a mapping with renamed tables and columns in another schema (names that need quoting): the same figures', { skip: SKIP }, () => {
  const url = createAcademy('renamed', { template: base.split('/').pop() });
  q(url, `CREATE SCHEMA "Academy App";
          ALTER TABLE specialization_progress RENAME TO "Progress Records";
          ALTER TABLE "Progress Records" RENAME COLUMN student_id TO learner_id;
          ALTER TABLE "Progress Records" RENAME COLUMN current_level TO "Level";
          ALTER TABLE user_licenses RENAME TO licences;
          ALTER TABLE licences RENAME COLUMN specialization_type TO track;
          ALTER TABLE licences RENAME COLUMN current_level TO "Level";
          ALTER TABLE users RENAME TO accounts;
          ALTER TABLE accounts RENAME COLUMN email TO mail;
          ALTER TABLE accounts RENAME COLUMN name TO display_name;
          ALTER TABLE specializations RENAME TO tracks;
          ALTER TABLE license_progressions RENAME TO licence_history;
          ALTER TABLE "Progress Records" SET SCHEMA "Academy App";
          ALTER TABLE licences SET SCHEMA "Academy App";
          ALTER TABLE accounts SET SCHEMA "Academy App";
          ALTER TABLE tracks SET SCHEMA "Academy App";
          ALTER TABLE licence_history SET SCHEMA "Academy App"`);
  const snap = snapshot(url, 'Academy App');
  const snapPublic = snapshot(url);
  const dir = tmpDir('renamed');
  const cfg = writeConfig(dir, url, {
    domain: {
      progress_table: 'Progress Records', progress_user: 'learner_id', progress_level: 'Level',
      license_table: 'licences', license_spec: 'track', license_level: 'Level',
      progressions_table: 'licence_history', users_table: 'accounts', users_email: 'mail',
      users_name: 'display_name', specs_table: 'tracks',
    },
  });
  // writeConfig wrote `schema = public`: point it at the academy's schema.
  fs.writeFileSync(cfg, fs.readFileSync(cfg, 'utf8').replace('schema = public', 'schema = Academy App'));
  const m = lockstep(cfg, ['migrate']);
  assert.equal(m.code, 0, show(m));
  const r = lockstep(cfg, ['check', '--json']);
  assert.equal(r.code, exitFor(baseOracle.summary.consistency_rate), show(r));
  assertReport(JSON.parse(r.out), baseOracle, emailsOf(base), 'check through a renamed mapping');
  const d = lockstep(cfg, ['doctor']);
  assert.equal(d.code, 0, show(d));
  assertUnchanged(url, snap, 'a renamed mapping', 'Academy App');
  assertUnchanged(url, snapPublic, 'a renamed mapping (public)');
});

/** The rows of a PostgreSQL academy as SQLite INSERTs (booleans 0/1, NULLs kept). */
function sqliteInserts(url) {
  const out = ['BEGIN;'];
  for (const t of ['alembic_version', 'users', 'specializations', 'specialization_progress', 'user_licenses',
    'license_progressions', 'audit_logs']) {
    out.push(q(url, `SELECT format('INSERT INTO %I (%s) VALUES (%s);', '${t}',
        string_agg(format('%I', j.key), ', ' ORDER BY j.ord),
        string_agg(CASE json_typeof(j.value) WHEN 'null' THEN 'NULL'
                     WHEN 'boolean' THEN CASE WHEN j.value::text = 'true' THEN '1' ELSE '0' END
                     WHEN 'number' THEN j.value::text
                     WHEN 'string' THEN quote_literal(j.value #>> '{}')
                     ELSE quote_literal(j.value::text) END, ', ' ORDER BY j.ord))
      FROM "${t}" t, json_each(row_to_json(t)) WITH ORDINALITY AS j(key, value, ord)
      GROUP BY row_to_json(t)::text ORDER BY row_to_json(t)::text`));
  }
  out.push('COMMIT;');
  return out.join('\n');
}

const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

test('an academy on SQLite with the same rows: the same figures; the academy\'s file byte-for-byte unchanged', { skip: SKIP }, () => {
  const dir = tmpDir('sqlite');
  const file = path.join(dir, 'academy.db');
  execFileSync('sqlite3', [file], { input: fs.readFileSync(path.join(FIXTURE, 'schema.sqlite.sql')) });
  execFileSync('sqlite3', [file], { input: sqliteInserts(base), maxBuffer: 64 << 20 });
  assert.equal(execFileSync('sqlite3', [file, 'SELECT count(*) FROM users; SELECT count(*) FROM specialization_progress WHERE current_level IS NULL;']).toString(),
    '10000\n3\n');
  const before = sha256(file);
  const data = path.join(dir, 'lockstep');
  const cfg = path.join(dir, 'lockstep.ini');
  fs.writeFileSync(cfg, [`data_dir = ${data}`, 'check_interval = 3600', '[domain]', 'source = attached', `database = ${file}`,
    '[levels]', ...Object.entries(LEVELS).map(([k, v]) => `${k} = ${v}`), ''].join('\n'), { mode: 0o600 });
  const unchanged = (what) => {
    assert.equal(sha256(file), before, `${what}: the academy's file changed`);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['academy.db', 'lockstep', 'lockstep.ini'], `${what}: no journal or WAL file beside the academy's`);
  };
  const m = lockstep(cfg, ['migrate']);
  assert.equal(m.code, 0, show(m));
  unchanged('migrate');
  for (const args of [['check', '--json'], ['check', '--dry-run', '--json']]) {
    const r = lockstep(cfg, args);
    assert.equal(r.code, exitFor(baseOracle.summary.consistency_rate), show(r));
    assertReport(JSON.parse(r.out), baseOracle, emailsOf(base), args.join(' '));
    unchanged(args.join(' '));
  }
  const d = lockstep(cfg, ['doctor']);
  assert.equal(d.code, 0, show(d));
  unchanged('doctor');
  const sy = lockstep(cfg, ['sync']);
  assert.equal(sy.code, 1, show(sy));
  assert.ok(sy.err.includes(REPAIRS_OFF), show(sy));
  unchanged('sync');
  const own = execFileSync('sqlite3', [path.join(data, 'lockstep.db'),
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('specializations', 'specialization_progress', 'user_licenses', 'license_progressions')"]).toString();
  assert.equal(own, '', 'no domain table in lockstep.db');
});

// ---------------------------------------------------------------------------
// repair = on: a writing role, `sync` over the academy.

/** Every progress and license row of the academy, by pair key, as JSON. */
function rowsByPair(url) {
  const read = (sql) => new Map(q(url, sql).split('\n').filter(Boolean).map((l) => {
    const i = l.indexOf('\t');
    return [l.slice(0, i), JSON.parse(l.slice(i + 1))];
  }));
  return {
    progress: read(`SELECT student_id || '|' || specialization_id || E'\\t' || row_to_json(p)::text FROM specialization_progress p`),
    license: read(`SELECT user_id || '|' || specialization_type || E'\\t' || row_to_json(l)::text FROM user_licenses l`),
  };
}

test('repair = on with a writing role: sync repairs what it may, through the mapped columns only, and leaves manual_review pairs alone', { skip: SKIP }, () => {
  const url = createAcademy('repair', { template: base.split('/').pop() });
  const role = `academy_rw_${process.pid}`;
  q(PG, `CREATE ROLE "${role}" LOGIN`);
  made.roles.push(role);
  // Read everything; write the three tables a repair writes (and, for the
  // academy's own audit trigger on license levels, audit_logs).
  q(url, `GRANT SELECT ON ALL TABLES IN SCHEMA public TO "${role}";
          GRANT INSERT, UPDATE ON specialization_progress, user_licenses, license_progressions, audit_logs TO "${role}";
          GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "${role}";
          CREATE SCHEMA lockstep; GRANT ALL ON SCHEMA lockstep TO "${role}"`);
  const before = oracle(url);
  const rows = rowsByPair(url);
  const untouched = snapshot(url);
  const progressionsBefore = Number(q(url, 'SELECT max(id) FROM license_progressions'));
  const dir = tmpDir('repair');
  const cfg = writeConfig(dir, pgUrl(new URL(url).pathname.slice(1), role), { domain: { repair: 'on' } });
  { const mg = lockstep(cfg, ['migrate']); assert.equal(mg.code, 0, show(mg)); }

  const dry = lockstep(cfg, ['sync', '--dry-run', '--json']);
  assert.equal(dry.code, 0, show(dry));
  assertUnchanged(url, untouched, 'sync --dry-run with repair = on');

  const r = lockstep(cfg, ['sync', '--json']);
  assert.ok(r.code === 0 || r.code === 1, show(r));
  const result = JSON.parse(r.out);
  const repairable = before.pairs.filter((p) => ['level_mismatch', 'missing_license', 'missing_progress'].includes(p.issue_type));
  assert.equal(result.synced_count, repairable.length, `every repairable pair synced: ${r.out.slice(0, 2000)}`);

  // The oracle afterwards: nothing repairable left; the manual_review pairs as they were.
  const after = oracle(url);
  for (const t of ['level_mismatch', 'missing_license', 'missing_progress']) assert.equal(after.summary[t], 0, t);
  const manual = (o) => o.pairs.filter((p) => ACTION[p.issue_type] === 'manual_review');
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
    const max = LEVELS[p.specialization];
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
  const appended = q(url, `SELECT l.user_id || '|' || l.specialization_type, g.from_level, g.to_level, coalesce(g.advancement_reason, '')
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
  assert.equal(q(url, "SELECT count(*) FROM public.audit_logs WHERE action = 'LICENSE_LEVEL_CHANGE'"), String(mismatched.length),
    'the academy\'s trigger wrote its audit rows to the academy\'s audit_logs');
  const foreign = q(url, `SELECT string_agg(n.nspname || '.' || c.relname, ',') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                          WHERE n.nspname = 'lockstep' AND c.relname = 'audit_logs'`);
  if (foreign) assert.equal(q(url, "SELECT count(*) FROM lockstep.audit_logs WHERE action = 'LICENSE_LEVEL_CHANGE'"), '0',
    'no row of the academy\'s trigger in Lockstep\'s own audit table');

  // The rest of the academy: users, specializations, schema unchanged.
  const s = snapshot(url);
  assert.equal(s.dump, untouched.dump, 'the schema dump of public');
  for (const t of ['users', 'specializations', 'alembic_version']) assert.equal(s.rows[t], untouched.rows[t], t);

  // A check agrees with the oracle; a second sync finds nothing.
  const c = lockstep(cfg, ['check', '--json']);
  assertReport(JSON.parse(c.out), after, emailsOf(url), 'check after sync');
  const again = lockstep(cfg, ['sync', '--json']);
  assert.equal(JSON.parse(again.out).synced_count, 0, show(again));
});

test('repair = on with progressions_table empty: the repairs happen, no progression is appended', { skip: SKIP }, () => {
  const url = createAcademy('noprog', { template: base.split('/').pop() });
  const dir = tmpDir('noprog');
  const cfg = writeConfig(dir, url, { domain: { repair: 'on', progressions_table: '' } });
  { const mg = lockstep(cfg, ['migrate']); assert.equal(mg.code, 0, show(mg)); }
  const before = snapshot(url);
  const r = lockstep(cfg, ['sync', '--json']);
  assert.ok(r.code === 0 || r.code === 1, show(r));
  const after = oracle(url);
  for (const t of ['level_mismatch', 'missing_license', 'missing_progress']) assert.equal(after.summary[t], 0, `${t}: ${r.out.slice(0, 1000)}`);
  const now = snapshot(url);
  assert.equal(now.rows.license_progressions, before.rows.license_progressions, 'license_progressions untouched');
  const seq = (snap) => /license_progressions_id_seq=(\S+)/.exec(snap.seqs)[1];
  assert.equal(seq(now), seq(before), 'no progression id taken');
});

test('repair = on with the GRANTs of docs/attach.md only: the pairs the academy\'s audit trigger cannot follow fail with the database\'s reason, and change nothing', { skip: SKIP }, () => {
  const url = createAcademy('docgrants', { template: base.split('/').pop() });
  const role = `academy_doc_${process.pid}`;
  q(PG, `CREATE ROLE "${role}" LOGIN`);
  made.roles.push(role);
  // docs/attach.md, step 1 and "Repairs", word for word but the role's name.
  q(url, `GRANT USAGE ON SCHEMA public TO "${role}";
          GRANT SELECT ON specialization_progress, user_licenses, license_progressions, users, specializations TO "${role}";
          CREATE SCHEMA lockstep AUTHORIZATION "${role}";
          GRANT INSERT, UPDATE ON specialization_progress, user_licenses TO "${role}";
          GRANT INSERT ON license_progressions TO "${role}";
          GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "${role}"`);
  const before = oracle(url);
  const rows = rowsByPair(url);
  const snap = snapshot(url);
  const dir = tmpDir('docgrants');
  const cfg = writeConfig(dir, pgUrl(new URL(url).pathname.slice(1), role), { domain: { repair: 'on' } });
  { const mg = lockstep(cfg, ['migrate']); assert.equal(mg.code, 0, show(mg)); }
  const d = lockstep(cfg, ['doctor']);
  assert.equal(d.code, 0, show(d));

  // A license level change fires the academy's trigger, which writes
  // audit_logs as the role that changed the level: Lockstep's, without INSERT there.
  const r = lockstep(cfg, ['sync', '--json']);
  assert.equal(r.code, 1, `a pair could not be repaired: ${show(r)}`);
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
  const after = oracle(url);
  assert.deepEqual(after.pairs.filter((p) => p.issue_type === 'level_mismatch'), before.pairs.filter((p) => p.issue_type === 'level_mismatch'));
  assert.equal(after.summary.missing_license + after.summary.missing_progress, 0);
  const now = rowsByPair(url);
  for (const p of before.pairs.filter((x) => x.issue_type === 'level_mismatch')) {
    const k = `${p.user_id}|${p.specialization}`;
    assert.deepEqual(now.license.get(k), rows.license.get(k), `license ${k}`);
    assert.deepEqual(now.progress.get(k), rows.progress.get(k), `progress ${k}`);
  }
  const s2 = snapshot(url);
  assert.equal(s2.rows.audit_logs, snap.rows.audit_logs, 'audit_logs untouched');
  assert.equal(s2.rows.users, snap.rows.users, 'users untouched');
  assert.equal(s2.dump, snap.dump, 'the schema dump of public');
});

test('repair = on: no write of Lockstep stores a level outside 1..max, nor on a track without a level count', { skip: SKIP }, async () => {
  const url = createAcademy('guard', { template: base.split('/').pop() });
  const dir = tmpDir('guard');
  const cfg = writeConfig(dir, url, { domain: { repair: 'on' } });
  { const mg = lockstep(cfg, ['migrate']); assert.equal(mg.code, 0, show(mg)); }
  const r = lockstep(cfg, ['user', 'add', '--email', 'guard@lockstep.test', '--role', 'admin', '--password-stdin'],
    { input: 'guard-password-123\n' });
  assert.equal(r.code, 0, show(r));
  const snap = snapshot(url);
  const consistent = (spec) => q(url, `SELECT p.student_id FROM specialization_progress p JOIN user_licenses l
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
    const top = q(url, `SELECT p.student_id FROM specialization_progress p JOIN user_licenses l
      ON l.user_id = p.student_id AND l.specialization_type = p.specialization_id
      WHERE p.specialization_id = 'INTERNSHIP' AND p.current_level = 3 AND l.current_level = 3 ORDER BY 1 LIMIT 1`);
    const xp = await api(srv.url, token, 'POST', `/api/v1/users/${top}/progress/INTERNSHIP/xp`, { xp_gained: 100000 });
    assert.ok(xp.status < 500, JSON.stringify(xp.body));
    assert.equal(q(url, `SELECT current_level FROM specialization_progress WHERE student_id = ${top} AND specialization_id = 'INTERNSHIP'`), '3');
    assert.equal(q(url, `SELECT current_level FROM user_licenses WHERE user_id = ${top} AND specialization_type = 'INTERNSHIP'`), '3');
  } finally {
    assert.equal(await stopServe(srv), 0, srv.stderr());
  }
  const now = snapshot(url);
  // Rows are "count md5 tuples": the content of these tables is what it was.
  for (const t of ['users', 'specializations', 'user_licenses', 'license_progressions'])
    assert.equal(now.rows[t].split(' ')[1], snap.rows[t].split(' ')[1], `${t}: nothing written`);
  assert.equal(q(url, `SELECT count(*) FROM specialization_progress WHERE specialization_id IN ('PLAYER', 'COACH', 'INTERNSHIP')
    AND (current_level < 1 OR current_level > CASE specialization_id WHEN 'INTERNSHIP' THEN 3 ELSE 8 END)`), '3',
  'the seed\'s three out-of-range progress levels, no new one');
});

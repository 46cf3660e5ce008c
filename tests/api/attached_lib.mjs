// attached_lib.mjs — what the attached-mode tests on PostgreSQL share
// (attached.test.mjs: the read-only verbs and the mapping; attached_repair.test.mjs:
// repair = on): the reference academy (tests/fixtures/academy) made into
// databases of this process, the SQL oracle, snapshots of the academy's schema,
// and the lockstep command line. Two files so that scripts/pg-test runs them at
// once.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, PG } from './lib.mjs';

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
  // Every table in one query (one psql for all: a snapshot is taken after each verb).
  const rows = {};
  if (tables.length) {
    const per = tables.map((t) => `SELECT '${t}' AS t, count(*) || ' ' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text COLLATE "C"), ''))
                        || ' ' || (SELECT md5(coalesce(string_agg(ctid::text || ':' || xmin::text, ',' ORDER BY ctid), ''))
                                   FROM "${schema}"."${t}") AS v
                      FROM "${schema}"."${t}" x`);
    for (const line of q(url, `SELECT t, v FROM (${per.join(' UNION ALL ')}) s ORDER BY t COLLATE "C"`).split('\n').filter(Boolean)) {
      const bar = line.indexOf('|');
      rows[line.slice(0, bar)] = line.slice(bar + 1);
    }
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

/** The template every test copies: the reference academy, loaded once per file. */
function loadBase() {
  const base = createAcademy('base');
  return { base, baseOracle: oracle(base) };
}

export {
  FIXTURE,
  SKIP,
  LEVELS,
  REPAIRS_OFF,
  ACADEMY_TABLES,
  ISSUE_TYPES,
  ACTION,
  made,
  serial,
  pgUrl,
  psql,
  q,
  tmpDir,
  createAcademy,
  load,
  oracle,
  exitFor,
  statusFor,
  snapshot,
  assertUnchanged,
  cleanEnv,
  writeConfig,
  lockstep,
  show,
  assertReport,
  emailsOf,
  loadBase,
};

// doctor.test.mjs — `lockstep doctor` (attach.md, "lockstep doctor"), black-box
// on both stores: one line per point with ✓ / ! / ✗, exit 0 when nothing is
// ✗ and 1 otherwise, `--json` with the same points, and it changes nothing:
// no store or directory appears where there was none, a store it examined
// holds the same rows (and, for SQLite, the same bytes) afterwards, a schema
// behind this build stays behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, PG, freshDir, dbArgs, lockstep, sql } from './lib.mjs';

function env(extra = {}) {
  const e = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('LOCKSTEP_') || k === 'LOCKSTEP_BIN' || k.startsWith('LOCKSTEP_TEST')) e[k] = v;
  return { ...e, LOCKSTEP_CONFIG: '', ...extra };
}

function doctor(dir, args = [], extra = {}) {
  const r = spawnSync(BIN, ['--data-dir', dir, ...dbArgs(dir), 'doctor', ...args],
    { env: env(extra), encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function points(dir, args = [], extra = {}) {
  const r = doctor(dir, ['--json', ...args], extra);
  const doc = JSON.parse(r.out);
  return { code: r.code, ok: doc.ok, by: Object.fromEntries(doc.points.map((p) => [p.name, p])) };
}

/** What the store holds, as one digest: the file's bytes (SQLite), or every row of its tables (PostgreSQL). */
function storeDigest(dir) {
  if (!PG) return crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, 'lockstep.db'))).digest('hex');
  const tables = sql(dir, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").split('\n');
  return tables.map((t) => `${t}:${sql(dir, `SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM "${t}" x`)}`).join(' ');
}

test('no store yet: every point holds or says who creates it, exit 0, nothing created', () => {
  const dir = freshDir('doctor-empty');
  const data = path.join(dir, 'data');
  const r = spawnSync(BIN, ['--data-dir', data, ...dbArgs(dir), 'doctor'], { env: env(), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^✓ config {4}no config file/m);
  assert.match(r.stdout, /^! data_dir  .*\/data does not exist yet; serve creates it$/m);
  assert.match(r.stdout, /^! store {5}no Lockstep store at /m);
  assert.match(r.stdout, /fix: `lockstep serve` or `lockstep migrate` creates it/);
  assert.match(r.stdout, /^doctor: this configuration will work$/m);
  assert.ok(!fs.existsSync(data), 'no data dir created');
  if (PG) assert.equal(sql(dir, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), '0', 'no table created');
});

test('a working store: every point ✓, the JSON says the same, and the store is unchanged', () => {
  const dir = freshDir('doctor-ok');
  lockstep(dir, ['demo', '--users', '30']);
  lockstep(dir, ['check']);
  const before = storeDigest(dir);
  const r = doctor(dir);
  assert.equal(r.code, 0, r.out + r.err);
  assert.equal(r.err, '');
  for (const name of ['config', 'data_dir', 'store', 'schema', 'read', 'write', 'data', 'scheduler', 'listen'])
    assert.match(r.out, new RegExp(`^✓ ${name} `, 'm'), `${name} holds:\n${r.out}`);
  assert.match(r.out, /^✓ data {6}31 users, 3 specializations; the last check covered \d+ pairs$/m);
  assert.match(r.out, new RegExp(`^✓ store {5}${PG ? 'PostgreSQL' : 'SQLite'} store reachable$`, 'm'));
  // SQLite's watcher is woken by commits (inotify); PostgreSQL's by NOTIFY.
  const wakes = /^✓ watch .*capture triggers are installed; drift is applied within a second \(each commit wakes the watcher: inotify\)/m;
  if (PG) assert.doesNotMatch(r.out, wakes);
  else assert.match(r.out, wakes);
  const j = points(dir);
  assert.equal(j.code, 0);
  assert.equal(j.ok, true);
  assert.equal(j.by.schema.result, 'ok');
  assert.equal(j.by.alerts.result, 'note');
  assert.match(j.by.alerts.fix, /alert_webhook_url/);
  assert.equal(storeDigest(dir), before, 'doctor changed nothing in the store');
});

test('a schema behind this build is a remark and stays behind; one ahead is ✗', () => {
  const dir = freshDir('doctor-schema');
  lockstep(dir, ['migrate']);
  const latest = Number(sql(dir, 'SELECT max(version) FROM schema_migrations'));
  sql(dir, `DELETE FROM schema_migrations WHERE version = ${latest}`);
  let j = points(dir);
  assert.equal(j.code, 0);
  assert.equal(j.by.schema.result, 'note');
  assert.equal(j.by.schema.message, `schema at version ${latest - 1}; this lockstep migrates it to ${latest}`);
  assert.equal(Number(sql(dir, 'SELECT max(version) FROM schema_migrations')), latest - 1, 'not migrated');
  sql(dir, `INSERT INTO schema_migrations (version, name, applied_at)
    SELECT ${latest}, 'restored', applied_at FROM schema_migrations WHERE version = 1
    UNION ALL SELECT ${latest + 5}, 'future', applied_at FROM schema_migrations WHERE version = 1`);
  j = points(dir);
  assert.equal(j.code, 1);
  assert.equal(j.ok, false);
  assert.equal(j.by.schema.result, 'fail');
  assert.match(j.by.schema.message, new RegExp(`version ${latest + 5}, newer than this lockstep understands \\(${latest}\\)`));
  assert.equal(j.by.schema.fix, 'upgrade lockstep');
});

test('a bad config is one ✗ line naming file and line, exit 1', () => {
  const dir = freshDir('doctor-config');
  const ini = path.join(dir, 'lockstep.ini');
  fs.writeFileSync(ini, 'check_interval = 60\nchek_interval = 30\n');
  const r = doctor(dir, [], { LOCKSTEP_CONFIG: ini });
  assert.equal(r.code, 1, r.out + r.err);
  assert.match(r.out, new RegExp(`^✗ config {4}${ini.replace(/[.]/g, '\\.')}:2: .*chek_interval`, 'm'));
  assert.match(r.out, /^doctor: fix the points marked ✗ first$/m);
  const j = points(dir, [], { LOCKSTEP_CONFIG: ini });
  assert.equal(j.ok, false);
  assert.equal(j.by.config.result, 'fail');
  // A good file is named as parsed.
  fs.writeFileSync(ini, 'check_interval = 60\n');
  const ok = points(dir, [], { LOCKSTEP_CONFIG: ini });
  assert.equal(ok.by.config.message, `${ini} parsed`);
  assert.match(ok.by.scheduler.message, /^check every 60s, /);
});

test('a secret readable by others and an unreachable database are ✗ with their fix', () => {
  const dir = freshDir('doctor-faults');
  lockstep(dir, ['migrate']);
  const key = path.join(dir, 'secret.key');
  fs.writeFileSync(key, 'a'.repeat(64), { mode: 0o644 });
  fs.chmodSync(key, 0o644);
  let j = points(dir);
  assert.equal(j.code, 1);
  assert.equal(j.by.secret.result, 'fail');
  assert.equal(j.by.secret.fix, `chmod 600 ${key}`);
  fs.chmodSync(key, 0o600);
  j = points(dir);
  assert.equal(j.by.secret.result, 'ok');
  assert.equal(fs.statSync(key).mode & 0o777, 0o600);
  // Lengths serve refuses: a short or over-long secret.key, a short jwt_secret.
  // One past the longest (1,024) is refused by the same rule serve applies.
  for (const text of ['short\n', 'x'.repeat(1100), 'y'.repeat(1025), 'z'.repeat(1025) + '\n']) {
    fs.writeFileSync(key, text, { mode: 0o600 });
    j = points(dir);
    assert.equal(j.code, 1, text.length);
    assert.match(j.by.secret.message, /serve refuses it$/);
    assert.ok(!j.by.secret.message.includes(text.trim()), 'the secret is never shown');
  }
  j = points(dir, [], { LOCKSTEP_JWT_SECRET: 'too-short' });
  assert.equal(j.by.secret.result, 'fail');
  assert.equal(j.by.secret.message, 'jwt_secret has 9 characters; serve refuses it');
  fs.writeFileSync(key, 'a'.repeat(64), { mode: 0o600 });
  // A database server that is not there: ✗ store, and the other points still come.
  const r = spawnSync(BIN, ['--data-dir', dir, '--db', 'postgres://lockstep@127.0.0.1:1/nothing?connect_timeout=2',
    'doctor', '--json'], { env: env(), encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  const doc = JSON.parse(r.stdout);
  const store = doc.points.find((p) => p.name === 'store');
  assert.equal(store.result, 'fail');
  assert.match(store.message, /^PostgreSQL store: /);
  assert.ok(doc.points.find((p) => p.name === 'alerts'), 'points after the store still reported');
  // Usage errors stay usage errors.
  const u = spawnSync(BIN, ['doctor', '--nope'], { env: env(), encoding: 'utf8' });
  assert.equal(u.status, 2);
});

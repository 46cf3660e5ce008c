// replica.test.mjs — checks that read a streaming PostgreSQL replica
// ([store] replica_url): the run records the replica's replay lag, and falls
// back to the primary (recorded, with a day-log WARNING) when the replica is
// unreachable or lags more than replica_max_lag. One primary and one replica
// of this file's own, in a temporary directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, dayLog, freePort } from './lib.mjs';

const PGBIN = process.env.LOCKSTEP_TEST_PGBIN;
const skip = !PGBIN && 'PostgreSQL only (LOCKSTEP_TEST_PGBIN, set by scripts/pg-test)';
const root = process.getuid && process.getuid() === 0;
let work, primaryPort, replicaPort, primary, replica;

// PostgreSQL refuses to run as root: its tools run as the postgres user then.
function asPg(tool, args) {
  const cmd = path.join(PGBIN, tool);
  return root ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' })
    : execFileSync(cmd, args, { stdio: 'pipe' });
}
const opts = (port) => `-c listen_addresses=127.0.0.1 -p ${port} -k ${work} -c fsync=off `
  + '-c wal_level=replica -c max_wal_senders=4 -c max_connections=40';
const psql = (url, query) => execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', url, '-c', query])
  .toString().trim();

before(async () => {
  if (skip) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-replica-'));
  if (root) execFileSync('chown', ['postgres', work]);
  primaryPort = await freePort();
  replicaPort = await freePort();
  asPg('initdb', ['-D', `${work}/primary`, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  asPg('pg_ctl', ['-D', `${work}/primary`, '-l', `${work}/primary.log`, '-w', 'start', '-o', opts(primaryPort)]);
  const server = `postgres://postgres@127.0.0.1:${primaryPort}/postgres`;
  psql(server, 'CREATE DATABASE lockstep');
  primary = `postgres://postgres@127.0.0.1:${primaryPort}/lockstep`;
  replica = `postgres://postgres@127.0.0.1:${replicaPort}/lockstep`;
  const dir = dataDir('seed');
  run(dir, ['--db', primary, 'migrate']);
  run(dir, ['--db', primary, 'demo']);
  asPg('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', `${work}/replica`,
    '-R', '-X', 'stream', '-c', 'fast']);
  asPg('pg_ctl', ['-D', `${work}/replica`, '-l', `${work}/replica.log`, '-w', 'start', '-o', opts(replicaPort)]);
});

after(() => {
  if (skip || !work) return;
  for (const d of ['replica', 'primary'])
    try { asPg('pg_ctl', ['-D', `${work}/${d}`, '-m', 'immediate', 'stop']); } catch { /* not running */ }
  if (!process.exitCode) fs.rmSync(work, { recursive: true, force: true });
});

function dataDir(name) {
  const d = path.join(work, `data-${name}`);
  fs.mkdirSync(d);
  return d;
}

/** lockstep on data dir `dir` with the config text `ini` (none: no file). */
function run(dir, args, ini = null) {
  const env = { ...process.env, LOCKSTEP_CONFIG: '' };
  if (ini !== null) {
    env.LOCKSTEP_CONFIG = path.join(dir, 'lockstep.ini');
    fs.writeFileSync(env.LOCKSTEP_CONFIG, ini);
  }
  return spawnSync(BIN, ['--data-dir', dir, ...args], { env, encoding: 'utf8' });
}

/** `lockstep check --json` on the primary with [store] settings `store`. */
function check(name, store) {
  const dir = dataDir(name);
  const r = run(dir, ['check', '--json'], `db = ${primary}\n[store]\n${store}\n`);
  assert.ok([0, 3, 4].includes(r.status), r.stderr);
  const latest = psql(primary, 'SELECT source, coalesce(replica_lag_seconds::text, \'null\'), replica_fallback, '
    + 'total_checked, consistent, inconsistent FROM check_runs ORDER BY id DESC LIMIT 1').split('|');
  return { dir, report: JSON.parse(r.stdout), row: latest };
}

/** Wait until the replica has replayed everything the primary wrote. */
function caughtUp() {
  const lsn = psql(primary, 'SELECT pg_current_wal_lsn()');
  for (let i = 0; i < 200; i++) {
    if (psql(replica, `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn`) === 't') return;
    execFileSync('sleep', ['0.05']);
  }
  throw new Error('the replica did not catch up');
}

test('a check reads the replica: source and lag recorded, figures as on the primary', { skip }, () => {
  caughtUp();
  const direct = run(dataDir('direct'), ['--db', primary, 'check', '--json']);
  assert.ok([0, 3, 4].includes(direct.status), direct.stderr);
  const alone = JSON.parse(direct.stdout);
  assert.equal(alone.source, 'primary');
  assert.equal(alone.replica_lag_seconds, null);
  assert.equal(alone.replica_fallback, '');
  caughtUp();
  const { dir, report, row } = check('replica', `replica_url = ${replica}`);
  assert.equal(report.source, 'replica');
  assert.equal(typeof report.replica_lag_seconds, 'number');
  assert.ok(report.replica_lag_seconds >= 0 && report.replica_lag_seconds < 60, String(report.replica_lag_seconds));
  assert.equal(report.replica_fallback, '');
  for (const k of ['total_checked', 'consistent', 'inconsistent', 'status'])
    assert.equal(report[k], alone[k], k);
  assert.ok(report.total_checked > 0);
  assert.equal(row[0], 'replica');
  assert.ok(Number(row[1]) >= 0 && Number(row[1]) < 60, row[1]);
  assert.equal(row[2], '');
  assert.deepEqual(row.slice(3).map(Number), [alone.total_checked, alone.consistent, alone.inconsistent]);
  assert.match(dayLog(dir), /INFO.*Check read from the replica \(replay lag \d+\.\d s\)/);
  // The report file says the same.
  const file = path.join(dir, 'logs/integrity_checks',
    fs.readdirSync(path.join(dir, 'logs/integrity_checks')).find((f) => /_violations\.json$/.test(f)));
  const written = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(written.source, 'replica');
  assert.equal(written.replica_lag_seconds, report.replica_lag_seconds);
});

test('replay paused and a write on the primary: the lag is over replica_max_lag, the primary is read', { skip }, () => {
  psql(replica, 'SELECT pg_wal_replay_pause()');
  try {
    execFileSync('sleep', ['1.1']);
    psql(primary, 'UPDATE user_licenses SET current_level = current_level + 1 WHERE user_id <= 5');
    const { dir, report, row } = check('paused', `replica_url = ${replica}\nreplica_max_lag = 1`);
    assert.equal(report.source, 'primary');
    assert.ok(report.replica_lag_seconds > 1, String(report.replica_lag_seconds));
    assert.match(report.replica_fallback, /^replay lag \d+\.\d s is above replica_max_lag \(1 s\)$/);
    assert.equal(row[0], 'primary');
    assert.ok(Number(row[1]) > 1, row[1]);
    assert.equal(row[2], report.replica_fallback);
    assert.match(dayLog(dir), /WARNING.*Replica not used \(replay lag .* above replica_max_lag \(1 s\)\); the check read the primary/);
    // The primary's figures: the write is seen.
    const direct = JSON.parse(run(dataDir('paused-direct'), ['--db', primary, 'check', '--json']).stdout);
    assert.equal(report.inconsistent, direct.inconsistent);
  } finally {
    psql(replica, 'SELECT pg_wal_replay_resume()');
    psql(primary, 'UPDATE user_licenses SET current_level = current_level - 1 WHERE user_id <= 5');
  }
});

test('the replica stopped: the check reads the primary, the reason recorded without the password', { skip }, () => {
  asPg('pg_ctl', ['-D', `${work}/replica`, '-m', 'fast', '-w', 'stop']);
  const url = `postgres://postgres:sekret-pw@127.0.0.1:${replicaPort}/lockstep`;
  const { dir, report, row } = check('stopped', `replica_url = ${url}`);
  assert.equal(report.source, 'primary');
  assert.equal(report.replica_lag_seconds, null);
  assert.match(report.replica_fallback, /unreachable/);
  assert.equal(row[0], 'primary');
  assert.equal(row[1], 'null');
  assert.equal(row[2], report.replica_fallback);
  const log = dayLog(dir);
  assert.match(log, /WARNING.*Replica not used \(replica postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/lockstep unreachable: .*\); the check read the primary/);
  assert.doesNotMatch(log + report.replica_fallback, /sekret-pw/);
});

test('configuration errors: replica_url on SQLite, a URL that is not PostgreSQL, a key [store] does not have', { skip }, () => {
  const cases = [
    ['[store]\nreplica_url = postgres://postgres@127.0.0.1:1/lockstep\n', /replica_url needs a PostgreSQL db/],
    [`db = ${primary}\n[store]\nreplica_url = sqlite:/tmp/other.db\n`, /lockstep\.ini:3: invalid replica_url 'sqlite:\/tmp\/other\.db' \(expected a PostgreSQL URL/],
    [`db = ${primary}\n[store]\nreplica_url = mysql://u:hidden-pw@h/db\n`, /lockstep\.ini:3: invalid replica_url 'mysql:\/\/u:\*\*\*@h\/db'/],
    [`db = ${primary}\n[store]\nreplica_lag = 5\n`, /lockstep\.ini:3: unknown key replica_lag in \[store\]/],
    [`db = ${primary}\n[store]\nreplica_max_lag = -1\n`, /lockstep\.ini:3: invalid replica_max_lag '-1'/],
    [`db = ${primary}\nreplica_url = ${replica}\n`, /lockstep\.ini:2: replica_url goes under \[store\]/],
  ];
  for (const [i, [ini, message]] of cases.entries()) {
    const dir = dataDir(`config-${i}`);
    const r = run(dir, ['check'], ini);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /hidden-pw/);
    assert.deepEqual(fs.readdirSync(dir), ['lockstep.ini']);
  }
  const env = spawnSync(BIN, ['--data-dir', dataDir('config-env'), 'check'],
    { env: { ...process.env, LOCKSTEP_CONFIG: '', LOCKSTEP_REPLICA_MAX_LAG: 'soon' }, encoding: 'utf8' });
  assert.equal(env.status, 1);
  assert.match(env.stderr, /LOCKSTEP_REPLICA_MAX_LAG: invalid replica_max_lag 'soon'/);
});

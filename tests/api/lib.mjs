// lib.mjs — the API tests' face of the shared harness (tests/lib/harness.mjs):
// fresh data dirs (and, under LOCKSTEP_TEST_PG, fresh PostgreSQL databases),
// the lockstep binary, `serve` on a free port, SQL on the store, HTTP with a
// token; and what only the API tests use: a demo store served with a known
// signing secret (setupServer), JWTs of their own, the scheduler's day log.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import {
  ADMIN, JWT_SECRET, addUser, api, cli, freshDir, login, sleep, startServe, stopServe, until,
} from '../lib/harness.mjs';

export {
  BIN, PG, SCALE, JWT_SECRET, sleep, freshDir, dbArgs, storeUrl, startServe, stopServe, sql, login, api, request,
  spawnChild, holdWriteLock, freePort, webhookReceiver, DRIFT_SQL, REPAIR_SQL,
} from '../lib/harness.mjs';

/** Run a lockstep verb on `dir` (with `input` on stdin); returns stdout and, for `demo`, the admin password. */
export function lockstep(dir, args, env = {}, input = undefined) {
  const out = cli(dir, args, { env, input });
  const m = /password: (\S+)/.exec(out);
  return { out, password: m ? m[1] : null };
}

/** Poll `cond` until it holds; throws after `timeoutMs`. */
export function waitFor(cond, timeoutMs = 5000, everyMs = 50) {
  return until(cond, { timeout: timeoutMs, every: everyMs });
}

/** GET /api/v1/health/status with `token` (200 asserted); its body. */
export async function healthStatus(srv, token) {
  const r = await api(srv.url, token, 'GET', '/api/v1/health/status');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** Milliseconds until `cond(status)` holds, looking every 20 ms (fails after 5 s). */
export async function msUntilStatus(srv, token, cond) {
  const t0 = performance.now();
  for (;;) {
    const s = await healthStatus(srv, token);
    if (cond(s)) return performance.now() - t0;
    if (performance.now() - t0 > 5000) assert.fail(`not seen within 5 s: ${JSON.stringify(s).slice(0, 600)}`);
    await sleep(20);
  }
}

/**
 * A full sweep (check-now?full=true) that finds the watcher wrong about one
 * pair, consistent to it and `issue` in truth: one divergence listed, the
 * state corrected in /health/status. Resolves with the check-now body.
 */
export async function sweepFindsOneDivergence(srv, token, user, spec, issue) {
  const full = await api(srv.url, token, 'POST', '/api/v1/health/check-now?full=true');
  assert.equal(full.status, 200, JSON.stringify(full.body));
  assert.equal(full.body.kind, 'full');
  assert.equal(full.body.divergences, 1);
  assert.deepEqual(full.body.divergent_pairs, [{ user_id: user, specialization: spec, watcher: null, full: issue }]);
  const s = await healthStatus(srv, token);
  const v = s.violations.find((x) => x.user_id === user && x.specialization === spec);
  assert.equal(v?.issue_type, issue);
  assert.equal(s.total_violations, full.body.inconsistent);
  assert.equal(s.watch.divergences_total, 1);
  return full.body;
}

/** All day-log files of the data dir, concatenated in date order. */
export function dayLog(dir) {
  const d = path.join(dir, 'logs/sync_jobs');
  if (!fs.existsSync(d)) return '';
  return fs.readdirSync(d).filter((f) => /^scheduler_\d{8}\.log$/.test(f)).sort()
    .map((f) => fs.readFileSync(path.join(d, f), 'utf8')).join('');
}

/** An HS256 JWT signed with `secret` (or unsigned with alg none). */
export function makeJwt(secret, payload, header = { alg: 'HS256', typ: 'JWT' }) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${b64(header)}.${b64(payload)}`;
  if (header.alg === 'none') return `${head}.`;
  return `${head}.${crypto.createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/**
 * A demo store served on a free port with a known signing secret; the admin
 * token, and a helper to add users with a password. Stop with ctx.stop().
 */
export async function setupServer(name, env = {}, demoArgs = []) {
  const dir = freshDir(name);
  const { password } = lockstep(dir, ['demo', ...demoArgs]);
  const srv = await startServe(dir, { LOCKSTEP_JWT_SECRET: JWT_SECRET, LOCKSTEP_CHECK_INTERVAL: '3600', ...env });
  let adminToken;
  try {
    adminToken = await login(srv.url, ADMIN, password);
  } catch (e) {
    await stopServe(srv);
    throw e;
  }
  return {
    dir, srv, url: srv.url, adminPassword: password, adminToken,
    addUser: (email, role, pw = 'password-123', nameArg = 'Test User') => addUser(dir, { email, role, password: pw, name: nameArg }),
    stop: () => stopServe(srv),
  };
}

// throttle.test.mjs — failed logins: the same answer (and about the same time)
// for an unknown email as for a wrong password; 429 with Retry-After after 5
// failures for one email, or login_address_max_failures from one client
// address (any emails), until
// the window passes — one account's failures do not lock out the others behind
// the same address; LOGIN / LOGIN_FAILED audit rows with the client address.
//
// Every request here comes from a loopback address of its own (127.0.x.y), so
// the per-email and the per-address limits can be told apart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setupServer, request, sql, sleep, startServe, stopServe, freshDir, lockstep } from './lib.mjs';

const WINDOW = 20; // seconds; the default of 5 failures per email is kept
const PER_ADDRESS = 8; // failures from one address, any emails (default 20: fewer here, argon2id is slow)
let ctx;
before(async () => {
  ctx = await setupServer('throttle', { LOCKSTEP_LOGIN_WINDOW_SECONDS: String(WINDOW), LOCKSTEP_LOGIN_ADDRESS_MAX_FAILURES: String(PER_ADDRESS) });
  ctx.addUser('victim@example.com', 'student', 'victim-pass-1');
  ctx.addUser('walker@example.com', 'student', 'walker-pass-1');
  ctx.addUser('timer@example.com', 'student', 'timer-pass-1');
  ctx.addUser('neighbour@example.com', 'student', 'neighbour-pass-1');
});
after(async () => { await ctx.stop(); });

const login = (from, email, password) =>
  request(ctx.url, 'POST', '/api/v1/auth/login', { from, body: { email, password } });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test('an unknown email gets the same 401 as a wrong password, in about the same time', async () => {
  const wrong = [], unknown = [];
  for (let i = 1; i <= 3; i++) {
    const w = await login(`127.0.1.${i}`, 'timer@example.com', `not-the-password-${i}`);
    const u = await login(`127.0.1.${10 + i}`, `nobody${i}@example.com`, `not-the-password-${i}`);
    for (const r of [w, u]) {
      assert.equal(r.status, 401);
      assert.equal(r.text, '{"detail":"Incorrect email or password"}');
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    }
    wrong.push(w.ms);
    unknown.push(u.ms);
  }
  // Both verify an argon2id hash: the same order of magnitude (medians of three).
  const a = median(wrong), b = median(unknown);
  assert.ok(Math.max(a, b) < 4 * Math.min(a, b), `wrong password ${a.toFixed(0)} ms, unknown email ${b.toFixed(0)} ms`);
});

test('5 failures for one email, from five addresses: the 6th attempt gets 429, other emails do not', async () => {
  for (let i = 1; i <= 5; i++) {
    const r = await login(`127.0.2.${i}`, 'victim@example.com', `guess-${i}-guess`);
    assert.equal(r.status, 401, `failure ${i} is still answered 401`);
  }
  // The right password from a fresh address: refused while the window lasts.
  const limited = await login('127.0.2.10', 'VICTIM@example.com', 'victim-pass-1');
  assert.equal(limited.status, 429);
  const ra = Number(limited.headers.get('retry-after'));
  assert.ok(Number.isInteger(ra) && ra >= 1 && ra <= WINDOW, `Retry-After ${limited.headers.get('retry-after')}`);
  assert.match(limited.body.detail, /^Too many failed login attempts; retry in \d+ seconds$/);
  // The address itself is not limited: another account logs in from it.
  assert.equal((await login('127.0.2.10', 'walker@example.com', 'walker-pass-1')).status, 200);
});

test('two accounts behind one address: one account\'s 5 failures do not lock out the other', async () => {
  for (let i = 1; i <= 5; i++)
    assert.equal((await login('127.0.5.1', 'neighbour@example.com', `nope-${i}-nope`)).status, 401);
  assert.equal((await login('127.0.5.1', 'neighbour@example.com', 'neighbour-pass-1')).status, 429);
  assert.equal((await login('127.0.5.1', 'walker@example.com', 'walker-pass-1')).status, 200);
});

test('login_address_max_failures from one address, across emails: that address gets 429, another does not', async () => {
  for (let i = 1; i <= PER_ADDRESS; i++)
    assert.equal((await login('127.0.3.1', `stranger${i % 4}@example.com`, `whatever-pass-${i}`)).status, 401, `failure ${i}`);
  const limited = await login('127.0.3.1', 'walker@example.com', 'walker-pass-1');
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  assert.equal((await login('127.0.3.2', 'walker@example.com', 'walker-pass-1')).status, 200);
});

test('when the window has passed, both may log in again', async () => {
  await sleep(WINDOW * 1000 + 200);
  assert.equal((await login('127.0.2.11', 'victim@example.com', 'victim-pass-1')).status, 200);
  assert.equal((await login('127.0.3.1', 'walker@example.com', 'walker-pass-1')).status, 200);
  assert.equal((await login('127.0.5.1', 'neighbour@example.com', 'neighbour-pass-1')).status, 200);
});

test('audit rows: LOGIN and LOGIN_FAILED with the user (when known) and the client address, never the password', async () => {
  const rows = (where) => sql(ctx.dir, `SELECT action, CASE WHEN user_id IS NULL THEN 'none' ELSE CAST(user_id AS TEXT) END, ip_address, status_code FROM audit_logs WHERE ${where} ORDER BY id`);
  const victim = sql(ctx.dir, "SELECT id FROM users WHERE email = 'victim@example.com'");
  assert.equal(rows("ip_address = '127.0.2.1'"), `LOGIN_FAILED|${victim}|127.0.2.1|401`);
  assert.equal(rows("ip_address = '127.0.1.11'"), 'LOGIN_FAILED|none|127.0.1.11|401');
  assert.equal(rows("ip_address = '127.0.2.11'"), `LOGIN|${victim}|127.0.2.11|200`);
  assert.equal(sql(ctx.dir, "SELECT count(*) FROM audit_logs WHERE action = 'LOGIN_FAILED' AND ip_address = '127.0.3.1'"), String(PER_ADDRESS));
  // A refused (429) attempt is not a failed password check: no row.
  assert.equal(sql(ctx.dir, "SELECT count(*) FROM audit_logs WHERE ip_address = '127.0.2.10' AND action = 'LOGIN_FAILED'"), '0');
  assert.equal(sql(ctx.dir, "SELECT count(*) FROM audit_logs WHERE details LIKE '%guess-%' OR details LIKE '%pass-1%'"), '0');
});

test('a limit above the old ring of 16 failures is honoured too', async () => {
  const dir = freshDir('throttle-20');
  lockstep(dir, ['migrate']);
  lockstep(dir, ['user', 'add', '--email', 'someone@example.com', '--role', 'student', '--password-stdin'], {}, 'someone-pass-1\n');
  const srv = await startServe(dir, { LOCKSTEP_LOGIN_MAX_FAILURES: '20', LOCKSTEP_CHECK_INTERVAL: '3600' });
  try {
    const codes = [];
    for (let i = 0; i < 21; i++)
      codes.push((await request(srv.url, 'POST', '/api/v1/auth/login', { from: `127.0.4.${i + 1}`, body: { email: 'someone@example.com', password: 'wrong-password' } })).status);
    assert.deepEqual(codes, [...Array(20).fill(401), 429]);
  } finally {
    assert.equal(await stopServe(srv), 0);
  }
});

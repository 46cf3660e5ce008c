// sessions.test.mjs — what ends a session, and that nothing brings back what an
// admin changed: logout never writes back the user row it authenticated with
// (a disable or a new password made meanwhile by the CLI stays); a password
// change (API or CLI), a disable, logout (every session of the user) and a
// detected refresh-token reuse end every access token issued before them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setupServer, request, sql, lockstep, waitFor, sleep, BIN, dbArgs, spawnChild } from './lib.mjs';

let ctx;
before(async () => {
  ctx = await setupServer('sessions');
});
after(async () => { await ctx.stop(); });

const post = (p, body, token) => request(ctx.url, 'POST', p, { body, token });
const get = (p, token) => request(ctx.url, 'GET', p, { token });
const signIn = async (email, password) => {
  const r = await post('/api/v1/auth/login', { email, password });
  assert.equal(r.status, 200, `login of ${email}: ${r.text}`);
  return r.body;
};
const active = (email) => sql(ctx.dir, `SELECT CASE WHEN is_active THEN 1 ELSE 0 END FROM users WHERE email = '${email}'`);
// The server sees a change made by another process (the CLI) within a second.
const refusedSoon = (token) => waitFor(async () => (await get('/api/v1/auth/me', token)).status === 401, 3000);

// The race of finding 1: the server authenticates the logout with the user row
// it loaded before the CLI's change (its cache keeps a row for a second). A
// logout answered 200 shows the race happened; the CLI may be slower than that
// second on a busy machine, so a few fresh users are tried.
test('logout right after a CLI disable: the user stays disabled and cannot log in', async () => {
  let raced = 0;
  for (let i = 0; i < 4 && raced < 2; i++) {
    const email = `gone${i}@example.com`;
    ctx.addUser(email, 'student', 'gone-pass-1');
    const t = await signIn(email, 'gone-pass-1');
    assert.equal((await get('/api/v1/auth/me', t.access_token)).status, 200);
    // While the CLI runs, the server keeps reloading the row (at most a second
    // old); right after the CLI's commit the row it holds is most likely the
    // one from before, however slow the CLI is to start.
    const cli = spawnChild(BIN, ['--data-dir', ctx.dir, ...dbArgs(ctx.dir), 'user', 'disable', '--email', email], { stdio: 'ignore' });
    let done = false;
    const exited = new Promise((resolve) => cli.on('exit', (code) => { done = true; resolve(code); }));
    while (!done) {
      await get('/api/v1/auth/me', t.access_token);
      await Promise.race([exited, sleep(100)]);
    }
    assert.equal(await exited, 0);
    const out = await post('/api/v1/auth/logout', undefined, t.access_token);
    assert.ok([200, 401].includes(out.status), `logout answered ${out.status}`);
    if (out.status === 200) raced++;
    assert.equal(active(email), '0', 'logout brought the user back');
    const again = await post('/api/v1/auth/login', { email, password: 'gone-pass-1' });
    assert.equal(again.status, 403);
    assert.equal(again.body.detail, 'Inactive user');
  }
  assert.ok(raced > 0, 'the logout never ran with the row loaded before the disable');
});

test('logout right after a CLI password change: the old password stays invalid', async () => {
  // Hashing makes this CLI slower than the disable: it may or may not land in
  // the server's cached second; either way the old password must stay invalid.
  for (let i = 0; i < 3; i++) {
    const email = `moved${i}@example.com`;
    ctx.addUser(email, 'student', 'old-pass-111');
    const t = await signIn(email, 'old-pass-111');
    assert.equal((await get('/api/v1/auth/me', t.access_token)).status, 200);
    lockstep(ctx.dir, ['user', 'passwd', '--email', email], {}, 'new-pass-222\n');
    const out = await post('/api/v1/auth/logout', undefined, t.access_token);
    assert.ok([200, 401].includes(out.status), `logout answered ${out.status}`);
    assert.equal((await post('/api/v1/auth/login', { email, password: 'old-pass-111' })).status, 401);
    assert.equal((await post('/api/v1/auth/login', { email, password: 'new-pass-222' })).status, 200);
  }
});

test('a password change through the API ends every earlier access and refresh token at once', async () => {
  const id = ctx.addUser('pw.api@example.com', 'student', 'first-pass-1');
  const a = await signIn('pw.api@example.com', 'first-pass-1');
  const b = await signIn('pw.api@example.com', 'first-pass-1');
  const patch = await request(ctx.url, 'PATCH', `/api/v1/users/${id}`, { token: ctx.adminToken, body: { password: 'second-pass-2' } });
  assert.equal(patch.status, 200);
  for (const t of [a, b]) {
    const me = await get('/api/v1/auth/me', t.access_token);
    assert.equal(me.status, 401);
    assert.equal(me.body.detail, 'Token has been revoked');
    assert.equal((await post('/api/v1/auth/refresh', { refresh_token: t.refresh_token })).status, 401);
  }
  const fresh = await signIn('pw.api@example.com', 'second-pass-2');
  assert.equal((await get('/api/v1/auth/me', fresh.access_token)).status, 200);
});

test('a password change through the CLI ends every earlier access and refresh token', async () => {
  ctx.addUser('pw.cli@example.com', 'student', 'first-pass-1');
  const t = await signIn('pw.cli@example.com', 'first-pass-1');
  assert.equal((await get('/api/v1/auth/me', t.access_token)).status, 200);
  lockstep(ctx.dir, ['user', 'passwd', '--email', 'pw.cli@example.com'], {}, 'second-pass-2\n');
  await refusedSoon(t.access_token);
  assert.equal((await post('/api/v1/auth/refresh', { refresh_token: t.refresh_token })).status, 401);
  const fresh = await signIn('pw.cli@example.com', 'second-pass-2');
  assert.equal((await get('/api/v1/auth/me', fresh.access_token)).status, 200);
});

test('a disable (API or CLI) ends every token; enabling again does not bring them back', async () => {
  const id = ctx.addUser('off.api@example.com', 'student', 'off-pass-11');
  const t = await signIn('off.api@example.com', 'off-pass-11');
  const off = (v) => request(ctx.url, 'PATCH', `/api/v1/users/${id}`, { token: ctx.adminToken, body: { is_active: v } });
  assert.equal((await off(false)).status, 200);
  assert.equal((await get('/api/v1/auth/me', t.access_token)).status, 401);
  assert.equal((await off(true)).status, 200);
  assert.equal((await get('/api/v1/auth/me', t.access_token)).status, 401);
  assert.equal((await post('/api/v1/auth/refresh', { refresh_token: t.refresh_token })).status, 401);

  ctx.addUser('off.cli@example.com', 'student', 'off-pass-22');
  const c = await signIn('off.cli@example.com', 'off-pass-22');
  lockstep(ctx.dir, ['user', 'disable', '--email', 'off.cli@example.com']);
  await refusedSoon(c.access_token);
  assert.equal((await post('/api/v1/auth/refresh', { refresh_token: c.refresh_token })).status, 401);
});

test('logout ends every session of the user: the other device too', async () => {
  ctx.addUser('two.devices@example.com', 'student', 'devices-pass-1');
  const phone = await signIn('two.devices@example.com', 'devices-pass-1');
  const laptop = await signIn('two.devices@example.com', 'devices-pass-1');
  assert.equal((await post('/api/v1/auth/logout', undefined, phone.access_token)).status, 200);
  for (const t of [phone, laptop]) {
    assert.equal((await get('/api/v1/auth/me', t.access_token)).status, 401);
    assert.equal((await post('/api/v1/auth/refresh', { refresh_token: t.refresh_token })).status, 401);
  }
  // A login after the logout works at once (sub-second precision).
  const again = await signIn('two.devices@example.com', 'devices-pass-1');
  assert.equal((await get('/api/v1/auth/me', again.access_token)).status, 200);
});

test('refresh reuse: the victim\'s and the thief\'s access tokens both die', async () => {
  ctx.addUser('victim@example.com', 'student', 'victim-pass-1');
  const victim = await signIn('victim@example.com', 'victim-pass-1');
  // The thief has a copy of the refresh token and uses it first.
  const stolen = await post('/api/v1/auth/refresh', { refresh_token: victim.refresh_token });
  assert.equal(stolen.status, 200);
  const thief = stolen.body;
  assert.equal((await get('/api/v1/auth/me', thief.access_token)).status, 200);
  // The victim's client refreshes with its (now rotated) copy: reuse.
  const reuse = await post('/api/v1/auth/refresh', { refresh_token: victim.refresh_token });
  assert.equal(reuse.status, 401);
  assert.match(reuse.body.detail, /reuse/);
  for (const [who, t] of [['victim', victim], ['thief', thief]]) {
    const me = await get('/api/v1/auth/me', t.access_token);
    assert.equal(me.status, 401, `the ${who}'s access token still works`);
  }
  assert.equal((await post('/api/v1/auth/refresh', { refresh_token: thief.refresh_token })).status, 401);
  // The owner logs in again.
  const back = await signIn('victim@example.com', 'victim-pass-1');
  assert.equal((await get('/api/v1/auth/me', back.access_token)).status, 200);
});

// The signing secret is used whole, whatever its length (from jwt_secret or
// <data_dir>/secret.key): a token signed with only its first 64 characters is
// refused. A secret too long to hold is refused at start with a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BIN, dbArgs, freshDir, lockstep, makeJwt, request, startServe, stopServe } from './lib.mjs';

const LONG = 'a-long-signing-secret-'.repeat(8).slice(0, 150); // 150 characters

function access(secret) {
  const now = Math.floor(Date.now() / 1000);
  return makeJwt(secret, { sub: '1', email: 'admin@lockstep.local', role: 'admin', type: 'access', iat: now, exp: now + 600, jti: 'x' });
}

async function meWith(url, token) {
  return (await request(url, 'GET', '/api/v1/auth/me', { headers: { Authorization: `Bearer ${token}` } })).status;
}

test('a jwt_secret longer than 64 characters is used whole', async () => {
  const dir = freshDir('jwt-long-config');
  lockstep(dir, ['demo']);
  const srv = await startServe(dir, { LOCKSTEP_JWT_SECRET: LONG, LOCKSTEP_CHECK_INTERVAL: '3600' });
  try {
    assert.equal(await meWith(srv.url, access(LONG)), 200);
    assert.equal(await meWith(srv.url, access(LONG.slice(0, 64))), 401, 'the first 64 characters are not the key');
  } finally {
    await stopServe(srv);
  }
});

test('a secret.key longer than 64 characters is used whole, the generated one too', async () => {
  const dir = freshDir('jwt-long-file');
  lockstep(dir, ['demo']);
  // First start: the generated secret (128 hex digits) signs with all of them.
  let srv = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '3600' });
  const generated = fs.readFileSync(path.join(dir, 'secret.key'), 'utf8').trim();
  try {
    assert.equal(generated.length, 128);
    assert.equal(await meWith(srv.url, access(generated)), 200);
    assert.equal(await meWith(srv.url, access(generated.slice(0, 64))), 401);
  } finally {
    await stopServe(srv);
  }
  fs.writeFileSync(path.join(dir, 'secret.key'), `${LONG}\n`, { mode: 0o600 });
  srv = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '3600' });
  try {
    assert.equal(await meWith(srv.url, access(LONG)), 200);
    assert.equal(await meWith(srv.url, access(LONG.slice(0, 64))), 401);
  } finally {
    await stopServe(srv);
  }
});

test('a secret too long to hold is refused at start with a clear error', () => {
  const dir = freshDir('jwt-too-long');
  lockstep(dir, ['demo']);
  const serve = (env) => spawnSync(BIN, ['--data-dir', dir, ...dbArgs(dir), 'serve', '--listen', '127.0.0.1:0'],
    { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30000 });
  const config = serve({ LOCKSTEP_JWT_SECRET: 'x'.repeat(1500) });
  assert.notEqual(config.status, 0);
  assert.match(config.stderr, /jwt_secret.*too long \(at most 1023 characters\)/);
  assert.doesNotMatch(config.stdout, /serving on/);
  fs.writeFileSync(path.join(dir, 'secret.key'), `${'y'.repeat(2000)}\n`, { mode: 0o600 });
  const file = serve({});
  assert.notEqual(file.status, 0);
  assert.match(file.stderr, /secret\.key must hold at most 1024 characters/);
  assert.doesNotMatch(file.stdout, /serving on/);
});

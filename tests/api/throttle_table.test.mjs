// throttle_table.test.mjs — no request sequence resets the login throttle for
// another account or address: emails crafted to collide under an unkeyed hash
// do not evict the victim's record; a full table refuses (429) what it cannot
// count instead of forgetting; X-Forwarded-For names the client only when the
// peer is one of trusted_proxies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setupServer, request, sql, sleep, startServe, freshDir } from './lib.mjs';

const login = (url, from, email, password, headers = {}) =>
  request(url, 'POST', '/api/v1/auth/login', { from, headers, body: { email, password } });

// The unkeyed 64-bit FNV-1a variant (offset basis 1469598103934665603) of the
// throttle key "e:<email>" that slotted records before keyed hashing.
function fnv1a(text) {
  let h = 1469598103934665603n;
  for (const b of Buffer.from(text)) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h;
}

// Emails that start their probe run at the victim's slot of a 4,096-slot table.
function collidingEmails(victim, count) {
  const target = fnv1a(`e:${victim}`) % 4096n;
  const out = [];
  for (let n = 0; out.length < count; n++) {
    const email = `c${n}@example.com`;
    if (fnv1a(`e:${email}`) % 4096n === target) out.push(email);
  }
  return out;
}

test('crafted colliding emails do not evict the victim\'s failures: still 429, even with the right password', async () => {
  const ctx = await setupServer('throttle-collide', { LOCKSTEP_LOGIN_WINDOW_SECONDS: '600' });
  try {
    ctx.addUser('victim@example.com', 'student', 'victim-pass-1');
    for (let i = 1; i <= 5; i++)
      assert.equal((await login(ctx.url, `127.0.20.${i}`, 'victim@example.com', `guess-${i}-guess`)).status, 401);
    assert.equal((await login(ctx.url, '127.0.20.9', 'victim@example.com', 'guess-6-guess')).status, 429);
    // Sixteen failures with emails that fill the victim's run of slots, four per
    // address (under any per-address limit).
    const crafted = collidingEmails('victim@example.com', 16);
    for (let i = 0; i < crafted.length; i++)
      assert.equal((await login(ctx.url, `127.0.21.${1 + (i >> 2)}`, crafted[i], 'not-a-password')).status, 401);
    const guess = await login(ctx.url, '127.0.22.1', 'victim@example.com', 'guess-7-guess');
    assert.equal(guess.status, 429, 'the victim\'s record was evicted: guessing is open again');
    assert.equal((await login(ctx.url, '127.0.22.2', 'victim@example.com', 'victim-pass-1')).status, 429);
  } finally {
    await ctx.stop();
  }
});

test('a full table refuses what it cannot count (429) and forgets nothing; room comes back after the window', async () => {
  const WINDOW = 40; // argon2id on a busy machine: the 20 logins below may take seconds each
  const ctx = await setupServer('throttle-full', { LOCKSTEP_LOGIN_THROTTLE_SLOTS: '16', LOCKSTEP_LOGIN_WINDOW_SECONDS: String(WINDOW) });
  try {
    ctx.addUser('victim@example.com', 'student', 'victim-pass-1');
    ctx.addUser('bystander@example.com', 'student', 'bystander-pass-1');
    const t0 = Date.now();
    // Victim: 5 failures → two records (the email, the address).
    for (let i = 1; i <= 5; i++)
      assert.equal((await login(ctx.url, '127.0.23.1', 'victim@example.com', `guess-${i}-guess`)).status, 401);
    // Fourteen more emails fill the 16 records.
    for (let i = 0; i < 14; i++)
      assert.equal((await login(ctx.url, '127.0.23.1', `filler${i}@example.com`, 'not-a-password')).status, 401, `filler ${i}`);
    const tLast = Date.now();
    const full = await login(ctx.url, '127.0.23.1', 'one-more@example.com', 'not-a-password');
    assert.equal(full.status, 429, 'a failure the table cannot count must be refused');
    assert.ok(Number(full.headers.get('retry-after')) >= 1);
    // A new address cannot be counted either, whatever the account.
    assert.equal((await login(ctx.url, '127.0.23.2', 'bystander@example.com', 'bystander-pass-1')).status, 429);
    // The victim's failures are all still there.
    assert.equal((await login(ctx.url, '127.0.23.1', 'victim@example.com', 'victim-pass-1')).status, 429);
    assert.ok(Date.now() - t0 < WINDOW * 1000, 'the steps above took longer than the window: the machine is too slow for this test');
    await sleep(Math.max(0, tLast + WINDOW * 1000 + 500 - Date.now()));
    assert.equal((await login(ctx.url, '127.0.23.2', 'bystander@example.com', 'bystander-pass-1')).status, 200);
    assert.equal((await login(ctx.url, '127.0.23.1', 'victim@example.com', 'victim-pass-1')).status, 200);
    await sleep(400);
    assert.match(ctx.srv.stderr(), /the login throttle has no room/);
  } finally {
    await ctx.stop();
  }
});

test('X-Forwarded-For is believed only from trusted_proxies: the right-most untrusted entry is the client', async () => {
  const ctx = await setupServer('throttle-proxy', { LOCKSTEP_TRUSTED_PROXIES: '127.0.30.0/24, ::1', LOCKSTEP_LOGIN_ADDRESS_MAX_FAILURES: '4' });
  try {
    ctx.addUser('behind.proxy@example.com', 'student', 'proxy-pass-1');
    const cases = [
      ['127.0.30.1', '198.51.100.7', '198.51.100.7'],
      // A client's own header in front is not believed: the proxy's entry is the right-most.
      ['127.0.30.1', '203.0.113.5, 198.51.100.8', '198.51.100.8'],
      // A chain of trusted proxies is skipped.
      ['127.0.30.1', '198.51.100.9, 127.0.30.77', '198.51.100.9'],
      // Not from a trusted proxy: the header is ignored.
      ['127.0.31.1', '198.51.100.10', '127.0.31.1'],
    ];
    for (const [from, xff, client] of cases) {
      const r = await login(ctx.url, from, `nobody.${client}@example.com`, 'not-a-password', { 'X-Forwarded-For': xff });
      assert.equal(r.status, 401);
      assert.equal(sql(ctx.dir, `SELECT ip_address FROM audit_logs WHERE details LIKE '%nobody.${client}@%'`), client, `${from} with ${xff}`);
    }
    // Per-address counting uses the forwarded client: one client behind the
    // proxy reaches its limit, another one behind the same proxy does not.
    for (let i = 1; i <= 3; i++)
      assert.equal((await login(ctx.url, '127.0.30.1', `spray${i}@example.com`, 'not-a-password', { 'X-Forwarded-For': '198.51.100.7' })).status, 401);
    assert.equal((await login(ctx.url, '127.0.30.1', 'behind.proxy@example.com', 'proxy-pass-1', { 'X-Forwarded-For': '198.51.100.7' })).status, 429);
    assert.equal((await login(ctx.url, '127.0.30.1', 'behind.proxy@example.com', 'proxy-pass-1', { 'X-Forwarded-For': '198.51.100.99' })).status, 200);
    // An untrusted client cannot escape its own limit with a made-up header.
    for (let i = 1; i <= 4; i++)
      await login(ctx.url, '127.0.31.2', `spray.direct${i}@example.com`, 'not-a-password', { 'X-Forwarded-For': `192.0.2.${i}` });
    assert.equal((await login(ctx.url, '127.0.31.2', 'behind.proxy@example.com', 'proxy-pass-1', { 'X-Forwarded-For': '192.0.2.200' })).status, 429);
  } finally {
    await ctx.stop();
  }
});

test('a trusted_proxies entry that is not an address or CIDR block stops the start', async () => {
  const dir = freshDir('throttle-badproxy');
  await assert.rejects(startServe(dir, { LOCKSTEP_TRUSTED_PROXIES: '10.0.0.0/8, proxy.local' }), /invalid trusted_proxies: 'proxy\.local' is not an IP address or CIDR block/);
  await assert.rejects(startServe(dir, { LOCKSTEP_TRUSTED_PROXIES: '10.0.0.0/33' }), /invalid trusted_proxies/);
});

// slow_connections.test.mjs — connection hygiene under 1,000 slow sockets:
// a trickle of header bytes does not extend the deadline to send a request,
// connections over the per-address or the global cap are answered 503 at
// once, a stalled body gets 408, an idle keep-alive connection is closed, and
// /healthz and an authenticated /health/status keep answering (each probe in
// under a second) throughout. Deadlines are shortened so the file runs in
// well under a minute.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setupServer, request, sleep, spawnChild } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const HEADER_TIMEOUT = 4;   // seconds (request_header_timeout)
const BODY_TIMEOUT = 3;     // seconds (request_body_timeout)
const KEEPALIVE = 2;        // seconds (keepalive_timeout)
const running = [];

after(async () => {
  for (const ctx of running) await ctx.stop();
});

async function serve(name, env) {
  const ctx = await setupServer(name, {
    LOCKSTEP_REQUEST_HEADER_TIMEOUT: String(HEADER_TIMEOUT),
    LOCKSTEP_REQUEST_BODY_TIMEOUT: String(BODY_TIMEOUT),
    LOCKSTEP_KEEPALIVE_TIMEOUT: String(KEEPALIVE),
    LOCKSTEP_ACCESS_LOG: 'false',
    ...env,
  }, ['--users', '20']);
  running.push(ctx);
  ctx.port = Number(new URL(ctx.url).port);
  return ctx;
}

/**
 * Start n slow sockets from `from` in a process of their own (slow_clients.mjs);
 * resolves, after `ms`, with what happened to each: { opened, closed, refused }
 * (times in ms from the start; closed 0: still open).
 */
async function slowSockets(port, n, ms, from = '127.0.0.1', everyMs = 1000) {
  const proc = spawnChild(process.execPath, [path.join(HERE, 'slow_clients.mjs'), String(port), String(n), from, String(everyMs), String(ms)],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  const result = new Promise((resolve, reject) => proc.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`slow clients exited ${code}`)))));
  // Wait until every socket is opened before probing.
  await new Promise((resolve) => proc.stderr.on('data', (d) => { if (String(d).includes('opened')) resolve(); }));
  result.catch(() => {}); // killed after a failed assertion: nothing to report
  return { result, kill: () => proc.kill() };
}

/** Probe /healthz and an authenticated status until `untilMs` passes; returns the slowest probe. */
async function probeUntil(ctx, untilMs, from) {
  let slowest = 0;
  let probes = 0;
  while (performance.now() < untilMs) {
    const opt = from ? { from } : {};
    const a = await request(ctx.url, 'GET', '/healthz', opt);
    assert.equal(a.status, 200, `/healthz: ${a.status} ${a.text}`);
    const b = await request(ctx.url, 'GET', '/api/v1/health/status', { ...opt, token: ctx.adminToken });
    assert.equal(b.status, 200, `/health/status: ${b.status} ${b.text}`);
    slowest = Math.max(slowest, a.ms, b.ms);
    assert.ok(a.ms < 1000 && b.ms < 1000, `a probe took ${Math.round(Math.max(a.ms, b.ms))} ms`);
    probes++;
    await sleep(150);
  }
  return { slowest, probes };
}

test('1,000 slow sockets from one address: over the per-address cap 503 at once, the rest closed by the head deadline, probes keep answering', { timeout: 60000 }, async () => {
  const ctx = await serve('slow-per-address', { LOCKSTEP_MAX_CONNECTIONS_PER_ADDRESS: '100' });
  const slow = await slowSockets(ctx.port, 1000, (HEADER_TIMEOUT + 3) * 1000);
  try {
    // Probes come from another loopback address: they have their own cap.
    const { probes } = await probeUntil(ctx, performance.now() + (HEADER_TIMEOUT + 2.5) * 1000, '127.0.0.2');
    assert.ok(probes >= 5, `only ${probes} probes`);
    const socks = await slow.result;
    const refused = socks.filter((s) => s.refused);
    const held = socks.filter((s) => !s.refused);
    assert.ok(refused.length >= 850, `${refused.length} sockets answered 503`);
    assert.ok(held.length <= 100 + 50, `${held.length} sockets not refused`);
    // Answered and closed at once, long before the head deadline that holds the others
    // (the margin is for a loaded machine: a thousand accepts queue up).
    for (const s of refused)
      assert.ok(s.closed && s.closed - s.opened < HEADER_TIMEOUT * 1000, `a refused socket was closed after ${s.closed - s.opened} ms`);
    for (const s of held) {
      assert.ok(s.closed, 'a slow socket was still open after its head deadline');
      // Bytes kept coming, yet the deadline held: closed about HEADER_TIMEOUT after connecting.
      assert.ok(s.closed - s.opened < (HEADER_TIMEOUT + 2.5) * 1000, `closed after ${s.closed - s.opened} ms`);
    }
    assert.ok(held.some((s) => s.closed - s.opened >= (HEADER_TIMEOUT - 0.5) * 1000 && s.sent >= HEADER_TIMEOUT - 1),
      'the held sockets kept sending until their deadline');
  } finally {
    slow.kill();
  }
});

test('1,000 slow sockets under a raised per-address cap: the head deadline closes them, probes keep answering', { timeout: 60000 }, async () => {
  const ctx = await serve('slow-global', { LOCKSTEP_MAX_CONNECTIONS_PER_ADDRESS: '100000' });
  const slow = await slowSockets(ctx.port, 1000, (HEADER_TIMEOUT + 3) * 1000);
  try {
    // The probes share the slow sockets' address: only the global cap and the deadlines hold.
    await probeUntil(ctx, performance.now() + (HEADER_TIMEOUT + 2.5) * 1000);
    const socks = await slow.result;
    assert.equal(socks.filter((s) => s.refused).length, 0, 'under max_connections nothing is refused');
    const open = socks.filter((s) => !s.closed);
    assert.equal(open.length, 0, `${open.length} slow sockets outlived the head deadline`);
    const late = socks.filter((s) => s.closed - s.opened > (HEADER_TIMEOUT + 2.5) * 1000);
    assert.equal(late.length, 0, `${late.length} closed late`);
    assert.ok(socks.every((s) => s.closed - s.opened >= (HEADER_TIMEOUT - 0.5) * 1000), 'none was closed before its deadline');
  } finally {
    slow.kill();
  }
});

test('over max_connections: 503 and close at once; the slots come back after the deadline', { timeout: 60000 }, async () => {
  const ctx = await serve('slow-cap', { LOCKSTEP_MAX_CONNECTIONS: '50', LOCKSTEP_MAX_CONNECTIONS_PER_ADDRESS: '100000' });
  const slow = await slowSockets(ctx.port, 120, (HEADER_TIMEOUT + 2) * 1000);
  try {
    const socks = await slow.result;
    const refused = socks.filter((s) => s.refused);
    assert.ok(refused.length >= 60, `${refused.length} of 120 refused`);
    for (const s of refused) assert.ok(s.closed && s.closed - s.opened < HEADER_TIMEOUT * 1000, 'refused and closed at once');
    assert.equal(socks.filter((s) => !s.closed).length, 0, 'every slot was given back by the deadline');
    const r = await request(ctx.url, 'GET', '/healthz');
    assert.equal(r.status, 200);
  } finally {
    slow.kill();
  }
});

test('a body that trickles in is cut at the body deadline with 408', { timeout: 20000 }, async () => {
  const ctx = running.find((c) => c.dir.includes('slow-cap')) || await serve('slow-body', {});
  const sock = net.connect(ctx.port, '127.0.0.1');
  let data = '';
  sock.on('data', (d) => { data += d; });
  const closed = new Promise((r) => { sock.on('close', r); sock.on('error', r); });
  await new Promise((r) => sock.on('connect', r));
  const t0 = performance.now();
  sock.write('POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
  const timer = setInterval(() => sock.write(' '), 500);
  await closed;
  clearInterval(timer);
  const ms = performance.now() - t0;
  assert.match(data, /^HTTP\/1\.1 408/);
  assert.ok(ms >= (BODY_TIMEOUT - 0.5) * 1000 && ms < (BODY_TIMEOUT + 2) * 1000, `closed after ${Math.round(ms)} ms`);
});

test('an idle keep-alive connection is closed after keepalive_timeout', { timeout: 20000 }, async () => {
  const ctx = running[0];
  const sock = net.connect(ctx.port, '127.0.0.1');
  let data = '';
  sock.on('data', (d) => { data += d; });
  const closed = new Promise((r) => { sock.on('close', r); sock.on('error', r); });
  await new Promise((r) => sock.on('connect', r));
  sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  const t0 = performance.now();
  await closed;
  const ms = performance.now() - t0;
  assert.match(data, /^HTTP\/1\.1 200/);
  assert.ok(ms < (KEEPALIVE + 1.5) * 1000, `idle for ${Math.round(ms)} ms`);
});

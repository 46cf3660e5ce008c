// strict_http.test.mjs — what libmicrohttpd lets through and Lockstep must not:
// conflicting Content-Length, HTTP/1.1 without Host, control bytes in a header
// value or the request target are answered 400 and the connection is closed;
// too many query parameters and an unknown Transfer-Encoding get an answer at
// once, never a held connection. Raw sockets, so nothing is normalised on the
// way; every answer must arrive within a second.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setupServer } from './lib.mjs';

let ctx;
let port;

before(async () => {
  ctx = await setupServer('strict-http');
  port = Number(new URL(ctx.url).port);
});

after(async () => {
  if (ctx) await ctx.stop();
});

/**
 * Send raw bytes; resolves with what came back and whether the server closed
 * the connection, within `ms` (then `timedOut`).
 */
function raw(bytes, ms = 1000) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const sock = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let closed = false;
    const finish = (timedOut) => {
      clearTimeout(timer);
      sock.destroy();
      const text = data.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      let json = null;
      try { json = JSON.parse(body); } catch { /* not JSON */ }
      resolve({ status: m ? Number(m[1]) : 0, text, json, closed, timedOut, ms: performance.now() - t0 });
    };
    const timer = setTimeout(() => finish(true), ms);
    sock.on('connect', () => sock.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1')));
    sock.on('data', (d) => { data = Buffer.concat([data, d]); });
    sock.on('end', () => { closed = true; finish(false); });
    sock.on('error', () => { closed = true; finish(false); });
  });
}

/** A refused request: 400 with a JSON detail, then the connection is closed. */
function assertRefused(r, status = 400) {
  assert.equal(r.timedOut, false, `no answer and no close within a second:\n${r.text}`);
  assert.equal(r.status, status, r.text);
  assert.equal(typeof r.json?.detail, 'string', r.text);
  assert.match(r.text, /\r\nConnection: close\r\n/i);
  assert.equal(r.closed, true);
}

test('a well-formed raw request is answered (the helper works)', async () => {
  const r = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { status: 'ok' });
});

test('two different Content-Length headers: 400 and close', async () => {
  const body = '{"email":"a@b.c","password":"x"}';
  const r = await raw('POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    `Content-Length: ${body.length}\r\nContent-Length: 5\r\n\r\n${body}`);
  assertRefused(r);
  assert.match(r.json.detail, /Content-Length/);
});

test('Content-Length together with Transfer-Encoding: 400 and close', async () => {
  const r = await raw('POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n' +
    'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
  assertRefused(r);
});

test('HTTP/1.1 without Host: 400 and close', async () => {
  const r = await raw('GET /healthz HTTP/1.1\r\nAccept: */*\r\n\r\n');
  assertRefused(r);
  assert.match(r.json.detail, /Host/);
});

test('a bare CR in a header value: 400 and close', async () => {
  const r = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\rb\r\n\r\n');
  assertRefused(r);
});

test('other control bytes in a header value: 400 and close', async () => {
  for (const c of ['\x00', '\x01', '\x1b', '\x7f']) {
    const r = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a${c}b\r\n\r\n`);
    assertRefused(r);
    // Not the last header either.
    const r2 = await raw(`GET /healthz HTTP/1.1\r\nX-Note: a${c}b\r\nHost: x\r\nAccept: */*\r\n\r\n`);
    assertRefused(r2);
  }
});

test('many headers are answered (431), not held', async () => {
  const many = Array.from({ length: 400 }, (_, i) => `X-H${i}: v\r\n`).join('');
  const r = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\n${many}\r\n`);
  assert.equal(r.timedOut, false);
  assert.equal(r.status, 431, r.text);
});

test('a NUL or a control byte in the request target: 400 and close', async () => {
  for (const c of ['\x00', '\x01', '\x7f']) {
    const r = await raw(`GET /healthz${c}x HTTP/1.1\r\nHost: x\r\n\r\n`);
    assertRefused(r);
  }
  const r = await raw('GET /api/v1/users?q=a\x00b HTTP/1.1\r\nHost: x\r\n\r\n');
  assertRefused(r);
});

test('too many query parameters: answered at once', async () => {
  const q = Array.from({ length: 300 }, (_, i) => `p${i}=1`).join('&');
  const r = await raw(`GET /api/v1/health/status?${q} HTTP/1.1\r\nHost: x\r\n\r\n`);
  assert.equal(r.timedOut, false, 'the connection was held');
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.detail, /query parameters/);
  // At the limit it is an ordinary request.
  const ok = Array.from({ length: 64 }, (_, i) => `p${i}=1`).join('&');
  const r2 = await raw(`GET /healthz?${ok} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assert.equal(r2.status, 200, r2.text);
});

test('an unknown Transfer-Encoding: 501 at once, not a held connection', async () => {
  const r = await raw('POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc');
  assertRefused(r, 501);
  const r2 = await raw('POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n');
  assertRefused(r2, 501);
});

test('chunked bodies still work', async () => {
  const body = '{"email":"nobody@example.com","password":"wrong-password"}';
  const r = await raw('POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`, 3000);
  assert.equal(r.status, 401, r.text);
});

test('HTTP/1.0 without Host is still served', async () => {
  const r = await raw('GET /healthz HTTP/1.0\r\n\r\n');
  assert.equal(r.status, 200, r.text);
});

// errors.test.mjs — every error of api.md answered as {"detail": …} with its
// status, and bad input that must neither crash the server, hang a worker,
// nor change state.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setupServer, request, sql } from './lib.mjs';

let ctx;
let before_counts;
before(async () => {
  ctx = await setupServer('errors');
  before_counts = snapshot();
});
after(async () => { await ctx.stop(); });

function snapshot() {
  return sql(ctx.dir, 'SELECT (SELECT count(*) FROM users) || \'/\' || (SELECT count(*) FROM specialization_progress) || \'/\' || ' +
    '(SELECT count(*) FROM user_licenses) || \'/\' || (SELECT sum(current_level) FROM user_licenses) || \'/\' || ' +
    '(SELECT count(*) FROM specializations) || \'/\' || (SELECT count(*) FROM license_progressions)');
}

/** Send raw bytes over TCP; resolves with the status code (0 when the server closed without answering). */
function rawHttp(url, bytes) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const sock = net.connect(Number(port), hostname, () => sock.write(bytes));
    let data = '';
    sock.on('data', (d) => { data += d; });
    sock.on('end', () => resolve(Number((/^HTTP\/1\.\d (\d{3})/.exec(data) || [0, 0])[1])));
    sock.on('error', () => resolve(0));
    sock.setTimeout(5000, () => { sock.destroy(); resolve(-1); });
  });
}

const expectDetail = (r, status, name) => {
  assert.equal(r.status, status, `${name}: ${r.text}`);
  assert.equal(typeof r.body?.detail, 'string', `${name} answers {"detail": …}`);
};

test('400 malformed JSON, wrong types, missing fields; unknown fields ignored', async () => {
  const t = ctx.adminToken;
  const p = '/api/v1/specializations';
  expectDetail(await request(ctx.url, 'POST', p, { token: t, body: '{"id": "X", ', headers: { 'Content-Type': 'application/json' } }), 400, 'truncated');
  expectDetail(await request(ctx.url, 'POST', p, { token: t, body: 'not json', headers: { 'Content-Type': 'application/json' } }), 400, 'not json');
  expectDetail(await request(ctx.url, 'POST', p, { token: t, body: '[1, 2]', headers: { 'Content-Type': 'application/json' } }), 400, 'array for an object');
  expectDetail(await request(ctx.url, 'POST', p, { token: t, body: '"a string"', headers: { 'Content-Type': 'application/json' } }), 400, 'string body');
  expectDetail(await request(ctx.url, 'POST', p, { token: t, body: '{"id":"A","id":"B","name":"x","max_levels":3}', headers: { 'Content-Type': 'application/json' } }), 400, 'duplicate keys');
  expectDetail(await request(ctx.url, 'POST', p, { token: t, body: { id: 'X', name: 'x', max_levels: '3' } }), 400, 'string for a number');
  expectDetail(await request(ctx.url, 'POST', p, { token: t, body: { id: 'X', name: ['x'], max_levels: 3 } }), 400, 'array for a string');
  expectDetail(await request(ctx.url, 'POST', p, { token: t, body: { id: 'X', max_levels: 3 } }), 400, 'missing field');
  expectDetail(await request(ctx.url, 'POST', '/api/v1/users/2/progress/PLAYER/level', { token: t, body: { new_level: 2.5 } }), 400, 'float for an integer');
  expectDetail(await request(ctx.url, 'POST', '/api/v1/licenses/admin/sync/all', { token: t, body: { dry_run: 'maybe' } }), 400, 'string for a boolean');
  const ok = await request(ctx.url, 'POST', p, { token: t, body: { id: 'EXTRA', name: 'Extra', max_levels: 3, colour: 'blue' } });
  assert.equal(ok.status, 201);
});

test('404 unknown route and resource, 405 with Allow, 409, 422', async () => {
  const t = ctx.adminToken;
  expectDetail(await request(ctx.url, 'GET', '/api/v1/nope', { token: t }), 404, 'unknown route');
  expectDetail(await request(ctx.url, 'GET', '/api/v2/health/status', { token: t }), 404, 'unknown version');
  expectDetail(await request(ctx.url, 'GET', '/api/v1/users/424242', { token: t }), 404, 'unknown user');
  for (const id of ['-1', '0', 'abc', '1.5', '99999999999999999999999']) {
    expectDetail(await request(ctx.url, 'GET', `/api/v1/users/${id}`, { token: t }), 404, `id ${id}`);
  }
  const m = await request(ctx.url, 'DELETE', '/api/v1/users/1', { token: t });
  expectDetail(m, 405, 'DELETE');
  assert.match(m.headers.get('allow'), /GET/);
  assert.match(m.headers.get('allow'), /PATCH/);
  expectDetail(await request(ctx.url, 'PUT', '/api/v1/health/status', { token: t }), 405, 'PUT status');
  expectDetail(await request(ctx.url, 'POST', '/api/v1/users', { token: t, body: { email: 'admin@lockstep.local', password: 'long enough' } }), 409, 'duplicate email');
  expectDetail(await request(ctx.url, 'POST', '/api/v1/health/check-now?dry_run=maybe', { token: t }), 422, 'dry_run=maybe');
  expectDetail(await request(ctx.url, 'GET', '/api/v1/health/history?limit=0', { token: t }), 422, 'limit 0');
  expectDetail(await request(ctx.url, 'GET', '/api/v1/health/history?since=yesterday', { token: t }), 422, 'since');
  expectDetail(await request(ctx.url, 'GET', '/api/v1/health/jobs?window=forever', { token: t }), 422, 'window');
  expectDetail(await request(ctx.url, 'GET', '/api/v1/users?role=king', { token: t }), 422, 'role filter');
  expectDetail(await request(ctx.url, 'POST', '/api/v1/users/2/progress/PLAYER/level', { token: t, body: { new_level: 0 } }), 422, 'level 0');
  expectDetail(await request(ctx.url, 'POST', '/api/v1/users', { token: t, body: { email: 'short@example.com', password: 'short' } }), 422, 'short password');
});

test('413 for a body over the limit, and huge bodies do not hurt', async () => {
  const big = JSON.stringify({ email: 'x@example.com', password: 'x'.repeat(70 * 1024) });
  expectDetail(await request(ctx.url, 'POST', '/api/v1/users', { token: ctx.adminToken, body: big, headers: { 'Content-Type': 'application/json' } }), 413, '70 KiB');
  const huge = Buffer.alloc(8 * 1024 * 1024, 0x61);
  const r = await request(ctx.url, 'POST', '/api/v1/auth/login', { body: huge, headers: { 'Content-Type': 'application/json' } });
  expectDetail(r, 413, '8 MiB');
});

test('very long URLs and headers, non-UTF-8 bytes, odd Authorization headers', async () => {
  const t = ctx.adminToken;
  const longUrl = await request(ctx.url, 'GET', `/api/v1/users?q=${'a'.repeat(5000)}`, { token: t });
  assert.ok([414, 431, 413, 400].includes(longUrl.status), `long URL: ${longUrl.status}`);
  const veryLong = await rawHttp(ctx.url, `GET /api/v1/health/status?x=${'a'.repeat(100000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  assert.ok([0, 414, 431, 413, 400].includes(veryLong), `very long URL: ${veryLong}`);
  const bigHeader = await rawHttp(ctx.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Junk: ${'b'.repeat(64000)}\r\nConnection: close\r\n\r\n`);
  assert.ok([0, 431, 413, 400].includes(bigHeader), `long header: ${bigHeader}`);
  // Non-UTF-8 bytes in a JSON body, in the query and in the path.
  const bad = Buffer.concat([Buffer.from('{"email": "'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('@x.com", "password": "p"}')]);
  expectDetail(await request(ctx.url, 'POST', '/api/v1/auth/login', { body: bad, headers: { 'Content-Type': 'application/json' } }), 400, 'non-UTF-8 body');
  const q = await rawHttp(ctx.url, `GET /api/v1/users?q=%ff%fe HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\nConnection: close\r\n\r\n`);
  assert.ok([200, 400, 422].includes(q), `non-UTF-8 query: ${q}`);
  const p = await request(ctx.url, 'POST', '/api/v1/users/2/progress/%ff%fe/level', { token: t, body: { new_level: 1 } });
  assert.ok([404, 422].includes(p.status), `non-UTF-8 path: ${p.status}`);
  for (const h of ['Token abc', 'Bearer', 'bearer', `Bearer ${t} extra`, 'Digest x=1']) {
    const r = await request(ctx.url, 'GET', '/api/v1/health/status', { headers: { Authorization: h } });
    assert.equal(r.status, 401, h);
  }
});

test('specialization names with SQL or path characters change nothing', async () => {
  const t = ctx.adminToken;
  for (const spec of ["PLAYER'; DROP TABLE users;--", '../../etc/passwd', '%2e%2e%2f%2e%2e%2f', 'PLAYER%00', "' OR '1'='1", 'A'.repeat(300)]) {
    const path = `/api/v1/users/2/progress/${encodeURIComponent(spec)}/level`;
    const r = await request(ctx.url, 'POST', path, { token: t, body: { new_level: 2 } });
    assert.ok([404, 422].includes(r.status), `${spec}: ${r.status}`);
    assert.equal(typeof r.body.detail, 'string');
    const s = await request(ctx.url, 'POST', '/api/v1/licenses/admin/sync/user/2', { token: t, body: { specialization: spec } });
    assert.ok([404, 422].includes(s.status), `sync ${spec}: ${s.status}`);
    const d = await request(ctx.url, 'GET', `/api/v1/licenses/admin/sync/desync-issues?specialization=${encodeURIComponent(spec)}`, { token: t });
    assert.ok([200, 404, 422].includes(d.status), `desync ${spec}: ${d.status}`);
  }
});

test('after all that: the server answers and nothing changed', async () => {
  assert.equal((await fetch(`${ctx.url}/healthz`)).status, 200);
  const now = snapshot().split('/');
  const was = before_counts.split('/');
  now[4] = String(Number(now[4]) - 1); // the one specialization created on purpose above
  assert.deepEqual(now, was);
  const check = await request(ctx.url, 'POST', '/api/v1/health/check-now?dry_run=true', { token: ctx.adminToken });
  assert.equal(check.status, 200);
  assert.equal(check.body.total_checked, 150);
  assert.equal(check.body.consistent, 148);
});

// server.test.mjs — the connection model of `lockstep serve`: epoll threads
// serve connections, and a request whose handler blocks (here: a write waiting
// for a database lock held by another client) holds a handler thread, never
// the other connections of its epoll thread. One epoll thread
// (LOCKSTEP_HTTP_THREADS=1) puts every connection on the same thread.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setupServer, request, sql, stopServe, sleep, holdWriteLock } from './lib.mjs';

let ctx;
let pairs;

before(async () => {
  ctx = await setupServer('server', {
    LOCKSTEP_HTTP_THREADS: '1',
    LOCKSTEP_WORKERS: '4',
    LOCKSTEP_BUSY_TIMEOUT_MS: '60000',
  });
  pairs = sql(ctx.dir, 'SELECT student_id, specialization_id FROM specialization_progress ORDER BY id LIMIT 6')
    .split('\n').map((l) => l.split('|'));
  assert.equal(pairs.length, 6);
});

after(async () => {
  if (ctx) await ctx.stop();
});

/** Start level changes (writes) on n pairs; each result records when it settled. */
function startWrites(n) {
  const settled = [];
  const all = pairs.slice(0, n).map(([student, spec]) =>
    request(ctx.url, 'POST', `/api/v1/users/${student}/progress/${spec}/level`,
      { token: ctx.adminToken, body: { new_level: 2, reason: 'server test' } })
      .then((r) => { settled.push(r.status); return r; }));
  return { settled, all: Promise.all(all) };
}

test('a write waiting for the database lock does not hold the other connections of its epoll thread', async () => {
  const lock = await holdWriteLock(ctx.dir);
  const writes = startWrites(2);
  try {
    await sleep(300); // the writes have reached their handler threads and wait there
    assert.equal(writes.settled.length, 0, 'the writes wait for the lock');
    // Other connections, on the same (only) epoll thread: answered while the
    // writes still wait. Reads go to the two free handler threads.
    for (const p of ['/healthz', '/api/v1/health/status', '/api/v1/users', '/api/v1/health/metrics', '/']) {
      const r = await request(ctx.url, 'GET', p, { token: ctx.adminToken });
      assert.equal(r.status, 200, p);
    }
    assert.equal(writes.settled.length, 0, 'the writes were still waiting when the reads were answered');
    // //metrics shows the two waiting writes, and itself, on handler threads.
    const m = (await request(ctx.url, 'GET', '/metrics')).text;
    const gauge = (name, pool) => Number(new RegExp(`^${name}\\{pool="${pool}"\\} (\\d+)$`, 'm').exec(m)[1]);
    assert.equal(gauge('lockstep_http_handler_threads', 'store'), 4);
    assert.equal(gauge('lockstep_http_handlers_busy', 'store'), 3);
    assert.equal(gauge('lockstep_http_handler_queue', 'store'), 0);
    assert.ok(gauge('lockstep_http_handler_threads', 'password') >= 1);
    assert.equal(gauge('lockstep_http_handlers_busy', 'password'), 0);
  } finally {
    await lock.release();
  }
  const done = await writes.all;
  assert.deepEqual(done.map((r) => r.status), [200, 200]);
  assert.deepEqual(done.map((r) => r.body.progress.new_level), [2, 2]);
});

test('every handler thread waiting: requests queue and are all answered; what needs no store is answered meanwhile', async () => {
  const lock = await holdWriteLock(ctx.dir);
  const writes = startWrites(6); // more than the 4 handler threads
  try {
    await sleep(300);
    assert.equal(writes.settled.length, 0);
    assert.equal((await request(ctx.url, 'GET', '/healthz')).status, 200);
    const page = await request(ctx.url, 'GET', '/admin/health');
    assert.equal(page.status, 200);
    assert.match(page.text, /<html/i);
    assert.equal(writes.settled.length, 0);
  } finally {
    await lock.release();
  }
  const done = await writes.all;
  assert.deepEqual(done.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
});

test('a client that goes away while its request waits: the server carries on', async () => {
  const lock = await holdWriteLock(ctx.dir);
  const [student, spec] = pairs[0];
  const ac = new AbortController();
  const gone = fetch(`${ctx.url}/api/v1/users/${student}/progress/${spec}/level`, {
    method: 'POST', signal: ac.signal,
    headers: { Authorization: `Bearer ${ctx.adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ new_level: 3, reason: 'client gone' }),
  }).catch((e) => e.name);
  await sleep(300);
  ac.abort();
  assert.equal(await gone, 'AbortError');
  await lock.release();
  // The write itself completes (the enforcer's transaction does not depend on
  // the client), and the server goes on answering.
  for (let i = 0; i < 40 && sql(ctx.dir, `SELECT current_level FROM specialization_progress WHERE student_id = ${student} AND specialization_id = '${spec}'`) !== '3'; i++)
    await sleep(50);
  assert.equal(sql(ctx.dir, `SELECT current_level FROM specialization_progress WHERE student_id = ${student} AND specialization_id = '${spec}'`), '3');
  assert.equal((await request(ctx.url, 'GET', '/api/v1/users', { token: ctx.adminToken })).status, 200);
});

test('a burst of logins waits in the password lane; store requests are answered meanwhile', async () => {
  // Each login hashes with argon2id (~150 ms of CPU here); the password lane
  // runs CPUs − 1 of them at a time, so 16 take seconds.
  const settled = [];
  const logins = Array.from({ length: 16 }, () =>
    request(ctx.url, 'POST', '/api/v1/auth/login', { body: { email: 'admin@lockstep.local', password: ctx.adminPassword } })
      .then((r) => { settled.push(r.status); return r; }));
  await sleep(100);
  for (const p of ['/api/v1/users', '/api/v1/specializations', '/api/v1/health/metrics']) {
    const r = await request(ctx.url, 'GET', p, { token: ctx.adminToken });
    assert.equal(r.status, 200, p);
  }
  assert.ok(settled.length < 8, `store requests answered only after ${settled.length} of 16 logins`);
  assert.deepEqual((await Promise.all(logins)).map((r) => r.status), Array(16).fill(200));
});

test('pipelined requests on one connection, inline and on handler threads, are answered in order', async () => {
  const { port } = new URL(ctx.url);
  const auth = `Authorization: Bearer ${ctx.adminToken}\r\n`;
  const reqs = [
    'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
    `GET /api/v1/users HTTP/1.1\r\nHost: x\r\n${auth}\r\n`,
    'GET /api/v1/nope HTTP/1.1\r\nHost: x\r\n\r\n',
    `GET /api/v1/specializations HTTP/1.1\r\nHost: x\r\n${auth}\r\n`,
    'GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  ];
  const raw = await new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), '127.0.0.1', () => sock.end(reqs.join('')));
    let out = '';
    sock.on('data', (d) => { out += d; });
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
  assert.deepEqual([...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]), ['200', '200', '404', '200', '200']);
  const bodies = raw.split(/HTTP\/1\.1 \d{3}[^\n]*\n/).slice(1).map((part) => part.split('\r\n\r\n')[1]);
  assert.equal(JSON.parse(bodies[0]).status, 'ok');
  assert.ok(Array.isArray(JSON.parse(bodies[1])));
  assert.equal(JSON.parse(bodies[2]).detail, 'Not found');
  assert.ok(Array.isArray(JSON.parse(bodies[3])));
  assert.equal(JSON.parse(bodies[4]).status, 'ready');
});

test('SIGTERM with requests queued behind a lock: each is answered, then the process exits 0', async () => {
  const lock = await holdWriteLock(ctx.dir);
  const writes = startWrites(6);
  await sleep(300);
  const code = stopServe(ctx.srv);
  await sleep(300);
  assert.equal(writes.settled.length, 0);
  await lock.release();
  const done = await writes.all;
  assert.deepEqual(done.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
  assert.equal(await code, 0);
  ctx = null;
});

// write-lock.test.mjs — writers waiting on a lock held by another client
// (sqlite3's BEGIN IMMEDIATE, or a PostgreSQL table lock) cannot take every
// handler thread of the store lane: at most half of it runs writes, the other
// writes wait in the queue without a thread, and plain reads keep being
// answered at once. Nothing is lost: once the lock goes, every write lands.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setupServer, request, sql, sleep, holdWriteLock } from './lib.mjs';

let ctx;

before(async () => {
  ctx = await setupServer('write-lock', {
    LOCKSTEP_WORKERS: '6',
    LOCKSTEP_BUSY_TIMEOUT_MS: '30000',
  });
});

after(async () => {
  if (ctx) await ctx.stop();
});

test('12 writes waiting on an external write lock: GET /api/v1/users answers in under 1 s throughout', async () => {
  const pairs = sql(ctx.dir, 'SELECT student_id, specialization_id FROM specialization_progress ORDER BY id LIMIT 12')
    .split('\n').map((l) => l.split('|'));
  assert.equal(pairs.length, 12);
  const lock = await holdWriteLock(ctx.dir);
  let writes;
  const slowest = [];
  try {
    const settled = [];
    writes = Promise.all(pairs.map(([student, spec]) =>
      request(ctx.url, 'POST', `/api/v1/users/${student}/progress/${spec}/level`,
        { token: ctx.adminToken, body: { new_level: 2, reason: 'write-lock test' } })
        .then((r) => { settled.push(r.status); return r; })));
    await sleep(300); // the writes have reached the server and wait for the lock
    assert.equal(settled.length, 0, 'the writes wait for the lock');
    for (let i = 0; i < 12; i++) {
      const t0 = performance.now();
      const r = await request(ctx.url, 'GET', '/api/v1/users', { token: ctx.adminToken });
      const took = performance.now() - t0;
      assert.equal(r.status, 200);
      slowest.push(took);
      assert.ok(took < 1000, `GET /api/v1/users took ${took.toFixed(0)} ms while writes waited for the lock`);
      await sleep(200);
    }
    assert.equal(settled.length, 0, 'the writes were still waiting while the reads were answered');
  } finally {
    await lock.release();
  }
  const done = await writes;
  assert.deepEqual(done.map((r) => r.status), Array(12).fill(200), 'every write landed once the lock went');
  const levels = pairs.map(([student, spec]) => sql(ctx.dir,
    `SELECT current_level FROM specialization_progress WHERE student_id = ${student} AND specialization_id = '${spec}'`));
  assert.deepEqual(levels, Array(12).fill('2'));
  // //metrics: the store lane's threads are all free again.
  const m = (await request(ctx.url, 'GET', '/metrics')).text;
  assert.match(m, /^lockstep_http_handler_queue\{pool="store"\} 0$/m);
});

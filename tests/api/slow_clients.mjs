// slow_clients.mjs — a slow-request client for slow_connections.test.mjs, run
// as its own process so that its thousand sockets never slow the probes:
// opens N connections that send a request head one byte at a time and never
// finish it, and after DURATION ms prints, as JSON, what happened to each.
//   node slow_clients.mjs PORT N FROM_ADDRESS EVERY_MS DURATION_MS
import net from 'node:net';

const [port, n, from, everyMs, durationMs] = process.argv.slice(2);
const head = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200);
const t0 = performance.now();
const socks = [];
for (let i = 0; i < Number(n); i++) {
  const s = { opened: performance.now() - t0, closed: 0, data: '', sent: 0 };
  const sock = net.connect({ port: Number(port), host: '127.0.0.1', localAddress: from });
  const done = () => { if (!s.closed) s.closed = performance.now() - t0; clearInterval(s.timer); };
  sock.on('data', (d) => { if (!s.data) s.answered = performance.now() - t0; s.data += d.toString('latin1'); });
  sock.on('close', done);
  sock.on('error', done);
  sock.on('connect', () => {
    s.timer = setInterval(() => {
      if (!s.closed && s.sent < head.length) sock.write(head[s.sent++]);
    }, Number(everyMs));
    sock.write(head[s.sent++]);
  });
  s.sock = sock;
  socks.push(s);
}
process.stderr.write('opened\n');
setTimeout(() => {
  const out = socks.map((s) => ({
    opened: Math.round(s.opened),
    closed: Math.round(s.closed),
    refused: s.data.startsWith('HTTP/1.1 503') && /\r\nConnection: close\r\n/i.test(s.data),
    answered: Math.round(s.answered || 0),
    sent: s.sent,
  }));
  for (const s of socks) s.sock.destroy();
  process.stdout.write(JSON.stringify(out), () => process.exit(0));
}, Number(durationMs));

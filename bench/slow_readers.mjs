// slow_readers.mjs — clients that ask for the big answers and never read
// them, for bench/memory.sh: N connections, each sending one request (the
// endpoints below in turn) and then pausing, so every answer stays queued in
// the server. Runs until stdin closes, then closes every socket.
//   node slow_readers.mjs PORT TOKEN N
import net from 'node:net';

const [port, token, n] = process.argv.slice(2);
const requests = [
  ['GET', '/api/v1/health/status'],
  ['GET', '/api/v1/health/violations'],
  ['GET', '/api/v1/health/latest-report'],
  ['GET', '/api/v1/licenses/admin/sync/desync-issues'],
  ['POST', '/api/v1/licenses/admin/sync/all', '{"dry_run":true}'],
  ['POST', '/api/v1/health/check-now?dry_run=true', '{}'],
];
const socks = [];
for (let i = 0; i < Number(n); i++) {
  const [method, path, body = ''] = requests[i % requests.length];
  const s = net.connect(Number(port), '127.0.0.1', () => {
    s.write(`${method} ${path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer ${token}\r\n`
      + `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    s.pause(); // never read: the answer waits in the server and the socket buffers
  });
  s.on('error', () => {});
  socks.push(s);
}
process.stdin.resume();
process.stdin.on('end', () => {
  for (const s of socks) s.destroy();
  process.exit(0);
});

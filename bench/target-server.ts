/**
 * The target every benchmark job calls, run as its own process so that its
 * work does not share an event loop with the load generator and the callback
 * receiver. Listens on 127.0.0.1, port 0, and prints `{"port":N}` on stdout.
 *
 *   POST /ok          200 {"ok":true}
 *   POST /flaky/<n>   503 for n% of requests (independently at random), else 200
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const OK = '{"ok":true}';

const server = http.createServer((req, res) => {
  // Answer once the body is read, as a real target would.
  req.resume();
  req.on('end', () => {
    const url = req.url ?? '/';
    if (url.startsWith('/flaky/') && Math.random() * 100 < Number(url.slice(7))) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('busy');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(OK);
  });
});
// Node's default: a shorter keep-alive than the client's makes undici
// (keepAliveTimeoutThreshold 2 s) open a connection per request.
server.keepAliveTimeout = 5000;

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});

import { connect } from 'node:net';

/**
 * A slowloris client on 127.0.0.1:`port`: writes `upfront` at once, then
 * `request` one byte per `everyMs`, then keeps trickling spaces; resolves when
 * the server closes the socket, with what it answered. Rejects if the server
 * keeps the socket open for 15 s (the test's own bound).
 */
export function trickle(
  port: number,
  upfront: string,
  request: string,
  everyMs = 50,
): Promise<{ closedAfterMs: number; answer: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    let i = 0;
    socket.once('connect', () => socket.write(upfront));
    const timer = setInterval(() => {
      if (socket.destroyed || !socket.writable) return;
      socket.write(i < request.length ? request[i++]! : ' ');
    }, everyMs);
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ closedAfterMs: Date.now() - started, answer });
    });
    setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error('the server kept a trickling socket open for 15 s'));
    }, 15_000).unref();
  });
}

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Handler = (req: ReceivedRequest, res: ServerResponse, count: number) => void;

/**
 * A real HTTP server on 127.0.0.1, port 0. Routes are keyed by path; each
 * route counts its requests so a handler can answer differently per call.
 */
export class TestServer {
  readonly received: ReceivedRequest[] = [];
  private readonly routes = new Map<string, Handler>();
  /** Requests per path, so a handler learns its count without a scan (benchmarks send many). */
  private readonly counts = new Map<string, number>();
  private readonly server = http.createServer((req, res) => this.onRequest(req, res));
  private readonly sockets = new Set<import('node:net').Socket>();
  /** 0 until the first `listen`, then kept so the server comes back on the same port. */
  private boundPort = 0;

  constructor() {
    // Node's default. Shorter would make undici (keepAliveTimeoutThreshold
    // 2 s) close the socket after every answer: a new connection per request.
    this.server.keepAliveTimeout = 5000;
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /**
   * Listens on 127.0.0.1: on a free port the first time, on the same port
   * again after `close()`, so a test can take a receiver down and bring it
   * back at the address relay already holds.
   */
  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.boundPort, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    return this;
  }

  get port(): number {
    return this.boundPort;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  on(path: string, handler: Handler): this {
    this.routes.set(path, handler);
    return this;
  }

  requests(path: string): ReceivedRequest[] {
    return this.received.filter((r) => r.path === path);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const entry: ReceivedRequest = {
        method: req.method ?? '',
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      this.received.push(entry);
      const count = (this.counts.get(path) ?? 0) + 1;
      this.counts.set(path, count);
      const handler = this.routes.get(path) ?? defaultHandler;
      handler(entry, res, count);
    });
  }

  /** Stops listening and cuts every connection (clients then see ECONNREFUSED); a no-op when not listening. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const defaultHandler: Handler = (_req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end('{"ok":true}');
};

export function reply(res: ServerResponse, status: number, body = '', headers: Record<string, string> = {}): void {
  res.writeHead(status, headers);
  res.end(body);
}

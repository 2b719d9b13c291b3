import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * The fault suite's local target and callback receiver, on 127.0.0.1. The
 * target counts calls per job by the `x-seq` header the load driver puts on
 * every job; the receiver counts callbacks per job id and can go down (stop
 * listening, cut its connections) and come back on the same port.
 */

type Behaviour = 'ok' | 'hang' | 'slow' | 'endless';

export class FaultTarget {
  /** Calls per x-seq. */
  readonly calls = new Map<number, number>();
  /** Bytes written to endless bodies, in all. */
  endlessBytes = 0;
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();

  constructor() {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  url(behaviour: Behaviour): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/${behaviour}`;
  }

  totalCalls(): number {
    let n = 0;
    for (const c of this.calls.values()) n += c;
    return n;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const seq = Number(req.headers['x-seq']);
    if (Number.isFinite(seq)) this.calls.set(seq, (this.calls.get(seq) ?? 0) + 1);
    const behaviour = (req.url ?? '/ok').slice(1) as Behaviour;
    switch (behaviour) {
      case 'hang':
        return; // never answers; the client's deadline must cut it
      case 'slow':
        setTimeout(() => res.end('{"slow":true}'), 2000);
        return;
      case 'endless': {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 120);
        const pump = () => {
          while (!res.destroyed) {
            this.endlessBytes += chunk.length;
            if (!res.write(chunk)) break;
          }
          if (!res.destroyed) res.once('drain', pump);
        };
        res.on('close', () => res.removeAllListeners('drain'));
        pump();
        return;
      }
      default:
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface ReceivedCallback {
  jobId: string;
  status: string;
  at: number;
}

export class CallbackReceiver {
  readonly received: ReceivedCallback[] = [];
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  async listen(): Promise<this> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { jobId: string; status: string };
          this.received.push({ jobId: body.jobId, status: body.status, at: Date.now() });
        } catch {
          // Not a callback body: ignored.
        }
        res.writeHead(204);
        res.end();
      });
    });
    server.keepAliveTimeout = 5000;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/cb`;
  }

  /** Stops listening and cuts every connection: deliveries fail with ECONNREFUSED. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Back on the same port. */
  async up(): Promise<void> {
    await this.listen();
  }

  /** Callbacks per job id. */
  perJob(): Map<string, ReceivedCallback[]> {
    const out = new Map<string, ReceivedCallback[]>();
    for (const cb of this.received) out.set(cb.jobId, [...(out.get(cb.jobId) ?? []), cb]);
    return out;
  }

  async close(): Promise<void> {
    await this.down();
  }
}

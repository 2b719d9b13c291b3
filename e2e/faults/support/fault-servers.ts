import type { ServerResponse } from 'node:http';
import { reply, TestServer, type Handler } from '../../support/http-servers.js';

/**
 * The fault suite's local target and callback receiver: the e2e TestServer
 * on 127.0.0.1 with the routes a fault scenario needs. The target counts
 * calls per job by the `x-seq` header the load driver puts on every job; the
 * receiver counts callbacks per job id and can go down (stop listening, cut
 * its connections) and come back on the same port.
 */

type Behaviour = 'ok' | 'hang' | 'slow' | 'endless';

export class FaultTarget {
  /** Calls per x-seq. */
  readonly calls = new Map<number, number>();
  /** Bytes written to endless bodies, in all. */
  endlessBytes = 0;
  private readonly server = new TestServer();

  constructor() {
    const behaviours: Record<Behaviour, Handler> = {
      ok: (_req, res) => reply(res, 200, '{"ok":true}', { 'content-type': 'application/json' }),
      hang: () => undefined, // never answers; the client's deadline must cut it
      slow: (_req, res) => setTimeout(() => res.end('{"slow":true}'), 2000),
      endless: (_req, res) => this.pumpForever(res),
    };
    for (const [behaviour, handler] of Object.entries(behaviours)) {
      this.server.on(`/${behaviour}`, (req, res, n) => {
        const seq = Number(req.headers['x-seq']);
        if (Number.isFinite(seq)) this.calls.set(seq, (this.calls.get(seq) ?? 0) + 1);
        handler(req, res, n);
      });
    }
  }

  async listen(): Promise<this> {
    await this.server.listen();
    return this;
  }

  url(behaviour: Behaviour): string {
    return this.server.url(`/${behaviour}`);
  }

  totalCalls(): number {
    let n = 0;
    for (const c of this.calls.values()) n += c;
    return n;
  }

  /** Writes 64 KiB chunks as fast as the client reads them, until it hangs up. */
  private pumpForever(res: ServerResponse): void {
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
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

export interface ReceivedCallback {
  jobId: string;
  status: string;
  at: number;
}

export class CallbackReceiver {
  readonly received: ReceivedCallback[] = [];
  private readonly server = new TestServer().on('/cb', (req, res) => {
    try {
      const body = JSON.parse(req.body) as { jobId: string; status: string };
      this.received.push({ jobId: body.jobId, status: body.status, at: req.at });
    } catch {
      // Not a callback body: ignored.
    }
    reply(res, 204);
  });

  async listen(): Promise<this> {
    await this.server.listen();
    return this;
  }

  get url(): string {
    return this.server.url('/cb');
  }

  /** Stops listening and cuts every connection: deliveries fail with ECONNREFUSED. */
  down(): Promise<void> {
    return this.server.close();
  }

  /** Back on the same port. */
  async up(): Promise<void> {
    await this.server.listen();
  }

  /** Callbacks per job id. */
  perJob(): Map<string, ReceivedCallback[]> {
    const out = new Map<string, ReceivedCallback[]>();
    for (const cb of this.received) out.set(cb.jobId, [...(out.get(cb.jobId) ?? []), cb]);
    return out;
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

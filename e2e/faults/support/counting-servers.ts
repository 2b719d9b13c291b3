import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A target and a callback receiver that only count, for long or heavy
 * scenarios (a soak sends hundreds of thousands of requests): nothing of a
 * request is kept but its counters. The target counts calls per `x-seq`
 * (the load driver's header) and answers by path: `/ok` 200, `/fail` 500,
 * `/slow` 200 after SLOW_MS (so that attempts are in flight when a fault starts).
 * The receiver counts callbacks per job id and keeps the last status.
 */

abstract class CountingServer {
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => this.handle(req, res, Buffer.concat(chunks)));
  });

  protected abstract handle(req: IncomingMessage, res: ServerResponse, body: Buffer): void;

  async listen(): Promise<this> {
    this.server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export const SLOW_MS = 2000;

export class CountingTarget extends CountingServer {
  /** Calls per x-seq. */
  readonly calls = new Map<number, number>();

  protected handle(req: IncomingMessage, res: ServerResponse): void {
    const seq = Number(req.headers['x-seq']);
    if (Number.isFinite(seq)) this.calls.set(seq, (this.calls.get(seq) ?? 0) + 1);
    const answer = () => {
      res.writeHead(req.url === '/fail' ? 500 : 200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    };
    if (req.url === '/slow') setTimeout(answer, SLOW_MS);
    else answer();
  }

  totalCalls(): number {
    let n = 0;
    for (const c of this.calls.values()) n += c;
    return n;
  }
}

export class CountingReceiver extends CountingServer {
  /** Per job id: callbacks received and the last status. */
  readonly perJob = new Map<string, { count: number; status: string }>();

  protected handle(_req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    try {
      const { jobId, status } = JSON.parse(body.toString('utf8')) as { jobId: string; status: string };
      const seen = this.perJob.get(jobId);
      this.perJob.set(jobId, { count: (seen?.count ?? 0) + 1, status });
    } catch {
      // Not a callback body: ignored.
    }
    res.writeHead(204);
    res.end();
  }

  /** Whether the job's callback said it ended. */
  isFinal(jobId: string): boolean {
    const s = this.perJob.get(jobId)?.status;
    return s === 'completed' || s === 'failed' || s === 'cancelled';
  }
}

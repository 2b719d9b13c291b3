/**
 * Receives the callbacks of benchmark jobs, in the load generator's process so
 * that submit and callback times come from one clock. Each job's callback URL
 * names its batch and sequence number (`/cb?b=<batch>&s=<seq>`), so a
 * callback is matched to its job even if it overtakes the job's 202.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Batch } from './load-generator.js';

export class CallbackReceiver {
  private readonly batches = new Map<number, Batch>();
  private nextBatchId = 1;
  /** Callbacks of batches already closed (a duplicate or a very late delivery). */
  strays = 0;
  private readonly server = http.createServer((req, res) => this.onRequest(req, res));

  constructor() {
    // Node's default; shorter would make undici open a connection per callback.
    this.server.keepAliveTimeout = 5000;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  /** The callback URL of job `seq` of `batch`. */
  url(batch: Batch, seq: number): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/cb?b=${batch.id}&s=${seq}`;
  }

  /** A new batch whose callbacks this receiver records until `close`. */
  open(label: string): Batch {
    const batch = new Batch(this.nextBatchId++, label);
    this.batches.set(batch.id, batch);
    return batch;
  }

  close(batch: Batch): void {
    this.batches.delete(batch.id);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      res.writeHead(204);
      res.end();
      const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
      const batch = this.batches.get(Number(query.get('b')));
      const seq = Number(query.get('s'));
      if (!batch || !(seq >= 0 && seq < batch.sent)) {
        this.strays++;
        return;
      }
      if (!Number.isNaN(batch.calledBackAt[seq]!)) {
        batch.duplicateCallbacks++;
        return;
      }
      batch.calledBackAt[seq] = at;
      batch.callbacks++;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { attempts?: number };
        batch.attempts[seq] = body.attempts ?? 0;
      } catch {
        batch.attempts[seq] = 0;
      }
    });
  }
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { ErrorCodes, type Logger } from '@relay/common';

export interface MetricsServerOptions {
  /** 0 picks a free port; the one chosen is in the result. */
  port: number;
  /** @defaultValue '127.0.0.1' (use 0.0.0.0 in a container, for Prometheus to reach it) */
  host?: string;
  registry: Registry;
  log?: Pick<Logger, 'info' | 'error'>;
  /**
   * Whether the worker is doing its job (consuming from the work queue).
   * While it returns false, `/health` answers 503 `not consuming`.
   * @defaultValue always true
   */
  healthy?: () => boolean;
}

export interface MetricsServer {
  /** The port listened on (the actual one when 0 was asked for). */
  port: number;
  close(): Promise<void>;
}

/**
 * A bare node:http server for Prometheus: `GET /metrics` (the text
 * exposition of `registry`) and `GET /health` (200 `ok` while `healthy()`,
 * else 503 `not consuming`);
 * anything else is a 404 in relay's error shape. Rejects when it cannot
 * listen (port taken).
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { registry, log } = options;
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const readable = req.method === 'GET' || req.method === 'HEAD';
    if (readable && path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          log?.error({ err }, 'metrics collection failed');
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('metrics collection failed\n');
        },
      );
      return;
    }
    if (readable && path === '/health') {
      const healthy = options.healthy?.() ?? true;
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(healthy ? 'ok' : 'not consuming');
      return;
    }
    const def = ErrorCodes.NOT_FOUND;
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
    res.end(
      JSON.stringify({
        statusCode: 404,
        code: def.code,
        error: 'Not Found',
        message: `No route for ${req.method} ${path}`,
      }),
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  log?.info({ host, port }, 'metrics server listening');

  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Prometheus keeps its connection alive between scrapes: do not wait for it.
        server.closeAllConnections();
      }),
  };
}

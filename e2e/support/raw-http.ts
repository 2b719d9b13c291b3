import { request as httpRequest } from 'node:http';

/**
 * One HTTP request to a relay backend on 127.0.0.1 with a Host header of the
 * test's choice (fetch does not let a caller set Host): for the keys-off
 * Host guard. The connection always goes to 127.0.0.1, whatever `host` says.
 */
export function requestWithHost(
  baseUrl: string,
  options: { method: string; path: string; host: string; body?: unknown },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }> {
  const port = new URL(baseUrl).port;
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = { host: options.host };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: options.path, method: options.method, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

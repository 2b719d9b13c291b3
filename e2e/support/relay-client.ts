import { request } from 'undici';

export interface ApiResponse<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

/** Minimal client of the relay API for tests. */
export class RelayClient {
  constructor(
    readonly baseUrl: string,
    /** Sent as `Authorization: Bearer <key>` on every request when set. */
    readonly apiKey: string | null = null,
  ) {}

  /** The same server, with another key. */
  withKey(apiKey: string | null): RelayClient {
    return new RelayClient(this.baseUrl, apiKey);
  }

  async send(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse> {
    const auth: Record<string, string> = this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
    const res = await request(this.baseUrl + path, { method, body, headers: { ...auth, ...headers } });
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Left as text: a test asserting JSON will fail on it.
    }
    return { status: res.statusCode, headers: res.headers, body: parsed };
  }

  submit(spec: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    return this.send('POST', '/api/jobs', JSON.stringify(spec), { 'content-type': 'application/json', ...headers });
  }

  /** POST/PATCH with a JSON body. */
  json(method: 'POST' | 'PATCH', path: string, body: unknown): Promise<ApiResponse> {
    return this.send(method, path, JSON.stringify(body), { 'content-type': 'application/json' });
  }

  /** Submits and asserts the 202, returning the job id. */
  async submitOk(spec: unknown): Promise<string> {
    const res = await this.submit(spec);
    if (res.status !== 202) throw new Error(`expected 202, got ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.jobId as string;
  }

  job(jobId: string): Promise<ApiResponse> {
    return this.send('GET', `/api/job/${jobId}`);
  }

  /** Polls until the job is completed or failed (and its callback, if any, settled). */
  async waitFinal(jobId: string, timeoutMs = 30_000, { callback = false } = {}): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    let last: any;
    while (Date.now() < deadline) {
      const res = await this.job(jobId);
      last = res.body;
      const final = res.status === 200 && (last.status === 'completed' || last.status === 'failed');
      const cbSettled = !callback || ['delivered', 'failed'].includes(last.callback?.status);
      if (final && cbSettled) return last;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`job ${jobId} not final after ${timeoutMs} ms: ${JSON.stringify(last)}`);
  }
}

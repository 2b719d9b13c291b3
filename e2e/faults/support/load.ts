import { Agent, request } from 'undici';

/**
 * Submits jobs at a fixed rate (open loop: job i is sent at t0 + i/rate
 * whatever happened to the ones before) and records what each submission
 * got. Every job carries `x-seq: <i>` so the target can count calls per job.
 */

export interface Submission {
  seq: number;
  /** HTTP status, or 0 when no answer came (connection refused or reset). */
  status: number;
  /** From a 202; also from a 503 RELAY_ERR_ACCEPT_UNCERTAIN, whose body names the job that may still run. */
  jobId: string | null;
  code: string | null;
  ms: number;
  at: number;
}

export interface LoadOptions {
  baseUrl: () => string;
  /** Submissions at most (the run may end earlier: `stop`). */
  count: number;
  perSecond: number;
  /** Checked before each submission: true ends the run there (for a load that lasts as long as a scenario). */
  stop?: () => boolean;
  spec: (seq: number) => Record<string, unknown>;
  /** Called every 500 submissions, for progress lines. */
  onProgress?: (done: number) => void;
  /** Sent with every submission (e.g. an application's `authorization`). */
  headers?: Record<string, string>;
}

const agent = new Agent({ connections: 64, keepAliveTimeout: 4000, headersTimeout: 30_000, bodyTimeout: 30_000 });

export async function submitJobs(options: LoadOptions): Promise<Submission[]> {
  const out: Submission[] = [];
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let seq = 0; seq < options.count; seq++) {
    const due = t0 + (seq * 1000) / options.perSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (options.stop?.()) break;
    const spec = options.spec(seq);
    const headers = { ...(spec.headers as Record<string, string> | undefined), 'x-seq': String(seq) };
    pending.push(
      submitOne(options.baseUrl(), seq, { ...spec, headers }, options.headers).then((s) => {
        out.push(s);
        if (out.length % 500 === 0) options.onProgress?.(out.length);
      }),
    );
  }
  await Promise.all(pending);
  return out.sort((a, b) => a.seq - b.seq);
}

async function submitOne(
  baseUrl: string,
  seq: number,
  spec: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<Submission> {
  const start = performance.now();
  const at = Date.now();
  try {
    const res = await request(`${baseUrl}/api/jobs`, {
      dispatcher: agent,
      method: 'POST',
      headers: { ...extraHeaders, 'content-type': 'application/json' },
      body: JSON.stringify(spec),
    });
    const body = (await res.body.json().catch(() => ({}))) as { jobId?: string; code?: string };
    return {
      seq,
      status: res.statusCode,
      jobId: body.jobId ?? null,
      code: body.code ?? null,
      ms: performance.now() - start,
      at,
    };
  } catch (err) {
    return {
      seq,
      status: 0,
      jobId: null,
      code: (err as { code?: string }).code ?? 'ERROR',
      ms: performance.now() - start,
      at,
    };
  }
}

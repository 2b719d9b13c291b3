import { createHash, createHmac } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  AcceptUncertainError,
  commonConfigSpec,
  RelayError,
  ServiceUnavailableError,
  type LogSink,
  type RedisKeys,
} from '@relay/common';

/**
 * `Idempotency-Key` on POST /api/jobs, per application, kept 24 h (the IETF
 * httpapi idempotency-key draft, as Stripe does it): the first request with a
 * key claims it ("pending"); its answer is then stored ("done") and replayed
 * to any later request with the same key and the same body. A different body
 * is a 422; a duplicate arriving while the first is still being accepted is a
 * 409 (retry shortly). A request that fails (503) releases the key, so the
 * client's retry runs afresh, except when the job may have been accepted (its
 * publish confirm timed out, AcceptUncertainError): the key is then bound to
 * that job, and the retry gets its 202.
 */

export const IDEMPOTENCY_TTL_SECONDS = 86_400;
/**
 * How long a claim may stay pending: longer than any acceptance can take (a
 * Redis write, then a publisher confirm waited for at most the largest
 * PUBLISH_TIMEOUT_MS allowed, plus a margin for the write), short enough that a
 * backend that died mid-request does not block the key for a day.
 */
const PENDING_TTL_SECONDS = commonConfigSpec.publishTimeoutMs.max / 1000 + 30;

/** When a duplicate of a request still being accepted should come back: about one acceptance later. */
const IN_PROGRESS_RETRY_AFTER_SECONDS = 1;

/** Printable ASCII without spaces, as the draft suggests; 255 at most. */
export const IDEMPOTENCY_KEY_PATTERN = '^[\\x21-\\x7e]{1,255}$';

/** A successful answer, as stored for replay (failures are never stored). */
export interface StoredAnswer<Body = unknown, Status extends number = number> {
  statusCode: Status;
  body: Body;
  headers: Record<string, string>;
}

type Entry<A = StoredAnswer> =
  { state: 'pending'; fingerprint: string } | { state: 'done'; fingerprint: string; answer: A };

/** JSON with object keys sorted, so that key order does not make two bodies differ. Pure. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** HMAC-SHA-256 of the canonical body, keyed by fingerprintKey() (see fingerprint-key.ts). Pure. */
export function fingerprint(body: unknown, key: Buffer): string {
  return createHmac('sha256', key).update(canonicalJson(body)).digest('hex');
}

/** What to do with a request whose key is already taken. Pure. */
export function decide(existing: Entry<unknown>, requestFingerprint: string): 'replay' | 'in_progress' | 'mismatch' {
  if (existing.fingerprint !== requestFingerprint) return 'mismatch';
  return existing.state === 'done' ? 'replay' : 'in_progress';
}

function inProgress(): RelayError {
  return new RelayError('IDEMPOTENCY_IN_PROGRESS', {
    headers: { 'retry-after': String(IN_PROGRESS_RETRY_AFTER_SECONDS) },
  });
}

export class Idempotency {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly log: LogSink,
    /** From fingerprintKey(): the same on every backend sharing this Redis. */
    private readonly fingerprintKey: Buffer,
  ) {}

  /**
   * Runs `accept` once per (application, key, body). Returns its answer, or
   * the stored answer of the first request with `replayed: true`.
   */
  async run<A extends StoredAnswer>(
    idempotencyKey: string,
    body: unknown,
    accept: () => Promise<A>,
  ): Promise<A & { replayed: boolean }> {
    const key = this.keys.idempotency(createHash('sha256').update(idempotencyKey).digest('hex'));
    const print = fingerprint(body, this.fingerprintKey);
    const existing = await this.claim<A>(key, print);
    if (existing === 'claimed') return { ...(await this.acceptOnce(key, print, accept)), replayed: false };
    switch (decide(existing, print)) {
      case 'mismatch':
        throw new RelayError('IDEMPOTENCY_MISMATCH', {
          details: [{ path: '/headers/idempotency-key', message: 'already used with a different body' }],
        });
      case 'in_progress':
        throw inProgress();
      case 'replay':
        return { ...(existing as Extract<Entry<A>, { state: 'done' }>).answer, replayed: true };
    }
  }

  /**
   * Claims `key` for this request, or returns the entry of the request that
   * holds it. The one place this class reads Redis: a failure here means
   * nothing was claimed, and is answered as the storage being unavailable.
   */
  private async claim<A>(key: string, print: string): Promise<'claimed' | Entry<A>> {
    const pending = JSON.stringify({ state: 'pending', fingerprint: print } satisfies Entry<A>);
    try {
      // Two tries: the entry may expire between a failed SET NX and the GET.
      for (let attempt = 0; attempt < 2; attempt++) {
        if (await this.redis.set(key, pending, 'EX', PENDING_TTL_SECONDS, 'NX')) return 'claimed';
        const raw = await this.redis.get(key);
        if (raw !== null) return JSON.parse(raw) as Entry<A>;
      }
    } catch (err) {
      throw new ServiceUnavailableError('Redis', err);
    }
    throw inProgress();
  }

  private async acceptOnce<A extends StoredAnswer>(key: string, print: string, accept: () => Promise<A>): Promise<A> {
    let answer: A;
    try {
      answer = await accept();
    } catch (err) {
      if (err instanceof AcceptUncertainError && err.answer) {
        await this.store(key, { state: 'done', fingerprint: print, answer: err.answer as A });
        throw err;
      }
      // Nothing was accepted: free the key for the client's retry.
      await this.redis.del(key).catch(() => undefined);
      throw err;
    }
    await this.store(key, { state: 'done', fingerprint: print, answer });
    return answer;
  }

  private async store<A>(key: string, done: Entry<A>): Promise<void> {
    // The job is accepted whatever happens here. If this write fails, the
    // claim expires and a later retry with the key could create a second job:
    // rare (Redis failed between two commands) and logged.
    await this.redis.set(key, JSON.stringify(done), 'EX', IDEMPOTENCY_TTL_SECONDS).catch((err: unknown) => {
      this.log.error(
        { err },
        'idempotency: the answer could not be stored; the key is released when its claim expires',
      );
    });
  }
}

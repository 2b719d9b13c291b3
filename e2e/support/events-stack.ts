import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { RelayClient } from './relay-client.js';
import { startStack, type Stack } from './stack.js';

/**
 * A stack for the lifecycle-event tests (issue 14): auth on, so that each
 * test has its own application (its own subscriptions and signing secret),
 * and fast event retries (EVENT_RETRY_DELAY_MS 50, EVENT_MAX_ATTEMPTS 3).
 */
export interface EventsStack {
  stack: Stack;
  master: RelayClient;
  createApplication(name: string): Promise<Application>;
  stop(): Promise<void>;
}

export interface Application {
  id: string;
  api: RelayClient;
  /** Its Standard Webhooks signing secret (`whsec_...`). */
  secret: string;
}

/**
 * How long a subscription change takes to reach every process: each keeps an
 * index per application and checks its version at most once a second
 * (subscription-cache.ts), plus a margin.
 */
export const SUBSCRIPTION_CACHE_WAIT_MS = 1500;

/** After the deliveries a test waits for, how long it still listens for ones that must not come. */
export const QUIET_MS = 700;

export async function startEventsStack(label: string, env: Record<string, string> = {}): Promise<EventsStack> {
  const masterKey = randomBytes(32).toString('base64');
  const stack = await startStack(label, {
    env: {
      RELAY_AUTH: 'on',
      RELAY_MASTER_KEY: masterKey,
      // Signing secrets rest sealed in Redis; both processes hold the key.
      RELAY_SECRET_KEY: randomBytes(32).toString('base64'),
      EVENT_RETRY_DELAY_MS: '50',
      EVENT_MAX_ATTEMPTS: '3',
      ...env,
    },
  });
  const master = stack.api.withKey(masterKey);
  return {
    stack,
    master,
    async createApplication(name) {
      const res = await master.json('POST', '/api/applications', { name });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return { id: res.body.id, api: stack.api.withKey(res.body.apiKey), secret: res.body.signingSecret };
    },
    stop: () => stack.stop(),
  };
}

/** Creates an enabled subscription and returns it as the API shows it. */
export async function subscribe(api: RelayClient, spec: Record<string, unknown>): Promise<any> {
  const res = await api.json('POST', '/api/subscriptions', { name: 'test', ...spec });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body).toMatchObject({ enabled: true, disabledReason: null });
  return res.body;
}

/** Polls the first page of a subscription's delivery log until one delivery satisfies `done`. */
export async function waitForLog(
  api: RelayClient,
  subscriptionId: string,
  done: (d: any) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.send('GET', `/api/subscriptions/${subscriptionId}/deliveries?limit=100`);
    const found = res.status === 200 ? (res.body.deliveries as any[]).find(done) : undefined;
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${what} in the delivery log: ${JSON.stringify(res.body)}`);
    await sleep(100);
  }
}

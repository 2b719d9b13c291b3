import { describe, expect, it } from 'vitest';
import { createLogger, type AttemptMessage, type CallbackMessage, type WorkMessage } from '@relay/common';
import { DEFERRAL_BASE_MS, deferralDelayMs } from '../../src/fairness/admission.js';
import { FairnessGate, hostOf } from '../../src/fairness/fairness-gate.js';

const NOW = Date.parse('2025-01-01T12:00:00Z');
const log = createLogger({ name: 'test', level: 'silent' });

function attempt(jobId: string, targetUrl: string, application = 'app_a', extra: Partial<AttemptMessage> = {}) {
  return {
    v: 1,
    kind: 'attempt',
    jobId,
    attempt: 3,
    dueAt: 0,
    createdAt: new Date(NOW).toISOString(),
    spec: { targetUrl, method: 'POST' },
    seriesBase: 0,
    requestId: null,
    traceId: '0'.repeat(32),
    application,
    ...extra,
  } as unknown as AttemptMessage;
}

function callback(jobId: string, callbackUrl: string, application = 'app_a'): CallbackMessage {
  return {
    v: 1,
    kind: 'callback',
    jobId,
    delivery: 2,
    dueAt: 0,
    callbackUrl,
    application,
  } as unknown as CallbackMessage;
}

/** A gate whose scheduler records what it was given, and runs that never end until released. */
function setup(caps = { host: 2, application: 3 }) {
  const scheduled: WorkMessage[] = [];
  const reasons: string[] = [];
  const gate = new FairnessGate({
    caps,
    scheduler: { schedule: async (m) => void scheduled.push(m) },
    now: () => NOW,
    random: () => 0,
    onDefer: (reason) => reasons.push(reason),
  });
  const ran: WorkMessage[] = [];
  const releases: (() => void)[] = [];
  const start = (m: WorkMessage) =>
    gate.run(m, log, (admitted) => {
      ran.push(admitted);
      return new Promise<void>((resolve) => releases.push(resolve));
    });
  return { gate, scheduled, reasons, ran, releases, start };
}

describe('hostOf', () => {
  it("is the origin of an attempt's target and of a callback's receiver", () => {
    expect(hostOf(attempt('j', 'https://API.example.com/a/b?c=1'))).toBe('https://api.example.com');
    expect(hostOf(attempt('j', 'http://127.0.0.1:8080/x'))).toBe('http://127.0.0.1:8080');
    expect(hostOf(attempt('j', 'https://example.com:443/x'))).toBe('https://example.com');
    expect(hostOf(callback('j', 'http://hooks.example.com:9000/cb'))).toBe('http://hooks.example.com:9000');
  });

  it('keeps a URL it cannot parse as it is, so it still gets a cap of its own', () => {
    expect(hostOf(attempt('j', 'not a url'))).toBe('not a url');
  });
});

describe('FairnessGate', () => {
  it('runs messages up to the host cap, then puts the next back with the same attempt and a deferral count', async () => {
    const { gate, scheduled, reasons, ran, releases, start } = setup();
    const first = start(attempt('j1', 'http://slow.example/a'));
    const second = start(attempt('j2', 'http://slow.example/b'));
    await start(attempt('j3', 'http://slow.example/c'));
    expect(ran.map((m) => m.jobId)).toEqual(['j1', 'j2']);
    expect(gate.hostInFlight('http://slow.example')).toBe(2);
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0]).toMatchObject({
      jobId: 'j3',
      attempt: 3,
      dueAt: NOW + DEFERRAL_BASE_MS / 2,
      fairnessDeferrals: 1,
    });
    expect(reasons).toEqual(['host']);

    // Another host of the same application still starts.
    void start(attempt('j4', 'http://fast.example/a'));
    expect(ran.map((m) => m.jobId)).toEqual(['j1', 'j2', 'j4']);

    releases[0]!();
    await first;
    expect(gate.hostInFlight('http://slow.example')).toBe(1);
    releases[1]!();
    await second;
    expect(gate.hostInFlight('http://slow.example')).toBe(0);
  });

  it('defers by application once the application is at its cap, on any host', async () => {
    const { scheduled, reasons, ran, start } = setup({ host: 10, application: 3 });
    for (const host of ['a', 'b', 'c']) void start(attempt(`j${host}`, `http://${host}.example/`));
    await start(attempt('jd', 'http://d.example/'));
    void start(attempt('other', 'http://d.example/', 'app_b'));
    expect(ran.map((m) => m.jobId)).toEqual(['ja', 'jb', 'jc', 'other']);
    expect(scheduled.map((m) => m.jobId)).toEqual(['jd']);
    expect(reasons).toEqual(['application']);
  });

  it('waits longer each time the same message is held back', async () => {
    const { scheduled, start } = setup({ host: 1, application: 5 });
    void start(attempt('busy', 'http://slow.example/'));
    await start(attempt('j', 'http://slow.example/', 'app_a', { fairnessDeferrals: 2 }));
    expect(scheduled[0]).toMatchObject({ dueAt: NOW + deferralDelayMs(2, 0), fairnessDeferrals: 3 });
    expect(deferralDelayMs(2, 0)).toBeGreaterThan(deferralDelayMs(1, 0));
  });

  it('hands the run a message without its deferral count, so the retries it schedules start afresh', async () => {
    const { ran, start } = setup();
    void start(attempt('j', 'http://x.example/', 'app_a', { fairnessDeferrals: 6 }));
    expect(ran[0]).not.toHaveProperty('fairnessDeferrals');
    expect(ran[0]).toMatchObject({ jobId: 'j', attempt: 3 });
  });

  it('counts callback deliveries against their receiver host and their application', async () => {
    const { scheduled, ran, start } = setup({ host: 1, application: 5 });
    void start(callback('c1', 'http://hooks.example/cb'));
    await start(callback('c2', 'http://hooks.example/cb'));
    expect(ran.map((m) => m.jobId)).toEqual(['c1']);
    expect(scheduled[0]).toMatchObject({ jobId: 'c2', kind: 'callback', delivery: 2, fairnessDeferrals: 1 });
  });

  it('gives the slot back when the run throws, and lets the error through', async () => {
    const { gate } = setup({ host: 1, application: 1 });
    const boom = new Error('redis down');
    await expect(gate.run(attempt('j', 'http://x.example/'), log, () => Promise.reject(boom))).rejects.toBe(boom);
    expect(gate.hostInFlight('http://x.example')).toBe(0);
    expect(gate.applicationInFlight('app_a')).toBe(0);
  });

  it('lets a failed put-back through, holding no slot, so the consumer defers the message itself', async () => {
    const gate = new FairnessGate({
      caps: { host: 1, application: 1 },
      scheduler: { schedule: () => Promise.reject(new Error('broker down')) },
      now: () => NOW,
      random: () => 0,
    });
    void gate.run(attempt('busy', 'http://x.example/'), log, () => new Promise(() => undefined));
    await expect(gate.run(attempt('j', 'http://x.example/'), log, async () => undefined)).rejects.toThrow(
      'broker down',
    );
    expect(gate.hostInFlight('http://x.example')).toBe(1);
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, type AttemptMessage, type CallbackMessage, type WorkMessage } from '@relay/common';
import {
  DEFERRAL_BASE_MS,
  deferralDelayMs,
  SLOW_HOST_BUSY_MS,
  SLOW_HOST_SKIPPED_ROUNDS,
} from '../../src/fairness/admission.js';
import { FairnessGate, hostOf, LOCAL_WAIT_TIMEOUT_FACTOR, SLOT_TIMES_KEPT } from '../../src/fairness/fairness-gate.js';

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

describe('FairnessGate, local waits for a fast host (HOST_LOCAL_WAIT_MS)', () => {
  afterEach(() => void vi.useRealTimers());

  /** A gate with a clock the test moves, and runs the test ends one by one. */
  function localSetup(caps = { host: 2, application: 10 }, localWaitMaxMs = 100) {
    let clock = NOW;
    const scheduled: WorkMessage[] = [];
    const waits: string[] = [];
    const gate = new FairnessGate({
      caps,
      scheduler: { schedule: async (m) => void scheduled.push(m) },
      now: () => clock,
      random: () => 0,
      localWaitMaxMs,
      onLocalWait: (outcome) => waits.push(outcome),
    });
    const ran: string[] = [];
    const releases = new Map<string, () => void>();
    const start = (m: WorkMessage) =>
      gate.run(m, log, (admitted) => {
        ran.push(admitted.jobId);
        return new Promise<void>((resolve) => releases.set(admitted.jobId, resolve));
      });
    /** Ends job `id`'s run after `ms` of clock time, and lets the gate hand its slot on. */
    const finish = async (id: string, ms: number, run: Promise<void>) => {
      clock += ms;
      releases.get(id)!();
      await run;
      await Promise.resolve();
    };
    const advance = (ms: number) => void (clock += ms);
    return { gate, scheduled, waits, ran, start, finish, advance };
  }

  it('a message over the cap of a host whose runs are fast waits here and takes the next slot: no put-back', async () => {
    const { gate, scheduled, waits, ran, start, finish } = localSetup();
    const host = 'http://fast.example';
    // Teach the gate the host's slot time: one run of 10 ms.
    await finish('warm', 10, start(attempt('warm', `${host}/`)));
    const a = start(attempt('a', `${host}/`));
    const b = start(attempt('b', `${host}/`));
    const c = start(attempt('c', `${host}/`));
    await Promise.resolve();
    expect(ran).toEqual(['warm', 'a', 'b']);
    expect(gate.hostWaiting(host)).toBe(1);
    expect(gate.hostInFlight(host)).toBe(2);

    await finish('a', 10, a);
    // a's slot went straight to c: the count never dropped below the cap, nothing was put back.
    expect(ran).toEqual(['warm', 'a', 'b', 'c']);
    expect(gate.hostWaiting(host)).toBe(0);
    expect(gate.hostInFlight(host)).toBe(2);
    expect(scheduled).toEqual([]);
    expect(waits).toEqual(['started']);

    await finish('b', 10, b);
    await finish('c', 10, c);
    expect(gate.hostInFlight(host)).toBe(0);
    expect(gate.applicationInFlight('app_a')).toBe(0);
  });

  it('puts back what would wait too long: a slow host, or a line already a full wait long', async () => {
    const { gate, scheduled, waits, start, finish } = localSetup({ host: 1, application: 10 });
    await finish('slow', 30_000, start(attempt('slow', 'http://slow.example/')));
    void start(attempt('s1', 'http://slow.example/'));
    await start(attempt('s2', 'http://slow.example/'));
    expect(scheduled.map((m) => m.jobId)).toEqual(['s2']);

    // 40 ms per run, cap 1, at most 100 ms: two may wait ((1 + 1) * 40 = 80), the third is put back.
    await finish('f0', 40, start(attempt('f0', 'http://fast.example/')));
    void start(attempt('f1', 'http://fast.example/'));
    void start(attempt('f2', 'http://fast.example/'));
    void start(attempt('f3', 'http://fast.example/'));
    await start(attempt('f4', 'http://fast.example/'));
    expect(gate.hostWaiting('http://fast.example')).toBe(2);
    expect(scheduled.map((m) => m.jobId)).toEqual(['s2', 'f4']);
    expect(waits).toEqual([]);
  });

  it('a waiter not served in time (the host turned slow) is put back and holds nothing', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { gate, scheduled, waits, start, finish } = localSetup({ host: 1, application: 10 });
    const host = 'http://turning.example';
    await finish('w', 5, start(attempt('w', `${host}/`)));
    void start(attempt('hung', `${host}/`));
    const waiter = start(attempt('late', `${host}/`));
    expect(gate.hostWaiting(host)).toBe(1);
    await vi.advanceTimersByTimeAsync(100 * LOCAL_WAIT_TIMEOUT_FACTOR);
    await waiter;
    expect(waits).toEqual(['timed_out']);
    expect(scheduled.map((m) => m.jobId)).toEqual(['late']);
    expect(scheduled[0]).toMatchObject({ fairnessDeferrals: 1 });
    expect(gate.hostWaiting(host)).toBe(0);
    expect(gate.hostInFlight(host)).toBe(1);
  });

  it("a waiter handed a slot still meets its application's cap: it is put back and the slot passes on", async () => {
    const { gate, scheduled, ran, start, finish } = localSetup({ host: 1, application: 2 });
    const host = 'http://fast.example';
    await finish('w', 10, start(attempt('w', `${host}/`, 'app_b')));
    const a = start(attempt('a', `${host}/`, 'app_b'));
    const b = start(attempt('b', `${host}/`, 'app_a'));
    void start(attempt('c', `${host}/`, 'app_b'));
    expect(gate.hostWaiting(host)).toBe(2);
    // app_a reaches its cap on other hosts while b waits.
    void start(attempt('o1', 'http://one.example/', 'app_a'));
    void start(attempt('o2', 'http://two.example/', 'app_a'));
    // a ends: its slot goes to b, which app_a's cap puts back; the slot passes on to c.
    await finish('a', 10, a);
    await b;
    expect(scheduled.map((m) => m.jobId)).toEqual(['b']);
    expect(scheduled[0]).toMatchObject({ fairnessDeferrals: 1 });
    expect(ran).toEqual(['w', 'a', 'o1', 'o2', 'c']);
    expect(gate.hostInFlight(host)).toBe(1);
    expect(gate.hostWaiting(host)).toBe(0);
  });

  it('keeps slot times for a bounded number of hosts: past the bound, those with nothing in flight are dropped', async () => {
    const { gate, start, finish } = localSetup({ host: 1, application: 1_000_000 });
    const busy = start(attempt('busy', 'http://busy.example/'));
    for (let i = 0; i < SLOT_TIMES_KEPT; i++) {
      await finish(`h${i}`, 1, start(attempt(`h${i}`, `http://h${i}.example/`)));
    }
    expect(gate.measuredHosts).toBe(SLOT_TIMES_KEPT);
    // One more host: the idle ones go; the newest, still in flight when it is measured, stays.
    await finish('last', 1, start(attempt('last', 'http://last.example/')));
    expect(gate.measuredHosts).toBe(1);
    await finish('busy', 1, busy);
    expect(gate.measuredHosts).toBe(2);
  });

  it("holds back a slow host's messages longer from the first time: its oldest run has gone a second", async () => {
    const { scheduled, start, advance } = localSetup({ host: 1, application: 10 }, 0);
    void start(attempt('long', 'http://slow.example/'));
    await start(attempt('early', 'http://slow.example/'));
    advance(SLOW_HOST_BUSY_MS);
    await start(attempt('late', 'http://slow.example/'));
    expect(scheduled.map((m) => [m.jobId, m.dueAt - NOW])).toEqual([
      ['early', deferralDelayMs(0, 0)],
      ['late', SLOW_HOST_BUSY_MS + deferralDelayMs(SLOW_HOST_SKIPPED_ROUNDS, 0)],
    ]);
  });

  it('judges a host with no finished run by the age of its oldest run in flight', async () => {
    const { gate, scheduled, waits, ran, start, finish, advance } = localSetup({ host: 1, application: 10 });
    // New host, its first run just started: the next message waits here and takes its slot.
    const first = start(attempt('first', 'http://new.example/'));
    const second = start(attempt('second', 'http://new.example/'));
    expect(gate.hostWaiting('http://new.example')).toBe(1);
    await finish('first', 5, first);
    expect(ran).toEqual(['first', 'second']);
    expect(waits).toEqual(['started']);
    await finish('second', 5, second);
    // Another new host whose first run has gone longer than a wait may last: put back at once.
    void start(attempt('long', 'http://unknown.example/'));
    advance(150);
    await start(attempt('behind', 'http://unknown.example/'));
    expect(gate.hostWaiting('http://unknown.example')).toBe(0);
    expect(scheduled.map((m) => m.jobId)).toEqual(['behind']);
  });

  it('is off by default: every message over a cap is put back', async () => {
    const { scheduled, start, finish } = localSetup({ host: 1, application: 10 }, 0);
    await finish('w', 1, start(attempt('w', 'http://fast.example/')));
    void start(attempt('a', 'http://fast.example/'));
    await start(attempt('b', 'http://fast.example/'));
    expect(scheduled.map((m) => m.jobId)).toEqual(['b']);
  });
});

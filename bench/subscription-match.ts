/**
 * How long does finding the subscriptions of one event take with 1,000
 * subscriptions in an application? Builds 1,000 subscriptions of varied
 * events and filters (metadata on one or two keys, host, status, none),
 * then matches N job events through the index (subscription-index.ts) and
 * through a scan of every subscription, asserts both answer the same, and
 * prints µs per match of each (median of 7 rounds). Pure: no Redis.
 *
 *   pnpm bench:subscriptions [events=20000]
 */
import { strict as assert } from 'node:assert';
import {
  buildSubscriptionIndex,
  JOB_EVENTS,
  JOB_STATUSES,
  matchesSubscription,
  type EventSubject,
  type Subscription,
  type SubscriptionFilters,
} from '@relay/common';

const SUBSCRIPTIONS = 1000;
const events = Number(process.argv[2] ?? 20_000);
const ROUNDS = 7;

/** A fixed-seed generator (mulberry32), so every run measures the same lists. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = seeded(14);
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

const tenants = Array.from({ length: 200 }, (_, i) => `t${i}`);
const regions = ['eu', 'us', 'ap', 'sa'];
const kinds = Array.from({ length: 20 }, (_, i) => `kind${i}`);
const hosts = Array.from({ length: 50 }, (_, i) => `api${i}.example.test`);

function filters(): SubscriptionFilters {
  const r = random();
  // Most subscriptions watch a tenant (some a tenant in a region); a few watch a host, a status, or everything.
  if (r < 0.5) return { metadata: { tenant: pick(tenants) } };
  if (r < 0.75) return { metadata: { tenant: pick(tenants), region: pick(regions) } };
  if (r < 0.85) return { metadata: { kind: pick(kinds) }, status: ['failed', 'cancelled'] };
  if (r < 0.95) return { host: pick(hosts) };
  return {};
}

const subscriptions: Subscription[] = Array.from({ length: SUBSCRIPTIONS }, (_, n) => {
  const at = new Date(1_700_000_000_000 + n).toISOString();
  const r = random();
  const subscribed: Subscription['events'] =
    r < 0.3 ? ['*'] : r < 0.6 ? ['failed', 'dead_lettered'] : r < 0.9 ? ['completed'] : ['started', 'retrying'];
  return {
    id: `sub_${n.toString(16).padStart(24, '0')}`,
    application: 'bench',
    name: `s${n}`,
    url: `https://hooks.example.test/${n}`,
    events: subscribed,
    filters: filters(),
    headers: {},
    enabled: random() > 0.05,
    disabledReason: null,
    disabledAt: null,
    failingSince: null,
    createdAt: at,
    updatedAt: at,
  };
});

const subjects: EventSubject[] = Array.from({ length: events }, () => ({
  event: pick(JOB_EVENTS),
  metadata: {
    tenant: pick(tenants),
    region: pick(regions),
    kind: pick(kinds),
    order: String(Math.floor(random() * 1e6)),
  },
  host: pick(hosts),
  status: pick(JOB_STATUSES),
}));

const index = buildSubscriptionIndex(subscriptions);
const scan = (s: EventSubject) => subscriptions.filter((sub) => matchesSubscription(sub, s));

// Same answers, in the same (creation) order.
let matched = 0;
for (const s of subjects) {
  const viaIndex = index.match(s).map((x) => x.id);
  assert.deepEqual(
    viaIndex,
    scan(s).map((x) => x.id),
  );
  matched += viaIndex.length;
}

function timeUs(match: (s: EventSubject) => unknown): number {
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (const s of subjects) match(s);
    rounds.push(((performance.now() - t0) * 1000) / subjects.length);
  }
  return rounds.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
}

const indexUs = timeUs((s) => index.match(s));
const scanUs = timeUs(scan);
console.log(
  JSON.stringify(
    {
      subscriptions: SUBSCRIPTIONS,
      enabled: index.size,
      events,
      meanMatches: Number((matched / events).toFixed(2)),
      indexUsPerMatch: Number(indexUs.toFixed(2)),
      scanUsPerMatch: Number(scanUs.toFixed(2)),
      speedup: Number((scanUs / indexUs).toFixed(1)),
    },
    null,
    2,
  ),
);

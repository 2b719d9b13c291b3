import { describe, expect, it } from 'vitest';
import { createLogger, HEARTBEAT_TTL_SECONDS, parseHeartbeat, redisKeys, type WorkerState } from '@relay/common';
import { ActivityWindow } from '../../src/heartbeat/activity-window.js';
import { HeartbeatPublisher } from '../../src/heartbeat/heartbeat.js';
import { redisOnRandomPrefix } from '../../../common/test/support/store-fixtures.js';

/** The heartbeat against the real Redis (random prefix). */
const { prefix, redis } = redisOnRandomPrefix('heartbeat');
const keys = redisKeys(prefix);
const log = createLogger({ name: 'test', level: 'silent' });

describe('HeartbeatPublisher', () => {
  it('writes a heartbeat with a TTL and registers the id; stop removes both', async () => {
    const activity = new ActivityWindow(Date.now);
    activity.attempt('app_1', '127.0.0.1:8080', true);
    activity.finished('app_1', 12);
    let state: WorkerState = 'consuming';
    const hb = new HeartbeatPublisher({
      redis,
      prefix,
      activity,
      inFlight: () => 3,
      state: () => state,
      log,
      intervalMs: 50,
    });
    hb.start();
    await hb.tick();
    const raw = await redis.get(keys.workerHeartbeat(hb.id));
    const beat = parseHeartbeat(raw!);
    expect(beat).toMatchObject({ id: hb.id, pid: process.pid, inFlight: 3, state: 'consuming' });
    expect(beat!.destinations).toEqual([{ application: 'app_1', host: '127.0.0.1:8080', completed: 1, failed: 0 }]);
    expect(beat!.latency[0]!.application).toBe('app_1');
    const ttl = await redis.ttl(keys.workerHeartbeat(hb.id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(HEARTBEAT_TTL_SECONDS);
    expect(await redis.smembers(keys.workers())).toEqual([hb.id]);

    state = 'draining';
    await new Promise((r) => setTimeout(r, 120));
    expect(parseHeartbeat((await redis.get(keys.workerHeartbeat(hb.id)))!)!.state).toBe('draining');

    await hb.stop();
    expect(await redis.exists(keys.workerHeartbeat(hb.id))).toBe(0);
    expect(await redis.smembers(keys.workers())).toEqual([]);
  });

  it('gives each publisher its own id', () => {
    const make = () =>
      new HeartbeatPublisher({
        redis,
        prefix,
        activity: new ActivityWindow(Date.now),
        inFlight: () => 0,
        state: () => 'paused',
        log,
      });
    expect(make().id).not.toBe(make().id);
  });

  it('rejects a stored value of another layout', () => {
    expect(parseHeartbeat('not json')).toBeNull();
    expect(parseHeartbeat(JSON.stringify({ v: 2 }))).toBeNull();
  });
});

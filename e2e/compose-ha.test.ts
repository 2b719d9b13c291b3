import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from './support/processes.js';

/**
 * docker-compose.yml read as data (no Docker here; `docker compose config -q`
 * and `docker compose --profile ha config -q` check its schema): the `ha`
 * profile is as safe as the default deployment (no broker reachable from
 * outside the compose network, no default or written-in credential, secrets
 * apart from the default deployment's), and the default deployment is the
 * same with or without it.
 */

interface Service {
  profiles?: string[];
  ports?: unknown[];
  environment?: Record<string, string | number | null>;
  entrypoint?: string[];
  command?: string[];
  volumes?: string[];
  hostname?: string;
  depends_on?: Record<string, unknown>;
}

const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = Object.entries(compose.services);
const isHa = (s: Service) => s.profiles?.includes('ha') ?? false;
const ha = services.filter(([, s]) => isHa(s));
const byDefault = services.filter(([, s]) => !s.profiles);
const names = (list: [string, Service][]) => list.map(([n]) => n).sort();
const volumeNames = (s: Service) => (s.volumes ?? []).map((v) => v.split(':')[0]!);
const script = (s: Service) => (s.entrypoint ?? []).join(' ');

describe('docker-compose.yml', () => {
  it('the default deployment is the five services it was; every other service is in the ha profile only', () => {
    expect(names(byDefault)).toEqual(['backend', 'rabbitmq', 'redis', 'secrets', 'worker']);
    for (const [name, s] of services.filter(([, s]) => s.profiles)) expect(s.profiles, name).toEqual(['ha']);
    // `docker compose up` starts no ha service, and none of them is needed by a default one.
    for (const [name, s] of byDefault) {
      expect(
        Object.keys(s.depends_on ?? {}).filter((d) => isHa(compose.services[d]!)),
        name,
      ).toEqual([]);
    }
  });

  it('publishes only the APIs: no broker port, in the default deployment or the ha profile', () => {
    const published = services.filter(([, s]) => s.ports?.length).map(([n, s]) => [n, s.ports]);
    expect(published).toEqual([
      ['backend', ['3000:3000']],
      // Another host port than `backend`: the two can run at once.
      ['backend-ha', ['3001:3000']],
    ]);
  });

  it('writes no credential into the file: no URL with a password, no guest, no password setting', () => {
    for (const [name, s] of services) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        const text = String(value ?? '');
        expect(text, `${name} ${key}`).not.toMatch(/:\/\/[^/@\s]*@/);
        expect(text.toLowerCase(), `${name} ${key}`).not.toContain('guest');
        // Passwords come from the secrets volume (docker/entrypoint.sh), never from here.
        if (/PASSWORD|PASS$|_URLS?$/.test(key)) expect(text, `${name} ${key}`).toBe('');
      }
    }
  });

  it('the ha brokers take generated credentials from the ha secrets volumes, read-only', () => {
    const rabbits = ha.filter(([n]) => n.startsWith('rabbitmq-ha-'));
    const redises = ha.filter(([n]) => /^redis-ha-\d$/.test(n));
    const sentinels = ha.filter(([n]) => n.startsWith('redis-ha-sentinel-'));
    expect([rabbits.length, redises.length, sentinels.length]).toEqual([3, 3, 3]);
    for (const [name, s] of rabbits) {
      expect(s.volumes, name).toContain('rabbitmq-ha-secrets:/run/rabbitmq-secrets:ro');
      for (const file of ['erlang-cookie', 'user', 'password'])
        expect(script(s), name).toContain(`/run/rabbitmq-secrets/${file}`);
      expect(script(s), name).toContain('chmod 400 /var/lib/rabbitmq/.erlang.cookie');
    }
    for (const [name, s] of redises) {
      expect(s.volumes, name).toContain('redis-ha-secrets:/run/redis-secrets:ro');
      // The ACL (default user off) on stdin, as the default `redis` takes it.
      expect(script(s), name).toMatch(/ - < \/run\/redis-secrets\/redis\.conf$/);
      expect(script(s), name).toContain('--maxmemory-policy noeviction');
    }
    for (const [name, s] of sentinels) {
      expect(s.volumes, name).toContain('redis-ha-secrets:/run/redis-secrets:ro');
      expect(script(s), name).toContain('cp /run/redis-secrets/sentinel.conf /data/sentinel.conf');
    }
  });

  it('keeps the ha profile and the default deployment on volumes of their own', () => {
    const defaultVolumes = new Set(byDefault.flatMap(([, s]) => volumeNames(s)));
    for (const [name, s] of ha) {
      expect(
        volumeNames(s).filter((v) => defaultVolumes.has(v)),
        name,
      ).toEqual([]);
    }
    // Every named volume is declared (a typo would make an anonymous one).
    for (const [name, s] of services) {
      for (const v of volumeNames(s).filter((v) => !v.startsWith('.'))) expect(compose.volumes, name).toHaveProperty(v);
    }
  });

  it('points relay at every RabbitMQ node and every Sentinel, under the name the Sentinels monitor', () => {
    const secrets = compose.services['secrets-ha']!.environment!;
    const rabbitHosts = ha.filter(([n]) => n.startsWith('rabbitmq-ha-')).map(([, s]) => s.hostname!);
    expect(String(secrets.RABBITMQ_ADDRESSES).split(',')).toEqual(rabbitHosts.map((h) => `${h}:5672`));
    // The nodes find each other by the names docker/rabbitmq-ha.conf lists.
    const conf = readFileSync(path.join(REPO_ROOT, 'docker/rabbitmq-ha.conf'), 'utf8');
    expect(
      [...conf.matchAll(/^cluster_formation\.classic_config\.nodes\.\d+ = rabbit@(\S+)$/gm)].map((m) => m[1]),
    ).toEqual(rabbitHosts);
    const [masterName, masterHost] = String(secrets.SENTINEL_MONITOR).split(' ');
    expect(compose.services).toHaveProperty(masterHost!);
    const sentinelNames = ha.filter(([n]) => n.startsWith('redis-ha-sentinel-')).map(([n]) => `${n}:26379`);
    for (const name of ['backend-ha', 'worker-ha']) {
      const env = compose.services[name]!.environment!;
      expect(String(env.REDIS_SENTINELS).split(','), name).toEqual(sentinelNames);
      expect(env.REDIS_SENTINEL_NAME, name).toBe(masterName);
      expect(volumeNames(compose.services[name]!), name).toEqual(['relay-ha-secrets']);
    }
  });
});

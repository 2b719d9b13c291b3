#!/usr/bin/env node
/**
 * Checks that RabbitMQ and Redis answer on TCP before `pnpm start` / `pnpm test`,
 * so a missing service is one clear message instead of a wall of connection errors.
 *
 * Both up: prints nothing, exits 0.
 * One down, at the local default address, and a Docker engine running:
 *   starts the missing ones from docker/dev-brokers.yml (guest/guest, no Redis password,
 *   published on 127.0.0.1 only) and waits for their ports. docker-compose.yml, the
 *   deployment, publishes neither broker, so it cannot serve processes on the host.
 * Otherwise: says which service is down where, and how to start it; exits 1.
 *
 * Plain Node, no dependencies: it runs before anything else is known to work.
 * It prints host:port only, never a URL, because URLs may carry passwords.
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** How long one TCP probe may take (ms): a local service answers in microseconds. */
const CONNECT_TIMEOUT_MS = 2_000;
/** How long `docker info` may take (ms); a stuck daemon socket must not hang `pnpm test`. */
const DOCKER_INFO_TIMEOUT_MS = 5_000;
/** How long to wait for ports after `docker compose up` (ms); a cold RabbitMQ takes ~10-20 s. */
const PORT_WAIT_MS = 60_000;

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/** The development brokers' compose file, in a project of its own (`-p`) apart from the deployment's. */
const DEV_COMPOSE = ['-p', 'relay-dev', '-f', 'docker/dev-brokers.yml'];

const SERVICES = [
  {
    name: 'RabbitMQ',
    compose: 'rabbitmq',
    env: 'RABBITMQ_URL',
    fallbackUrl: 'amqp://guest:guest@127.0.0.1:5672',
    defaultPorts: { 'amqp:': 5672, 'amqps:': 5671 },
    composePort: 5672,
    localStart: (port) =>
      port === 5672 ? 'rabbitmq-server -detached' : `RABBITMQ_NODE_PORT=${port} rabbitmq-server -detached`,
  },
  {
    name: 'Redis',
    compose: 'redis',
    env: 'REDIS_URL',
    fallbackUrl: 'redis://127.0.0.1:6379',
    defaultPorts: { 'redis:': 6379, 'rediss:': 6379 },
    composePort: 6379,
    localStart: (port) =>
      port === 6379 ? 'redis-server --daemonize yes' : `redis-server --daemonize yes --port ${port}`,
  },
];

/** Host and port of a service URL, or an error string (which never contains the URL). */
function target(service) {
  const raw = process.env[service.env] || service.fallbackUrl;
  let url;
  try {
    url = new URL(raw);
  } catch {
    return { error: `${service.env} is not a valid URL` };
  }
  const port = url.port ? Number(url.port) : service.defaultPorts[url.protocol];
  if (!port) return { error: `${service.env} has no port and an unexpected protocol ${url.protocol}` };
  // URL keeps the brackets of an IPv6 literal; net.connect wants the bare address.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port };
}

function display({ host, port }) {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Resolves to null if something accepts a TCP connection, else to the reason. */
function probe({ host, port }) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (reason) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => done(`no answer in ${CONNECT_TIMEOUT_MS} ms`));
    socket.once('connect', () => done(null));
    socket.once('error', (err) => done(err.code ?? err.message));
  });
}

async function waitForPorts(targets, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const reasons = await Promise.all(targets.map(probe));
    if (reasons.every((r) => r === null)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 500));
  }
}

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { cwd: ROOT, ...opts });
  return res.error ? null : res.status;
}

/** `docker compose` (v2 plugin) if it works, else legacy `docker-compose`, else null. */
function composeCommand() {
  const quiet = { stdio: 'ignore', timeout: DOCKER_INFO_TIMEOUT_MS };
  if (run('docker', ['compose', 'version'], quiet) === 0) return { cmd: 'docker', args: ['compose'], wait: true };
  if (run('docker-compose', ['version'], quiet) === 0) return { cmd: 'docker-compose', args: [], wait: false };
  return null;
}

function help(down) {
  const lines = [];
  for (const { service, t, reason } of down) {
    lines.push(`relay: ${service.name} is not reachable at ${display(t)} (${service.env}: ${reason}).`);
  }
  lines.push(
    down.length === 1
      ? 'Start it with one of these, then run this again:'
      : 'Start them with one of these, then run this again:',
  );
  const allLocal = down.every(({ t }) => LOCAL_HOSTS.has(t.host));
  const allDefaultPorts = down.every(({ service, t }) => t.port === service.composePort);
  if (allLocal && allDefaultPorts) {
    lines.push(
      `  docker compose ${DEV_COMPOSE.join(' ')} up -d ${down.map(({ service }) => service.compose).join(' ')}   # with a Docker engine`,
    );
  }
  for (const { service, t } of down) {
    if (LOCAL_HOSTS.has(t.host)) {
      lines.push(`  ${service.localStart(t.port)}   # ${service.name} installed on this machine`);
    } else {
      lines.push(`  start ${service.name} on ${display(t)}, or point ${service.env} at a running one`);
    }
  }
  return lines.join('\n');
}

async function main() {
  const checks = [];
  for (const service of SERVICES) {
    const t = target(service);
    if (t.error) {
      process.stderr.write(`relay: ${t.error}\n`);
      return 1;
    }
    checks.push({ service, t });
  }
  const reasons = await Promise.all(checks.map(({ t }) => probe(t)));
  const down = checks.map((c, i) => ({ ...c, reason: reasons[i] })).filter((c) => c.reason !== null);
  if (down.length === 0) return 0;

  // Only the local default addresses are what docker/dev-brokers.yml publishes; for anything
  // else starting containers would not help, so just explain.
  const composeCanHelp = down.every(({ service, t }) => LOCAL_HOSTS.has(t.host) && t.port === service.composePort);
  const dockerUp =
    composeCanHelp && run('docker', ['info'], { stdio: 'ignore', timeout: DOCKER_INFO_TIMEOUT_MS }) === 0;
  const compose = dockerUp ? composeCommand() : null;
  if (!compose) {
    process.stderr.write(`${help(down)}\n`);
    return 1;
  }

  // Start only what is down: a natively running Redis already holds 6379 and a
  // container publishing the same port would fail to start.
  const names = down.map(({ service }) => service.compose);
  process.stderr.write(
    `relay: ${down.map(({ service }) => service.name).join(' and ')} not running; starting with docker compose (${names.join(', ')})\n`,
  );
  const args = [...compose.args, ...DEV_COMPOSE, 'up', '-d', ...(compose.wait ? ['--wait'] : []), ...names];
  const status = run(compose.cmd, args, { stdio: 'inherit' });
  if (status !== 0) {
    process.stderr.write(
      `relay: \`${compose.cmd} ${args.join(' ')}\` failed (exit ${status ?? 'error'}).\n${help(down)}\n`,
    );
    return 1;
  }
  if (
    !(await waitForPorts(
      down.map(({ t }) => t),
      PORT_WAIT_MS,
    ))
  ) {
    process.stderr.write(
      `relay: containers started but ports did not open within ${PORT_WAIT_MS / 1000} s.\n${help(down)}\n`,
    );
    return 1;
  }
  return 0;
}

process.exitCode = await main();

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * How a relay process runs: `source` is `node --conditions=relay-source --import tsx
 * src/...ts` (the @relay/* packages resolve to their sources under that condition);
 * `compiled` is `node dist/...js` as in the production image (run `buildCompiled()`
 * first). Either way the child is node itself, so SIGKILL hits the real process.
 */
export type Runtime = 'source' | 'compiled';

/** RELAY_E2E_RUNTIME=compiled runs every e2e file against the build (after `pnpm build`). */
function defaultRuntime(): Runtime {
  return process.env.RELAY_E2E_RUNTIME === 'compiled' ? 'compiled' : 'source';
}

const ENTRIES: Record<'backend' | 'worker', Record<Runtime, string[]>> = {
  backend: {
    source: ['--conditions=relay-source', '--import', 'tsx', 'packages/backend/src/server.ts'],
    compiled: ['packages/backend/dist/server.js'],
  },
  worker: {
    source: ['--conditions=relay-source', '--import', 'tsx', 'packages/worker/src/main.ts'],
    compiled: ['packages/worker/dist/main.js'],
  },
};

let building: Promise<void> | undefined;

/**
 * Runs `pnpm build` (scripts/build.mjs: incremental `tsc -b`, then the non-TS
 * assets), once per test process however many callers ask.
 */
export function buildCompiled(): Promise<void> {
  building ??= promisify(execFile)(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT }).then(
    () => undefined,
    (err: Error & { stdout?: string; stderr?: string }) => {
      building = undefined;
      throw new Error(`pnpm build failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    },
  );
  return building;
}

/** A relay process (backend or worker) spawned as node itself (see Runtime). */
export class RelayProcess {
  readonly lines: string[] = [];
  /** Workers: the port of their Prometheus /metrics. */
  metricsPort = 0;
  private exitPromise: Promise<number | null>;
  private waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        this.lines.push(line);
        if (process.env.RELAY_E2E_VERBOSE) process.stdout.write(`[${name}] ${line}\n`);
        this.waiters = this.waiters.filter((w) => {
          if (!w.test(line)) return true;
          w.resolve(line);
          return false;
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exitPromise = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Resolves with the first output line (past or future) containing `text`. */
  waitForLine(text: string, timeoutMs = 30_000): Promise<string> {
    const found = this.lines.find((l) => l.includes(text));
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`${this.name}: no line with "${text}" in ${timeoutMs} ms:\n${this.lines.slice(-20).join('\n')}`),
          ),
        timeoutMs,
      );
      this.waiters.push({
        test: (l) => l.includes(text),
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  exited(): Promise<number | null> {
    return this.exitPromise;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited in `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }
}

export function spawnRelay(
  name: 'backend' | 'worker',
  env: Record<string, string>,
  runtime: Runtime = defaultRuntime(),
): RelayProcess {
  // RELAY_NODE_ARGS: extra node flags for the relay processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`
  // (NODE_OPTIONS refuses --cpu-prof).
  const nodeArgs = (process.env.RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ...ENTRIES[name][runtime]], {
    cwd: REPO_ROOT,
    // Several workers run at once in tests: each takes a free metrics port.
    // Targets and callbacks are local servers on 127.0.0.1, which the SSRF
    // guard refuses unless allowed; a test may override it ('' = guard fully on).
    env: {
      ...process.env,
      CI: '1',
      WORKER_METRICS_PORT: '0',
      RELAY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128',
      // Most tests are about jobs, not keys: the backend listens on loopback
      // without auth unless a test turns it on (e2e/auth.test.ts).
      RELAY_AUTH: 'off',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new RelayProcess(name, child);
}

/** A port that was free a moment ago (bound to port 0, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts a backend on a free port and waits until /health answers (so it works at any log level). */
export async function startBackend(
  env: Record<string, string>,
  runtime: Runtime = defaultRuntime(),
): Promise<{ proc: RelayProcess; baseUrl: string }> {
  const port = await freePort();
  const proc = spawnRelay('backend', { HOST: '127.0.0.1', ...env, PORT: String(port) }, runtime);
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`backend exited:\n${proc.lines.slice(-20).join('\n')}`);
    const res = await fetch(`${baseUrl}/health`).catch(() => null);
    if (res?.status === 200) return { proc, baseUrl };
    if (Date.now() > deadline) throw new Error(`backend not healthy in 30 s:\n${proc.lines.slice(-20).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts a worker and waits until it consumes (its ready line is logged at warn so any level shows it). */
export async function startWorker(
  env: Record<string, string>,
  runtime: Runtime = defaultRuntime(),
): Promise<RelayProcess> {
  const proc = spawnRelay('worker', env, runtime);
  const line = await proc.waitForLine('worker consuming');
  proc.metricsPort = (JSON.parse(line) as { metricsPort: number }).metricsPort;
  return proc;
}

import { startBackend, startWorker, type RelayProcess } from './processes.js';
import { RelayClient } from './relay-client.js';
import { cleanup, randomPrefix, RABBITMQ_URL, REDIS_URL } from './services.js';

export interface StackOptions {
  /**
   * Added to the stack's environment, overriding it: a test may point
   * RABBITMQ_URL or REDIS_URL elsewhere (a proxy), and clean-up still uses
   * the real ones.
   */
  env?: Record<string, string>;
  /**
   * Workers started with the stack; 0 for a test that starts them itself
   * with `addWorker`.
   * @defaultValue 1
   */
  workers?: number;
}

/** A backend and N workers on their own prefix, as most e2e files need them. */
export interface Stack {
  prefix: string;
  env: Record<string, string>;
  /** A client of the first backend. */
  api: RelayClient;
  /** The first backend. */
  backend: RelayProcess;
  /** Every backend, the first included, in the order started. */
  backends: RelayProcess[];
  /** Every worker, killed ones included, in the order started. */
  workers: RelayProcess[];
  /** Another backend on the same prefix and environment, stopped with the stack. */
  addBackend(): Promise<RelayClient>;
  /** Another worker on the same prefix, with `env` added to the stack's, stopped with the stack. */
  addWorker(env?: Record<string, string>): Promise<RelayProcess>;
  /** Stops every process (SIGTERM, then SIGKILL) and removes the prefix's keys and queues. */
  stop(): Promise<void>;
}

export async function startStack(label: string, options: StackOptions = {}): Promise<Stack> {
  const prefix = randomPrefix(label);
  const env = { RELAY_PREFIX: prefix, RABBITMQ_URL, REDIS_URL, LOG_LEVEL: 'info', ...options.env };
  const backends: RelayProcess[] = [];
  const workers: RelayProcess[] = [];
  const addBackend = async () => {
    const { proc, baseUrl } = await startBackend(env);
    backends.push(proc);
    return new RelayClient(baseUrl);
  };
  const addWorker = async (extra: Record<string, string> = {}) => {
    const proc = await startWorker({ ...env, ...extra });
    workers.push(proc);
    return proc;
  };
  const stop = async () => {
    await Promise.all([...backends, ...workers].map((p) => p.stop()));
    await cleanup(prefix);
  };
  try {
    const api = await addBackend();
    await Promise.all(Array.from({ length: options.workers ?? 1 }, () => addWorker()));
    return { prefix, env, api, backend: backends[0]!, backends, workers, addBackend, addWorker, stop };
  } catch (err) {
    // A process that did start would otherwise outlive the test file.
    await stop().catch(() => undefined);
    throw err;
  }
}

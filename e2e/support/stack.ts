import { startBackend, startWorker, type RelayProcess } from './processes.js';
import { RelayClient } from './relay-client.js';
import { cleanup, randomPrefix, RABBITMQ_URL, REDIS_URL } from './services.js';

/** A backend and N workers on their own prefix, as most e2e files need them. */
export interface Stack {
  prefix: string;
  env: Record<string, string>;
  api: RelayClient;
  backend: RelayProcess;
  workers: RelayProcess[];
  stop(): Promise<void>;
}

export async function startStack(
  label: string,
  options: { env?: Record<string, string>; workers?: number } = {},
): Promise<Stack> {
  const prefix = randomPrefix(label);
  const env = { RELAY_PREFIX: prefix, RABBITMQ_URL, REDIS_URL, LOG_LEVEL: 'info', ...options.env };
  const { proc: backend, baseUrl } = await startBackend(env);
  const workers = await Promise.all(Array.from({ length: options.workers ?? 1 }, () => startWorker(env)));
  return {
    prefix,
    env,
    api: new RelayClient(baseUrl),
    backend,
    workers,
    async stop() {
      await Promise.all([backend.stop(), ...workers.map((w) => w.stop())]);
      await cleanup(prefix);
    },
  };
}

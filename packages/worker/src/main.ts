import { ConfigError, createLogger } from '@relay/common';
import { loadWorkerConfig, type WorkerConfig } from './config.js';
import { startWorker } from './worker.js';

/** Process entry point: config, logger, worker, signals. */
let config: WorkerConfig;
try {
  config = loadWorkerConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`relay worker: ${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}

const log = createLogger({ name: 'relay-worker', level: config.logLevel });

try {
  const worker = await startWorker({ config, log });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    worker.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
} catch (err) {
  log.fatal({ err }, 'worker could not start');
  process.exit(1);
}

import { createLogger, HeaderRedactor, loadConfigOrExit, stopOnSignals } from '@relay/common';
import { loadWorkerConfig } from './config.js';
import { startWorker } from './worker.js';

/** Process entry point: config, logger, worker, signals. */
const config = loadConfigOrExit('relay worker', () => loadWorkerConfig());
const log = createLogger({
  name: 'relay-worker',
  level: config.logLevel,
  redactor: new HeaderRedactor(config.redactHeaders),
});

try {
  const worker = await startWorker({ config, log });
  stopOnSignals(log, () => worker.stop());
} catch (err) {
  log.fatal({ err }, 'worker could not start');
  process.exit(1);
}

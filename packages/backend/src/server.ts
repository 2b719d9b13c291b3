import { createLogger, HeaderRedactor, loadConfigOrExit, stopOnSignals } from '@relay/common';
import { buildApp } from './app.js';
import { loadBackendConfig } from './config.js';

/** Process entry point: config, logger, app, listen, signals. */
const config = loadConfigOrExit('relay backend', () => loadBackendConfig());
const log = createLogger({
  name: 'relay-backend',
  level: config.logLevel,
  redactor: new HeaderRedactor(config.redactHeaders),
});

try {
  const app = await buildApp({ config, log });
  await app.listen({ port: config.port, host: config.host });
  // app.close() refuses new requests (503) and waits for those in flight.
  stopOnSignals(log, () => app.close());
} catch (err) {
  log.fatal({ err }, 'backend could not start');
  process.exit(1);
}

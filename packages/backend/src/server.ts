import { createLogger, HeaderRedactor, loadConfigOrExit, stopOnSignals } from '@relay/common';
import { buildApp } from './app.js';
import { loadBackendConfig } from './config.js';
import { isLoopbackAddress } from './edge/loopback.js';

/** sysexits EX_CONFIG, as for a refused configuration. */
const EXIT_CONFIG = 78;

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
  // HOST=localhost passed the config check by name: the addresses actually
  // bound must be loopback too, or keys-off mode would be reachable from outside.
  const bound = app.addresses().map((a) => (typeof a === 'string' ? a : a.address));
  if (config.auth === 'off' && !bound.every(isLoopbackAddress)) {
    log.fatal({ bound }, `RELAY_AUTH=off but the API is bound to a non-loopback address (${bound.join(', ')})`);
    await app.close();
    process.exit(EXIT_CONFIG);
  }
  // app.close() refuses new requests (503) and waits for those in flight.
  stopOnSignals(log, () => app.close());
} catch (err) {
  log.fatal({ err }, 'backend could not start');
  process.exit(1);
}

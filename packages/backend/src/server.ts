import { ConfigError, createLogger } from '@relay/common';
import { buildApp } from './app.js';
import { loadBackendConfig, type BackendConfig } from './config.js';

/** Process entry point: config, logger, app, listen, signals. */
let config: BackendConfig;
try {
  config = loadBackendConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`relay backend: ${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}

const log = createLogger({ name: 'relay-backend', level: config.logLevel });

try {
  const app = await buildApp({ config, log });
  await app.listen({ port: config.port, host: config.host });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: no new requests, finishing in-flight ones');
    app.close().then(
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
  log.fatal({ err }, 'backend could not start');
  process.exit(1);
}

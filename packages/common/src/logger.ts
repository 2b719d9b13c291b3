import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import { defaultHeaderRedactor, REDACTED, type HeaderRedactor } from './redact.js';

/**
 * pino redact paths for the credential headers of `redactor`, wherever a
 * headers object appears in a log line (request headers, job headers, nested
 * objects). Paths are case-sensitive, so each name is listed as Node gives
 * incoming headers (lower case) and in the canonical Title-Case clients
 * usually write (`Authorization`, `X-Api-Key`).
 */
export function logRedactPaths(redactor: HeaderRedactor): string[] {
  const spellings = (name: string) => [
    ...new Set([name, name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())]),
  ];
  return redactor.names
    .flatMap(spellings)
    .flatMap((h) => [
      `req.headers["${h}"]`,
      `headers["${h}"]`,
      `*.headers["${h}"]`,
      `spec.headers["${h}"]`,
      `*.spec.headers["${h}"]`,
    ]);
}

export interface LoggerSettings {
  name: string;
  level: string;
  /** Where JSON lines go; tests pass a sink to assert on them. Defaults to stdout. */
  destination?: DestinationStream;
  /** Which headers are credentials (built from RELAY_REDACT_HEADERS). @defaultValue the built-in list */
  redactor?: HeaderRedactor;
}

/**
 * JSON lines by default; pretty-printed when stdout is a terminal so that
 * `pnpm start` is readable. Credentials are redacted.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    name: settings.name,
    level: settings.level,
    redact: { paths: logRedactPaths(settings.redactor ?? defaultHeaderRedactor), censor: REDACTED },
    serializers: { err: pino.stdSerializers.err },
  };
  if (settings.destination) return pino(options, settings.destination);
  if (process.stdout.isTTY && !process.env.CI) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(options);
}

export type { Logger };

/** The part of a logger that shared connection code needs (pino's or Fastify's). */
export type LogSink = Pick<Logger, 'info' | 'warn' | 'error'>;

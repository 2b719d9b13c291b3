import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

/**
 * Header names whose values are credentials. They are removed from every log
 * line wherever they appear (request headers, job headers, nested objects).
 */
export const SENSITIVE_HEADER_NAMES = ['authorization', 'cookie', 'set-cookie', 'x-api-key', 'proxy-authorization'];

const redactPaths = SENSITIVE_HEADER_NAMES.flatMap((h) => [
  `req.headers["${h}"]`,
  `headers["${h}"]`,
  `*.headers["${h}"]`,
  `spec.headers["${h}"]`,
  `*.spec.headers["${h}"]`,
]);

export interface LoggerSettings {
  name: string;
  level: string;
  /** Where JSON lines go; tests pass a sink to assert on them. Defaults to stdout. */
  destination?: DestinationStream;
}

/**
 * JSON lines by default; pretty-printed when stdout is a terminal so that
 * `pnpm start` is readable. Credentials are redacted.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    name: settings.name,
    level: settings.level,
    redact: { paths: redactPaths, censor: '[redacted]' },
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

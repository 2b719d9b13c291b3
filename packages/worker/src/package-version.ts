import { createRequire } from 'node:module';

/**
 * The worker package's version, from its package.json. This file sits one
 * level below the package root both as src/ (tsx) and as compiled dist/, so
 * '../package.json' names the same file from either.
 */
export const PACKAGE_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string })
  .version;

/** Sent to targets unless the job sets its own `User-Agent`. */
export const TARGET_USER_AGENT = `relay/${PACKAGE_VERSION}`;

/** Sent with every callback delivery. */
export const CALLBACK_USER_AGENT = `relay-callback/${PACKAGE_VERSION}`;

/** User-Agent of event deliveries (webhooks and subscriptions). */
export const EVENT_USER_AGENT = `relay-event/${PACKAGE_VERSION}`;

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium package (installed by .ci/run); RELAY_CHROMIUM overrides it for another distribution. */
export const CHROMIUM = process.env.RELAY_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Flags for a quiet, local-only headless run: no sandbox (CI runs as root), no
 * GPU, and none of Chromium's own network traffic (updates, sync, QUIC probes,
 * field trials), so the only requests are the test's, to 127.0.0.1.
 */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-domain-reliability',
  '--metrics-recording-only',
];

/** What the page logged as an error: console.error calls, uncaught exceptions, CSP violations. */
export interface LoggedError {
  kind: 'console' | 'pageerror';
  text: string;
  url: string;
}

export interface ConsoleBrowser {
  context: BrowserContext;
  errors: LoggedError[];
  /** A page of the one context (sessionStorage is per tab: each page signs in on its own). */
  newPage(width: number): Promise<Page>;
  close(): Promise<void>;
}

/** Launches Chromium with a fresh profile directory (--user-data-dir); every page's errors go to `errors`. */
export async function launchBrowser(): Promise<ConsoleBrowser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'relay-chromium-'));
  // A persistent context is how playwright takes a profile directory of our own (a fresh one per run).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
    reducedMotion: 'reduce',
  });
  const errors: LoggedError[] = [];
  const watch = (page: Page) => {
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') {
        errors.push({ kind: 'console', text: `${msg.type()}: ${msg.text()}`, url: msg.location().url || page.url() });
      }
    });
    page.on('pageerror', (err) => errors.push({ kind: 'pageerror', text: err.stack ?? err.message, url: page.url() }));
  };
  context.on('page', watch);
  for (const page of context.pages()) watch(page);
  return {
    context,
    errors,
    async newPage(width: number) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height: width < 600 ? 844 : 900 });
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

#!/usr/bin/env node
/**
 * Runs the backend and the worker together for local use (`pnpm start`).
 *
 * Both children inherit the environment and the terminal: on a terminal they
 * print readable lines (pino-pretty), elsewhere JSON lines (see createLogger in
 * packages/common/src/logger.ts). SIGINT/SIGTERM are forwarded to both, and we
 * exit once both are gone. If either exits on its own,
 * the other is stopped too and we exit non-zero: half a relay (an API that
 * accepts jobs nobody runs) is worse than none.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildVitePackages } from './build.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** After forwarding a signal, how long children get to finish in-flight work (ms) before SIGKILL. */
const STOP_GRACE_MS = 30_000;

/**
 * Runs the sources: the @relay/* packages export them under this condition, and
 * their compiled dist/ files (`pnpm build`) otherwise.
 */
const SOURCE_CONDITION = '--conditions=relay-source';

const PROCESSES = [
  { name: 'backend', entry: 'packages/backend/src/server.ts' },
  { name: 'worker', entry: 'packages/worker/src/main.ts' },
];

/**
 * The command that runs tsx. Prefer tsx's own CLI under this Node binary: no shell
 * wrapper in between (signals reach tsx directly) and it works the same on Windows,
 * where node_modules/.bin holds .cmd files.
 */
function tsxCommand() {
  try {
    const cli = createRequire(path.join(ROOT, 'package.json')).resolve('tsx/cli');
    return { cmd: process.execPath, args: [cli] };
  } catch {
    const bin = path.join(ROOT, 'node_modules', '.bin', process.platform === 'win32' ? 'tsx.cmd' : 'tsx');
    if (existsSync(bin)) return { cmd: bin, args: [] };
    process.stderr.write('relay: tsx not found; run `pnpm install` first\n');
    process.exit(1);
  }
}

function apiUrl() {
  const host = process.env.HOST || '127.0.0.1';
  const port = process.env.PORT || '3000';
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
  return shown === host ? url : `${url} (listening on ${host})`;
}

// The backend serves the console from packages/console/dist; a fresh clone has
// none, and `pnpm install && pnpm start` should still show it.
if (!existsSync(path.join(ROOT, 'packages', 'console', 'dist', 'index.html'))) {
  process.stdout.write('relay: building the console (packages/console/dist is missing)\n');
  if (buildVitePackages([path.join(ROOT, 'packages', 'console')]) !== 0) {
    process.stderr.write(
      'relay: the console did not build; the API runs, /console answers 503 until `pnpm build` works\n',
    );
  }
}

const tsx = tsxCommand();
// Local use without keys, unless the environment says otherwise. The backend
// refuses RELAY_AUTH=off unless it listens on loopback, so this cannot open a
// relay to the network by accident.
const childEnv = { ...process.env, RELAY_AUTH: process.env.RELAY_AUTH || 'off' };
process.stdout.write(
  `relay: API on ${apiUrl()}, console at ${apiUrl().split(' ')[0]}/console, worker alongside; Ctrl-C stops both\n`,
);

const children = new Map();
let stopping = false;
let exitCode = 0;

function stopAll(signal) {
  for (const child of children.values()) child.kill(signal);
}

function beginStop(signal, code) {
  if (stopping) return;
  stopping = true;
  exitCode = code;
  stopAll(signal);
  // A child stuck in shutdown must not keep the terminal forever.
  setTimeout(() => {
    process.stderr.write(`relay: still running after ${STOP_GRACE_MS / 1000} s; killing\n`);
    stopAll('SIGKILL');
  }, STOP_GRACE_MS).unref();
}

for (const { name, entry } of PROCESSES) {
  const child = spawn(tsx.cmd, [...tsx.args, SOURCE_CONDITION, entry], { cwd: ROOT, env: childEnv, stdio: 'inherit' });
  children.set(name, child);
  child.on('error', (err) => {
    process.stderr.write(`relay: could not start ${name}: ${err.message}\n`);
    children.delete(name);
    beginStop('SIGTERM', 1);
    if (children.size === 0) process.exit(exitCode);
  });
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) {
      const how = signal ? `signal ${signal}` : `code ${code}`;
      const others = [...children.keys()].join(', ');
      process.stderr.write(`relay: ${name} exited unexpectedly (${how})${others ? `; stopping ${others}` : ''}\n`);
      beginStop('SIGTERM', code || 1);
    } else if (code !== 0 && code !== null && exitCode === 0) {
      exitCode = code; // a failed shutdown is worth a non-zero exit
    }
    if (children.size === 0) process.exit(exitCode);
  });
}

let signalsSeen = 0;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    // Ctrl-C also reaches the children directly (same process group); forwarding is
    // for `kill <pid>` of this process alone. Both processes' shutdown is idempotent.
    signalsSeen += 1;
    if (signalsSeen === 1) beginStop(signal, 0);
    else stopAll('SIGKILL'); // a second Ctrl-C means "now"
  });
}

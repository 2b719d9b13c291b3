import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { FINAL_STATUSES, JobStatus } from '../status.js';
import { EVENT_COUNTERS, STATUS_COUNTERS } from './counters.js';
import { JOB_LAYOUT_VERSION } from './layout.js';
import { PRIORITY_RANK, QUOTA_BYTE_BUCKETS } from '../quotas.js';

/**
 * Loads the stores' Lua scripts from `lua/*.lua` beside this file (the build
 * copies them to the same place beside the compiled file) and defines each one
 * on a connection as a command. Every script is sent as: the constants below,
 * generated from the TypeScript definitions so that a rule is stated once,
 * then lua/helpers.lua, then the script itself; a script of
 * OOM_ALLOWED_SCRIPTS starts with its flags line (OOM_SHEBANG).
 */

export const SCRIPT_NAMES = [
  'create',
  'begin-attempt',
  'record-attempt',
  'cancel',
  'replay',
  'undo-replay',
  'set-callback',
  'rotate-secret',
  'mark-scheduled',
  'reconciler-lease',
  'subscription-write',
  'delivery-record',
  'set-webhooks',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

const LUA_DIR = new URL('./lua/', import.meta.url);

/**
 * Scripts that may write when Redis is at `maxmemory` (the `allow-oom` flag):
 * those that record what already happened outside Redis (a target answered,
 * a callback or an event was delivered). Refusing them would make the worker do it again
 * on every redelivery; each adds a bounded amount (one attempt entry, one
 * callback state) and only for work already begun, so the overshoot is
 * bounded by the work in flight. Every other script, intake's create and
 * begin-attempt included, is refused with an OOM error: no new work starts
 * while Redis is full.
 */
export const OOM_ALLOWED_SCRIPTS: ReadonlySet<ScriptName> = new Set([
  'record-attempt',
  'set-callback',
  'delivery-record',
]);

/** A Lua table constructor from a record of strings, booleans or numbers. */
function luaTable(entries: Record<string, string | boolean | number>): string {
  const fields = Object.entries(entries).map(([k, v]) => `[${JSON.stringify(k)}] = ${JSON.stringify(v)}`);
  return `{${fields.join(', ')}}`;
}

/**
 * The constants every script may use: STATUS, FINAL, STATUS_COUNTER, COUNTER,
 * LAYOUT_VERSION, PRIORITY_RANK, QUOTA_BYTE_BUCKETS.
 */
export function luaPreamble(): string {
  return [
    `local STATUS = ${luaTable(JobStatus)}`,
    `local FINAL = ${luaTable(Object.fromEntries(FINAL_STATUSES.map((s) => [s, true])))}`,
    `local STATUS_COUNTER = ${luaTable(STATUS_COUNTERS as Record<string, string>)}`,
    `local COUNTER = ${luaTable(EVENT_COUNTERS)}`,
    `local LAYOUT_VERSION = ${JSON.stringify(JOB_LAYOUT_VERSION)}`,
    `local PRIORITY_RANK = ${luaTable(PRIORITY_RANK)}`,
    `local QUOTA_BYTE_BUCKETS = ${QUOTA_BYTE_BUCKETS}`,
    '',
  ].join('\n');
}

function readLua(name: string): string {
  return readFileSync(new URL(`${name}.lua`, LUA_DIR), 'utf8');
}

/** The first line of a script that may write at maxmemory (Redis 7 script flags). */
export const OOM_SHEBANG = '#!lua flags=allow-oom\n';

let sources: Map<ScriptName, string> | undefined;

/** The full text of each script as sent to Redis (read once per process). */
export function scriptSources(): ReadonlyMap<ScriptName, string> {
  if (!sources) {
    const head = `${luaPreamble()}${readLua('helpers')}\n`;
    sources = new Map(
      SCRIPT_NAMES.map((name) => [name, (OOM_ALLOWED_SCRIPTS.has(name) ? OOM_SHEBANG : '') + head + readLua(name)]),
    );
  }
  return sources;
}

/** The command name of a script on a connection. */
function commandName(name: ScriptName): string {
  return `relay_${name.replace(/-/g, '_')}`;
}

type ScriptCommand = (numberOfKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;

/**
 * Runs a script by name with its keys and arguments, defining every script on
 * the connection the first time (ioredis sends EVALSHA, and the script body
 * only when Redis does not have it yet).
 */
export function runScript(
  redis: Redis,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  defineScripts(redis);
  const commands = redis as unknown as Record<string, ScriptCommand | undefined>;
  return commands[commandName(name)]!.call(redis, keys.length, ...keys, ...args);
}

/**
 * Defines every script as a command of `redis`. connectRedis calls it before
 * the connection sends anything: with auto-pipelining, a command issued in
 * the same tick as an earlier one joins that tick's pipeline, which knows
 * only the commands defined when it was made, so a script defined lazily
 * after a plain GET of the same tick failed ("pipeline[functionName] is not a
 * function") and broke the whole batch. runScript still defines them for
 * clients made elsewhere (tests).
 */
export function defineScripts(redis: Redis): void {
  const commands = redis as unknown as Record<string, ScriptCommand | undefined>;
  if (typeof commands[SCRIPT_COMMAND_PROBE] !== 'function') {
    for (const [script, lua] of scriptSources()) redis.defineCommand(commandName(script), { lua });
  }
}

const SCRIPT_COMMAND_PROBE = commandName(SCRIPT_NAMES[0]);

/**
 * Runs a script, then `WAIT replicas timeoutMs`, in one pipeline: WAIT counts
 * the replicas that have the writes of its own connection, and on Redis
 * Cluster a pipeline goes to the node of its keys, so the WAIT reaches the
 * master that ran the script. Returns the script's reply and how many
 * replicas acknowledged.
 */
export async function runScriptThenWait(
  redis: Redis,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
  wait: { replicas: number; timeoutMs: number },
): Promise<[reply: unknown, replicas: number]> {
  defineScripts(redis);
  const pipeline = redis.pipeline();
  const commands = pipeline as unknown as Record<string, ScriptCommand>;
  commands[commandName(name)]!.call(pipeline, keys.length, ...keys, ...args);
  pipeline.wait(wait.replicas, wait.timeoutMs);
  const results = await pipeline.exec();
  if (!results) throw new Error('redis pipeline aborted');
  const [[scriptErr, reply], [waitErr, acked]] = results as [[Error | null, unknown], [Error | null, unknown]];
  if (scriptErr) throw scriptErr;
  if (waitErr) throw waitErr;
  return [reply, Number(acked)];
}

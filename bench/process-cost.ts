/**
 * What a process costs, read from Linux's /proc: CPU time (user + system, all
 * threads) and peak resident memory. The relay processes are spawned as
 * `node --import tsx …` (e2e/support/processes.ts), so their pid is the node
 * process itself, tsx's loader thread included.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of utime/stime in /proc/<pid>/stat (100 on every common Linux). */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) the process has used so far; `NaN` if it is gone or this is not Linux. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces:
    // count fields from the last ')'. After it come state (field 3) …
    // utime (14) and stime (15).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** A field of /proc/<pid>/status in bytes (the kernel reports kB); `NaN` if unavailable. */
function statusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Peak resident set size since the process started (VmHWM: the kernel keeps the high-water mark). */
export function peakRssBytes(pid: number): number {
  return statusBytes(pid, 'VmHWM');
}

export function rssBytes(pid: number): number {
  return statusBytes(pid, 'VmRSS');
}

export interface WatchedProcess {
  name: string;
  pid: number;
}

/** CPU seconds of each process at one moment, to subtract from a later reading. */
export type CpuReading = Record<string, number>;

export function readCpu(processes: readonly WatchedProcess[]): CpuReading {
  return Object.fromEntries(processes.map((p) => [p.name, cpuSeconds(p.pid)]));
}

/** CPU seconds used by each process between two readings. */
export function cpuDelta(before: CpuReading, after: CpuReading): CpuReading {
  return Object.fromEntries(Object.keys(before).map((name) => [name, (after[name] ?? NaN) - (before[name] ?? NaN)]));
}

/**
 * RabbitMQ's and Redis's server processes on this machine, found by command
 * name in /proc (readable for any user's process). Their CPU is the whole
 * server's: on a shared machine it includes everyone else's queues and keys.
 */
export function findServerProcesses(): WatchedProcess[] {
  const names: Record<string, string> = { 'beam.smp': 'rabbitmq', 'redis-server': 'redis' };
  const found: WatchedProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const name = names[readFileSync(`/proc/${entry}/comm`, 'utf8').trim()];
      if (name && !found.some((p) => p.name === name)) found.push({ name, pid: Number(entry) });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/**
 * CPU seconds the whole machine has spent busy (not idle, not waiting for
 * I/O) and in all, summed over cores, from /proc/stat: with the processes'
 * own figures, tells how much of a measure's CPU went to someone else.
 */
export function machineCpuSeconds(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = ticks[3]! + ticks[4]!;
    return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

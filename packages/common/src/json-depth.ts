/**
 * Nesting depth of JSON values. Relay's own serialisation (JSON.stringify,
 * when a job, an attempt or a message is written) recurses once per level and
 * throws a RangeError some thousands of levels down, so a value nested deeper
 * than the limit is refused at intake and kept as text when a target answers
 * with it. The check walks with an explicit stack, so it has no recursion
 * limit of its own: a value nested a million levels deep is measured, not
 * thrown on.
 */

/** Default of JSON_MAX_DEPTH: far above any real document, far below where JSON.stringify gives up. */
export const DEFAULT_JSON_MAX_DEPTH = 64;

interface Frame {
  entries: [string, unknown][];
  next: number;
  key: string;
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function entriesOf(value: object): [string, unknown][] {
  return Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
}

/**
 * Where `value` first nests deeper than `maxDepth` levels (an object or array
 * is one level; a scalar is none), as the path of keys from the root to the
 * first container past the limit; null when it stays within.
 */
export function findJsonDepthExcess(value: unknown, maxDepth: number): string[] | null {
  if (!isContainer(value)) return null;
  if (maxDepth < 1) return [];
  const frames: Frame[] = [{ entries: entriesOf(value), next: 0, key: '' }];
  while (frames.length > 0) {
    const top = frames[frames.length - 1]!;
    if (top.next >= top.entries.length) {
      frames.pop();
      continue;
    }
    const [key, child] = top.entries[top.next++]!;
    if (!isContainer(child)) continue;
    // frames.length is the depth of `top`; the child is one level below it.
    if (frames.length >= maxDepth) return [...frames.slice(1).map((f) => f.key), key];
    frames.push({ entries: entriesOf(child), next: 0, key });
  }
  return null;
}

/** A path of keys as a JSON pointer (RFC 6901), e.g. `/payload/a/0`. */
export function jsonPointer(path: readonly string[]): string {
  return path.map((k) => '/' + k.replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

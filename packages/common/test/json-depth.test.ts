import { describe, expect, it } from 'vitest';
import { findJsonDepthExcess, jsonPointer } from '../src/json-depth.js';

/** An object nested `depth` levels deep as {"a":{"a":...}}, built without recursion. */
function nested(depth: number, leaf: unknown = 1): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('findJsonDepthExcess', () => {
  it('counts an object or array as one level and a scalar as none', () => {
    for (const scalar of [null, 1, 'x', true]) expect(findJsonDepthExcess(scalar, 1)).toBeNull();
    expect(findJsonDepthExcess({}, 1)).toBeNull();
    expect(findJsonDepthExcess([], 1)).toBeNull();
    expect(findJsonDepthExcess({ a: {} }, 1)).toEqual(['a']);
    expect(findJsonDepthExcess([[1]], 1)).toEqual(['0']);
  });

  it('accepts a value exactly at the limit and names the first container past it', () => {
    expect(findJsonDepthExcess(nested(64), 64)).toBeNull();
    expect(findJsonDepthExcess(nested(65), 64)).toEqual(Array(64).fill('a'));
  });

  it('walks siblings and arrays to find the deep branch', () => {
    const value = { ok: { x: [1, 2, { y: 1 }] }, deep: [{ z: [[[]]] }] };
    expect(findJsonDepthExcess(value, 6)).toBeNull();
    expect(findJsonDepthExcess(value, 5)).toEqual(['deep', '0', 'z', '0', '0']);
    expect(findJsonDepthExcess(value, 4)).toEqual(['deep', '0', 'z', '0']);
    expect(findJsonDepthExcess(value, 3)).toEqual(['ok', 'x', '2']);
  });

  it('measures a value nested far deeper than the call stack would allow', () => {
    const deep = nested(100_000);
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(findJsonDepthExcess(deep, 64)?.length).toBe(64);
    expect(findJsonDepthExcess(deep, 100_000)).toBeNull();
  });

  it('writes a path as a JSON pointer with ~ and / escaped', () => {
    expect(jsonPointer(['payload', 'a/b', '~c', '0'])).toBe('/payload/a~1b/~0c/0');
    expect(jsonPointer([])).toBe('');
  });
});

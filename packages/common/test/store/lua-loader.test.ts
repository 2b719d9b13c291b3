import { describe, expect, it } from 'vitest';
import { JOB_STATUSES, isFinalStatus } from '../../src/status.js';
import { COUNTER_NAMES, DERIVED_COUNTERS, STATUS_COUNTERS, STORED_COUNTER_NAMES } from '../../src/store/counters.js';
import { luaPreamble, OOM_SHEBANG, SCRIPT_NAMES, scriptSources } from '../../src/store/lua-loader.js';

describe('Lua scripts', () => {
  it('loads every script from its file, each documenting its KEYS and ARGV', () => {
    const sources = scriptSources();
    expect([...sources.keys()]).toEqual([...SCRIPT_NAMES]);
    for (const [name, lua] of sources) {
      const own = lua.slice(lua.lastIndexOf('--[['));
      expect(own, name).toMatch(/KEYS\[1\]/);
      expect(own, name).toMatch(/ARGV\[1\]/);
      expect(lua.replace(OOM_SHEBANG, '').startsWith(luaPreamble()), name).toBe(true);
    }
  });

  it('generates the rules from TypeScript: final statuses and the status-to-counter map', () => {
    const preamble = luaPreamble();
    for (const status of JOB_STATUSES) {
      expect(preamble.includes(`["${status}"] = true`)).toBe(isFinalStatus(status));
    }
    for (const [status, counter] of Object.entries(STATUS_COUNTERS)) {
      expect(preamble).toContain(`["${status}"] = "${counter}"`);
    }
  });

  it('keeps one list of counters: derived ones are not stored', () => {
    expect(DERIVED_COUNTERS).toEqual(['jobs_processing']);
    expect(STORED_COUNTER_NAMES).toEqual(COUNTER_NAMES.filter((name) => name !== 'jobs_processing'));
  });
});

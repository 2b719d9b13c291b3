import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { REPO_ROOT } from './support/processes.js';

/**
 * .ci/run's test phase, sourced in bash with stand-in suites (shell functions
 * that print a vitest summary line and exit with a code): CI runs `pnpm test`
 * and then `pnpm test:ha`, and its verdict must cover both.
 */

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'relay-ci-run-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const SUITES = `
main_suite() { printf '\\033[32m      Tests  \\033[0m40 passed | 1 skipped (41)\\r\\n'; return "\${MAIN_CODE:-0}"; }
ha_suite() { read -r -t 0.1 line && echo "had stdin: $line"; echo '      Tests  2 failed | 3 passed (5)'; return "\${HA_CODE:-0}"; }
`;

let runs = 0;

/** Runs run_all with the two stand-ins, then vitest_summary on their log (a new one per call), as main does. */
function ci(env: Record<string, string>) {
  const log = path.join(dir, `test-${++runs}.log`);
  const script = `source .ci/run; ${SUITES}
status=0
run_all "${log}" main_suite ha_suite || status=$?
vitest_summary <"${log}"
exit "$status"`;
  const res = spawnSync('bash', ['-c', script], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, ...env },
    input: 'a line on stdin\n',
    encoding: 'utf8',
  });
  return { ...res, log: readFileSync(log, 'utf8'), lastLine: res.stdout.trimEnd().split('\n').at(-1) };
}

it('sums both suites into the last line and exits with the first failure, running the second after a failed first', () => {
  const bothPass = ci({});
  expect(bothPass.lastLine).toBe('tests: 43 passed, 2 failed');
  expect(bothPass.status).toBe(0);

  const mainFails = ci({ MAIN_CODE: '1', HA_CODE: '0' });
  expect(mainFails.log).toContain('3 passed (5)');
  expect(mainFails.lastLine).toBe('tests: 43 passed, 2 failed');
  expect(mainFails.status).toBe(1);

  const haFails = ci({ MAIN_CODE: '0', HA_CODE: '3' });
  expect(haFails.status).toBe(3);
  expect(haFails.stdout).toContain('ci: ha_suite exited with 3');

  const bothFail = ci({ MAIN_CODE: '2', HA_CODE: '3' });
  expect(bothFail.status).toBe(2);
});

it('gives the suites no stdin (CI has none; a command that reads it must not hang or consume it)', () => {
  const res = ci({});
  expect(res.log).not.toContain('had stdin');
});

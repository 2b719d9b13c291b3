import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { CONFIG_DOC_PATH, renderConfigDoc } from '../../../scripts/config-doc.js';

it('docs/configuration.md is what the config specs generate', () => {
  let onDisk = '';
  try {
    onDisk = readFileSync(CONFIG_DOC_PATH, 'utf8');
  } catch {
    // Missing: compared as empty, so the message below says what to do.
  }
  expect(onDisk, 'docs/configuration.md differs from the config specs: run pnpm docs:config').toBe(renderConfigDoc());
});

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { backendConfigSpec } from '../packages/backend/src/config.js';
import { workerConfigSpec } from '../packages/worker/src/config.js';
import { REPO_ROOT } from './support/processes.js';

const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

it('the README documents every configuration variable with its real default', () => {
  for (const field of [...Object.values(backendConfigSpec), ...Object.values(workerConfigSpec)]) {
    const shown = field.default === '' ? '(unset)' : `\`${String(field.default)}\``;
    expect(readme).toContain(`| \`${field.env}\` | ${shown} |`);
  }
});

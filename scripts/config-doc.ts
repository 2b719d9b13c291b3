/**
 * Writes docs/configuration.md from the config specs, the only definition of
 * relay's settings: `pnpm docs:config`. `--check` writes nothing and exits 1
 * when the file is out of date. packages/backend/test/config-doc.test.ts
 * fails in the same case, so the document cannot drift from the code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendConfigSpec } from '../packages/backend/src/config.js';
import { describeConfig, type FieldSpec } from '../packages/common/src/config-fields.js';
import { workerConfigSpec } from '../packages/worker/src/config.js';

export const CONFIG_DOC_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../docs/configuration.md');

type Spec = Record<string, FieldSpec>;

/** The fields of `spec` whose variable is (or is not) also read by `other`, in spec order. */
function split(spec: Spec, other: Spec): { shared: FieldSpec[]; own: FieldSpec[] } {
  const otherEnvs = new Set(Object.values(other).map((f) => f.env));
  const fields = Object.values(spec);
  return { shared: fields.filter((f) => otherEnvs.has(f.env)), own: fields.filter((f) => !otherEnvs.has(f.env)) };
}

/** The whole document, from the specs as they are now. */
export function renderConfigDoc(): string {
  const backend = split(backendConfigSpec, workerConfigSpec);
  const worker = split(workerConfigSpec, backendConfigSpec);
  return `<!-- Generated from the config specs by \`pnpm docs:config\` (scripts/config-doc.ts). Do not edit by hand. -->

# Configuration

Relay is configured by environment variables only. Each process reads its
variables once at start-up and checks them all. If any value is wrong, the
process prints every problem together and exits with code 78 (EX_CONFIG)
before it connects to anything. An empty variable counts as unset.

The specs are in \`packages/common/src/config.ts\` (\`commonConfigSpec\`),
\`packages/backend/src/config.ts\` (\`backendConfigSpec\`) and
\`packages/worker/src/config.ts\` (\`workerConfigSpec\`). Change a spec, then
run \`pnpm docs:config\` to rewrite this file; a unit test fails until you do.

## Both processes

Give the backend and every worker the same values. \`RELAY_PREFIX\` names
the keys and queues they share; a worker without the backend's
\`RELAY_SECRET_KEY\` cannot read sealed secrets; \`RELAY_REDACT_HEADERS\` and
\`RELAY_ALLOW_PRIVATE_NETWORKS\` must agree so that both sides redact and
refuse the same things.

${describeConfig(backend.shared)}

## Backend only (\`packages/backend\`)

${describeConfig(backend.own)}

The backend also checks two rules across variables:

- \`RELAY_AUTH=off\` is refused unless \`HOST\` is a loopback address
  (\`127.x.x.x\`, \`::1\` or \`localhost\`).
- \`RELAY_MASTER_KEY\` must be set when \`RELAY_AUTH=on\`.

## Worker only (\`packages/worker\`)

${describeConfig(worker.own)}
`;
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const expected = renderConfigDoc();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(CONFIG_DOC_PATH, 'utf8');
    } catch {
      // A missing file is out of date like any other.
    }
    if (current !== expected) {
      process.stderr.write('docs/configuration.md is out of date: run pnpm docs:config\n');
      process.exit(1);
    }
  } else {
    writeFileSync(CONFIG_DOC_PATH, expected);
    process.stdout.write(`wrote ${path.relative(process.cwd(), CONFIG_DOC_PATH)}\n`);
  }
}

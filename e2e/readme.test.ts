import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '@relay/common';
import { backendConfigSpec } from '@relay/backend';
import { workerConfigSpec } from '@relay/worker';
import { REPO_ROOT } from './support/processes.js';

/**
 * The promises the README and docs/ make that code can check: the README fits
 * on a screen, every link between documents leads somewhere, every setting
 * and error code they name exists. The settings' defaults and ranges are
 * checked by the configuration document's own test
 * (packages/backend/test/config-doc.test.ts).
 */

const README_MAX_LINES = 250;

const DOCUMENTS = [
  'README.md',
  ...readdirSync(path.join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const text = (doc: string) => readFileSync(path.join(REPO_ROOT, doc), 'utf8');

/** Upper-case names the documents use that no source file defines or reads, and what each is. */
const NOT_SETTINGS = new Set([
  'API_KEY', // the README tour's shell variable
  'SIGNING_SECRET', // the README tour's shell variable
  'NODE_OPTIONS', // Node's own
  'EX_CONFIG', // sysexits.h name of exit code 78
]);

/** Every source file of the repo (packages, tests, benchmarks, scripts), for the names it reads or defines. */
function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mjs)$/.test(e.name) && !e.parentPath.includes('node_modules'))
    .map((e) => path.join(e.parentPath, e.name));
}

/**
 * Names a document may use besides relay's settings: variables the tests,
 * benchmarks and scripts read (`process.env.NAME`), and constants the code
 * exports (`export const NAME`), so a document can name the knob it means.
 */
const KNOWN_NAMES = new Set(
  ['packages', 'e2e', 'bench', 'scripts'].flatMap(sourceFiles).flatMap((file) => {
    const source = readFileSync(file, 'utf8');
    return [...source.matchAll(/process\.env\.([A-Z][A-Z0-9_]+)|export const ([A-Z][A-Z0-9_]+)/g)].map(
      (m) => (m[1] ?? m[2])!,
    );
  }),
);

/** Names written as `NAME` or NAME=value that look like environment variables. */
function envNames(markdown: string): Set<string> {
  const names = new Set<string>();
  for (const m of markdown.matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`|\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)=/g)) {
    const name = (m[1] ?? m[2])!;
    if (!name.startsWith('RELAY_ERR_') && !name.startsWith('UND_ERR_')) names.add(name);
  }
  return names;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '');
  return new Set([...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1]!)));
}

/** Relative links `[text](target)`, outside code blocks. */
function links(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '');
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((target) => !/^[a-z]+:/.test(target));
}

it(`the README is at most ${README_MAX_LINES} lines`, () => {
  expect(text('README.md').split('\n').length - 1).toBeLessThanOrEqual(README_MAX_LINES);
});

it('the README links to every document in docs/', () => {
  const readmeLinks = new Set(links(text('README.md')).map((l) => l.split('#')[0]));
  for (const doc of DOCUMENTS.filter((d) => d !== 'README.md')) expect(readmeLinks, doc).toContain(doc);
});

describe.each(DOCUMENTS)('%s', (doc) => {
  const markdown = text(doc);

  it('names only environment variables that are settings of relay', () => {
    const settings = new Set<string>(
      [...Object.values(backendConfigSpec), ...Object.values(workerConfigSpec)].map((f) => f.env),
    );
    const unknown = [...envNames(markdown)].filter((n) => !settings.has(n) && !NOT_SETTINGS.has(n) && !KNOWN_NAMES.has(n));
    expect(unknown, `${doc} names variables no config spec defines`).toEqual([]);
  });

  it('names only error codes that exist', () => {
    const codes = new Set(Object.values(ErrorCodes).map((e) => e.code));
    const named = [...markdown.matchAll(/RELAY_ERR_[A-Z_]+[A-Z]/g)].map((m) => m[0]);
    expect(
      named.filter((c) => !codes.has(c as never)),
      `${doc} names codes errors.ts does not define`,
    ).toEqual([]);
  });

  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const link of links(markdown)) {
      const [file, fragment] = link.split('#') as [string, string | undefined];
      const target = file === '' ? doc : path.posix.normalize(path.posix.join(path.posix.dirname(doc), file));
      if (!existsSync(path.join(REPO_ROOT, target))) {
        broken.push(`${link}: no file ${target}`);
        continue;
      }
      if (fragment !== undefined && target.endsWith('.md') && !anchors(text(target)).has(fragment)) {
        broken.push(`${link}: no heading #${fragment} in ${target}`);
      }
    }
    expect(broken, `broken links in ${doc}`).toEqual([]);
  });
});

it('docs/api.md lists every error code', () => {
  const api = text('docs/api.md');
  const missing = Object.values(ErrorCodes)
    .map((e) => e.code)
    .filter((code) => !api.includes(`\`${code}\``));
  expect(missing, 'codes of packages/common/src/errors.ts missing from docs/api.md').toEqual([]);
});

/**
 * The kinds of settings relay reads from the environment: how each is parsed
 * and checked, and how docs/configuration.md describes it. The settings
 * themselves are listed in config.ts (shared by both processes) and in each
 * package's config.ts.
 */

import { parseNetworkAllowlist } from './address-policy.js';

export type FieldSpec =
  | { kind: 'string'; env: string; default: string; doc: string }
  | { kind: 'url'; env: string; default: string; protocols: readonly string[]; doc: string }
  /** Comma-separated URLs, each checked like 'url'; kept as written, '' when unset. Never echoed in errors. */
  | { kind: 'urls'; env: string; default: ''; protocols: readonly string[]; doc: string }
  | { kind: 'int'; env: string; default: number; min: number; max: number; doc: string }
  /** A decimal number (fractions allowed), for quantities people set in whole or part units (days). */
  | { kind: 'number'; env: string; default: number; min: number; max: number; doc: string }
  | { kind: 'enum'; env: string; default: string; values: readonly string[]; doc: string }
  /** 32 random bytes, base64; '' when unset. Never echoed in errors. */
  | { kind: 'key'; env: string; default: ''; doc: string }
  /** Comma-separated keys of kind 'key'; kept as written, '' when unset. Never echoed in errors. */
  | { kind: 'keys'; env: string; default: ''; doc: string }
  /** A password-like string of at least `minLength` characters; '' when unset. Never echoed in errors. */
  | { kind: 'secret'; env: string; default: ''; minLength: number; doc: string }
  /** Comma-separated HTTP header names; read as a lower-case list ([] when unset). */
  | { kind: 'headerNames'; env: string; default: ''; doc: string }
  /** Comma-separated CIDRs and host names (see address-policy.ts); kept as written, '' when unset. */
  | { kind: 'networks'; env: string; default: ''; doc: string }
  /** Comma-separated host:port pairs; kept as written, '' when unset (parseHostPorts reads it). */
  | { kind: 'hostPorts'; env: string; default: ''; doc: string }
  /** An absolute file-system path; '' when unset (the setting then names its own default). */
  | { kind: 'path'; env: string; default: ''; doc: string };

export type ValueOf<F extends FieldSpec> = F extends { kind: 'int' | 'number' }
  ? number
  : F extends { kind: 'headerNames' }
    ? readonly string[]
    : string;
export type ConfigOf<S extends Record<string, FieldSpec>> = { readonly [K in keyof S]: ValueOf<S[K]> };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** RFC 9110 token: what an HTTP header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** 32 bytes in base64: what an AES-256 key of RELAY_SECRET_KEY is. */
function isKey(raw: string): boolean {
  return Buffer.from(raw, 'base64').length === 32 && /^[A-Za-z0-9+/]+=*$/.test(raw);
}

export function parseField(spec: FieldSpec, raw: string | undefined, problems: string[]): string | number | readonly string[] {
  if (spec.kind === 'headerNames') {
    const names = (raw ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== '');
    const bad = names.filter((n) => !HEADER_NAME.test(n));
    if (bad.length > 0)
      problems.push(`${spec.env}: not HTTP header names: ${bad.map((n) => JSON.stringify(n)).join(', ')}`);
    return Object.freeze([...new Set(names.map((n) => n.toLowerCase()))]);
  }
  if (raw === undefined || raw === '') return spec.default;
  switch (spec.kind) {
    case 'string':
      if (!/^[A-Za-z0-9_.:-]+$/.test(raw))
        problems.push(`${spec.env}=${raw}: use letters, digits, '_', '.', ':' or '-'`);
      return raw;
    case 'url': {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        problems.push(`${spec.env}: not a valid URL`);
        return raw;
      }
      // Never echo the URL itself: it may carry a password.
      if (!spec.protocols.includes(url.protocol)) {
        problems.push(`${spec.env}: protocol must be one of ${spec.protocols.join(', ')} (got ${url.protocol})`);
      }
      return raw;
    }
    case 'urls': {
      const urls = raw
        .split(',')
        .map((u) => u.trim())
        .filter((u) => u !== '');
      urls.forEach((one, i) => {
        const where = `${spec.env} (URL ${i + 1} of ${urls.length})`;
        let url: URL;
        try {
          url = new URL(one);
        } catch {
          problems.push(`${where}: not a valid URL`);
          return;
        }
        if (!spec.protocols.includes(url.protocol)) {
          problems.push(`${where}: protocol must be one of ${spec.protocols.join(', ')} (got ${url.protocol})`);
        }
      });
      return raw;
    }
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) {
        problems.push(`${spec.env}=${raw}: must be an integer`);
        return spec.default;
      }
      const n = Number(raw);
      if (n < spec.min || n > spec.max)
        problems.push(`${spec.env}=${raw}: must be between ${spec.min} and ${spec.max}`);
      return n;
    }
    case 'number': {
      if (!/^-?\d+(\.\d+)?$/.test(raw.trim())) {
        problems.push(`${spec.env}=${raw}: must be a number`);
        return spec.default;
      }
      const n = Number(raw);
      if (n < spec.min || n > spec.max)
        problems.push(`${spec.env}=${raw}: must be between ${spec.min} and ${spec.max}`);
      return n;
    }
    case 'secret':
      if (raw.length < spec.minLength || /\s/.test(raw)) {
        problems.push(
          `${spec.env}: must be at least ${spec.minLength} characters without spaces (e.g. \`openssl rand -base64 32\`)`,
        );
      }
      return raw;
    case 'key':
      if (!isKey(raw)) {
        problems.push(`${spec.env}: must be 32 random bytes in base64 (e.g. \`openssl rand -base64 32\`)`);
      }
      return raw;
    case 'keys':
      if (raw.split(',').some((k) => k.trim() !== '' && !isKey(k.trim()))) {
        problems.push(`${spec.env}: each key must be 32 random bytes in base64 (e.g. \`openssl rand -base64 32\`)`);
      }
      return raw;
    case 'enum':
      if (!spec.values.includes(raw)) problems.push(`${spec.env}=${raw}: must be one of ${spec.values.join(', ')}`);
      return raw;
    case 'networks':
      for (const problem of parseNetworkAllowlist(raw).problems) problems.push(`${spec.env}: ${problem}`);
      return raw;
    case 'hostPorts':
      if (parseHostPorts(raw) === null) problems.push(`${spec.env}=${raw}: must be comma-separated host:port pairs`);
      return raw;
    case 'path':
      // Relative paths would depend on the directory the process was started from.
      if (!raw.startsWith('/') || raw.includes('\0')) problems.push(`${spec.env}=${raw}: must be an absolute path`);
      return raw;
  }
}

/** `host:port,host:port` (IPv6 in brackets) as a list, or null when malformed. Pure. */
export function parseHostPorts(raw: string): { host: string; port: number }[] | null {
  const out: { host: string; port: number }[] = [];
  for (const item of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(item);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) return null;
    out.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return out.length > 0 ? out : null;
}

/** What a value may be, as a reader would check it by hand. */
function allowedValues(field: FieldSpec): string {
  switch (field.kind) {
    case 'int':
      return `${field.min}–${field.max}`;
    case 'number':
      return `${field.min}–${field.max}, fractions allowed`;
    case 'enum':
      return field.values.map((v) => `\`${v}\``).join(', ');
    case 'url':
      return `${field.protocols.map((p) => `\`${p}\``).join(' or ')} URL`;
    case 'urls':
      return `comma-separated ${field.protocols.map((p) => `\`${p}\``).join(' or ')} URLs`;
    case 'string':
      return 'letters, digits, `_` `.` `:` `-`';
    case 'key':
      return '32 bytes, base64';
    case 'keys':
      return 'comma-separated keys, each 32 bytes, base64';
    case 'secret':
      return `≥ ${field.minLength} characters, no spaces`;
    case 'headerNames':
      return 'comma-separated header names';
    case 'networks':
      return 'comma-separated CIDRs, addresses, host names';
    case 'hostPorts':
      return 'comma-separated `host:port`';
    case 'path':
      return 'absolute path';
    default:
      return '';
  }
}

/** A Markdown table of settings (variable, default, allowed values, meaning): docs/configuration.md is made of these. */
export function describeConfig(fields: readonly FieldSpec[]): string {
  const rows = fields.map((f) => {
    const shown = f.default === '' ? '(unset)' : `\`${String(f.default)}\``;
    return `| \`${f.env}\` | ${shown} | ${allowedValues(f)} | ${f.doc.replaceAll('|', '\\|')} |`;
  });
  return ['| variable | default | allowed | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** Removes the password from a URL for logs and messages. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '<invalid url>';
  }
}

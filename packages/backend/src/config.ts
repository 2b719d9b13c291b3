import { commonConfigSpec, loadConfig, type ConfigOf } from '@relay/common';

export const backendConfigSpec = {
  ...commonConfigSpec,
  port: { kind: 'int', env: 'PORT', default: 3000, min: 0, max: 65_535, doc: 'HTTP port of the API' },
  host: {
    kind: 'string',
    env: 'HOST',
    default: '127.0.0.1',
    doc: 'Interface the API listens on (use 0.0.0.0 in a container)',
  },
  bodyLimitBytes: {
    kind: 'int',
    env: 'BODY_LIMIT_BYTES',
    default: 1_048_576,
    min: 1024,
    max: 104_857_600,
    doc: 'Largest accepted request body; larger bodies get 413',
  },
} as const;

export type BackendConfig = ConfigOf<typeof backendConfigSpec>;

export function loadBackendConfig(env: Record<string, string | undefined> = process.env): BackendConfig {
  return loadConfig(backendConfigSpec, env);
}

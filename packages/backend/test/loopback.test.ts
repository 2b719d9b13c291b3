import { describe, expect, it } from 'vitest';
import { ConfigError } from '@relay/common';
import { loadBackendConfig } from '../src/config.js';
import { isLoopbackAddress, isLoopbackHostHeader } from '../src/edge/loopback.js';

/** Host classification for RELAY_AUTH=off: pure, no lookup, no connection. */
describe('isLoopbackAddress (HOST and bound addresses)', () => {
  it.each([
    '127.0.0.1',
    '127.1.2.3',
    '127.255.255.255',
    '::1',
    '0:0:0:0:0:0:0:1',
    'localhost',
    'LOCALHOST',
    '::ffff:127.0.0.1',
  ])('accepts %s', (host) => expect(isLoopbackAddress(host)).toBe(true));
  it.each([
    '127.0.0.1.example',
    '127.evil.test',
    '127.',
    '0.0.0.0',
    '::',
    '10.0.0.1',
    '128.0.0.1',
    'localhost.example',
    'example.test',
    '',
    '::ffff:10.0.0.1',
  ])('refuses %s', (host) => expect(isLoopbackAddress(host)).toBe(false));
});

describe('isLoopbackHostHeader (keys-off mode)', () => {
  it.each(['localhost', 'localhost:3000', '127.0.0.1', '127.0.0.1:8080', '127.9.9.9:1', '[::1]', '[::1]:3000'])(
    'accepts Host: %s',
    (host) => expect(isLoopbackHostHeader(host)).toBe(true),
  );
  it.each([
    undefined,
    '',
    'rebound.example',
    'rebound.example:3000',
    '127.0.0.1.nip.example:3000',
    '::1',
    '[::2]:80',
    '[::1',
    'localhost:3000:1',
    'localhost:abc',
    '0.0.0.0:3000',
    '192.168.1.2',
  ])('refuses Host: %s', (host) => expect(isLoopbackHostHeader(host)).toBe(false));
});

describe('loadBackendConfig with RELAY_AUTH=off', () => {
  it('starts on loopback literals and localhost', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) {
      expect(loadBackendConfig({ RELAY_AUTH: 'off', HOST: host }).host).toBe(host);
    }
  });

  it('refuses host names that merely start with 127. and any other interface', () => {
    for (const host of ['127.0.0.1.example', '0.0.0.0', '::', 'relay.example']) {
      expect(() => loadBackendConfig({ RELAY_AUTH: 'off', HOST: host })).toThrow(ConfigError);
    }
  });

  it('refuses a headers timeout longer than the request timeout', () => {
    expect(() =>
      loadBackendConfig({
        RELAY_AUTH: 'off',
        HTTP_REQUEST_TIMEOUT_MS: '5000',
        HTTP_HEADERS_TIMEOUT_MS: '6000',
      }),
    ).toThrow(/HTTP_HEADERS_TIMEOUT_MS/);
  });
});

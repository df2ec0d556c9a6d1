import { describe, expect, it } from 'vitest';
import { loadHubConfig } from './config.js';

const key = Buffer.from(Array.from({ length: 32 }, (_, i) => 255 - i));

describe('FLOTILLA_SECRET_KEY', () => {
  it.each([
    ['unset', undefined, undefined],
    ['empty (as docker-compose passes an unset variable)', '', undefined],
    ['64 hex digits', key.toString('hex'), key],
    ['base64', key.toString('base64'), key],
  ])('reads %s', (_case, value, expected) => {
    const config = loadHubConfig(value === undefined ? {} : { FLOTILLA_SECRET_KEY: value });
    if (expected === undefined) expect(config.secretKey).toBeUndefined();
    else expect(config.secretKey?.reveal().equals(expected)).toBe(true);
  });

  it.each([
    ['a passphrase', 'my-hub-secret-passphrase'],
    ['too short', key.subarray(0, 31).toString('hex')],
    ['too long', Buffer.concat([key, key]).toString('base64')],
  ])('refuses %s with a config error that never contains the value', (_case, value) => {
    let message = '';
    try {
      loadHubConfig({ FLOTILLA_SECRET_KEY: value, FLOTILLA_HEARTBEAT_INTERVAL: '1s' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(
      /^invalid configuration: FLOTILLA_SECRET_KEY: must be 32 random bytes as 64 hex digits or as base64/,
    );
    expect(message).not.toContain(value);
  });

  it('keeps the key out of JSON and logs of the configuration', () => {
    const config = loadHubConfig({ FLOTILLA_SECRET_KEY: key.toString('base64') });
    const json = JSON.stringify(config);
    expect(json).not.toContain(key.toString('base64'));
    expect(json).not.toContain(key.toString('hex'));
    expect(json).toContain('"secretKey":"[redacted]"');
  });
});

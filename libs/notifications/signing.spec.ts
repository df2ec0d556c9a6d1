import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signBody, verifySignature } from './signing.js';

describe('HMAC-SHA256 signatures', () => {
  const key = 'a-key-of-sixteen+';
  const body = '{"kind":"ClusterOffline"}';
  const good = signBody(key, body);

  it('is sha256= and the hex HMAC of the body, as a receiver computes it', () => {
    expect(good).toBe(`sha256=${createHmac('sha256', key).update(body).digest('hex')}`);
  });

  it.each([
    ['the right signature verifies', key, body, good, true],
    ['another key does not', 'another-key-of-16', body, good, false],
    ['a changed body does not', key, `${body} `, good, false],
    ['a truncated signature does not', key, body, good.slice(0, -2), false],
    ['an empty signature does not', key, body, '', false],
  ])('%s', (_name, k, b, signature, expected) => {
    expect(verifySignature(k, b, signature)).toBe(expected);
  });
});

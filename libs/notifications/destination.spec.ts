import { describe, expect, it } from 'vitest';
import {
  DestinationRefusedError,
  checkUrl,
  guardedLookup,
  isPrivateAddress,
} from './destination.js';

describe('isPrivateAddress', () => {
  it.each([
    ['IPv4 loopback', '127.0.0.1', true],
    ['another loopback address', '127.8.9.10', true],
    ['10/8 private', '10.1.2.3', true],
    ['172.16/12 private', '172.31.255.1', true],
    ['just outside 172.16/12', '172.32.0.1', false],
    ['192.168/16 private', '192.168.1.1', true],
    ['cloud metadata (link-local)', '169.254.169.254', true],
    ['carrier-grade NAT', '100.64.0.1', true],
    ['the unspecified address', '0.0.0.0', true],
    ['multicast', '224.0.0.1', true],
    ['a public IPv4 address', '93.184.216.34', false],
    ['IPv6 loopback', '::1', true],
    ['IPv6 unique local', 'fd12:3456::1', true],
    ['IPv6 link-local', 'fe80::1', true],
    ['IPv4-mapped loopback', '::ffff:127.0.0.1', true],
    ['IPv4-mapped public', '::ffff:93.184.216.34', false],
    ['NAT64 (reaches IPv4)', '64:ff9b::7f00:1', true],
    ['a public IPv6 address', '2606:2800:220:1:248:1893:25c8:1946', false],
    ['not an address', 'localhost', true],
  ])('%s: %s → %s', (_name, address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });
});

describe('checkUrl', () => {
  const strict = { allowHttp: false, allowPrivate: false };
  it.each([
    ['https to a host name passes', 'https://hooks.slack.com/services/x', strict, null],
    ['plain http is refused by default', 'http://hooks.example.com/x', strict, /plain http/],
    [
      'plain http passes when the target allows it',
      'http://hooks.example.com/x',
      { allowHttp: true, allowPrivate: false },
      null,
    ],
    ['other schemes are refused', 'file:///etc/passwd', strict, /not supported/],
    ['a loopback IP literal is refused', 'https://127.0.0.1/x', strict, /loopback\/private/],
    ['an IPv6 loopback literal is refused', 'https://[::1]:8443/x', strict, /loopback\/private/],
    [
      'a private IP literal passes when private addresses are allowed',
      'https://10.0.0.5/x',
      { allowHttp: false, allowPrivate: true },
      null,
    ],
    ['not a URL', 'hooks', strict, /not a URL/],
  ] as const)('%s', (_name, url, policy, error) => {
    if (error === null) expect(checkUrl(url, policy).href).toBe(new URL(url).href);
    else expect(() => checkUrl(url, policy)).toThrow(error);
  });

  it('never puts the path (which may hold a token) in its message', () => {
    expect(() => checkUrl('http://hooks.example.com/T0/SECRET', strict)).not.toThrow(/SECRET/);
  });
});

describe('guardedLookup', () => {
  const lookupWith = (addresses: string[], allowPrivate: boolean, all: boolean) =>
    new Promise<{ err: Error | null; result: unknown }>((resolve) => {
      const lookup = guardedLookup(allowPrivate, () =>
        Promise.resolve(
          addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
        ),
      );
      lookup('hook.test', { all }, (err, result) => resolve({ err, result }));
    });

  it.each([
    ['a public address is connected to', ['93.184.216.34'], false, null],
    [
      'one private address among public ones refuses the host',
      ['93.184.216.34', '10.0.0.1'],
      false,
      /10\.0\.0\.1/,
    ],
    ['a host resolving to loopback is refused', ['127.0.0.1'], false, /loopback\/private/],
    ['private addresses pass when allowed', ['127.0.0.1'], true, null],
    ['a host without addresses is refused', [], false, /no address/],
  ])('%s', async (_name, addresses, allowPrivate, error) => {
    const { err, result } = await lookupWith(addresses, allowPrivate, true);
    if (error === null) {
      expect(err).toBeNull();
      expect(result).toEqual(addresses.map((address) => expect.objectContaining({ address })));
    } else {
      expect(err).toBeInstanceOf(DestinationRefusedError);
      expect(err?.message).toMatch(error);
    }
  });

  it('answers one address when not asked for all', async () => {
    expect((await lookupWith(['93.184.216.34'], false, false)).result).toBe('93.184.216.34');
  });
});

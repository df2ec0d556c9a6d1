import { createHash } from 'node:crypto';
import { fromSeed } from '@nats-io/nkeys';
import { describe, expect, it } from 'vitest';
import { NKEY_ROLE, base32, crc16, encodeSeed, userKeyFromRaw } from './nkey-seed.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const raw = (label: string) => new Uint8Array(createHash('sha256').update(label).digest());

describe('crc16 is CRC-16/XMODEM', () => {
  it.each<[string, string, number]>([
    ['the empty input is 0', '', 0],
    ['the standard check value', '123456789', 0x31c3],
    ['one byte', 'A', 0x58e5],
  ])('%s', (_name, input, expected) => {
    expect(crc16(bytes(input))).toBe(expected);
  });
});

describe('base32 is RFC 4648 without padding', () => {
  it.each<[string, string]>([
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ])('"%s" → "%s"', (input, expected) => {
    expect(base32(bytes(input))).toBe(expected);
  });
});

describe('encodeSeed writes seeds the nkeys library reads', () => {
  it.each<[string, Uint8Array]>([
    ['all zeros', new Uint8Array(32)],
    ['all ones', new Uint8Array(32).fill(0xff)],
    ['a hash', raw('flotilla')],
  ])('a user seed from %s round-trips through nkeys', (_name, input) => {
    const seed = encodeSeed(NKEY_ROLE.user, input);
    expect(seed).toMatch(/^SU[A-Z2-7]{56}$/);
    const kp = fromSeed(bytes(seed));
    expect(new TextDecoder().decode(kp.getSeed())).toBe(seed);
    expect(kp.getPublicKey()).toMatch(/^U[A-Z2-7]{55}$/);
  });

  it('the same bytes make the same key, other bytes another key', () => {
    expect(userKeyFromRaw(raw('a')).getPublicKey()).toBe(userKeyFromRaw(raw('a')).getPublicKey());
    expect(userKeyFromRaw(raw('a')).getPublicKey()).not.toBe(
      userKeyFromRaw(raw('b')).getPublicKey(),
    );
  });

  it.each([0, 31, 33, 64])('refuses %i bytes', (length) => {
    expect(() => encodeSeed(NKEY_ROLE.user, new Uint8Array(length))).toThrow(
      `an nkey seed is 32 bytes, not ${length}`,
    );
  });
});

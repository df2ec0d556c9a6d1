import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  Secret,
  SecretBox,
  SecretDecryptError,
  SecretKeyMismatchError,
  secretKeyId,
} from './index.js';

const key = Buffer.alloc(32, 7);
const otherKey = Buffer.alloc(32, 9);
const box = new SecretBox(key);
const plaintext = 'hunter2-very-secret';

describe('SecretBox', () => {
  it.each([
    ['an ASCII password', 'hunter2'],
    ['the empty string', ''],
    ['unicode', 'pässwörd-🔑'],
    [
      'a PEM private key',
      '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n',
    ],
    ['JSON credentials', JSON.stringify({ username: 'fleet', password: 'correct-horse' })],
    ['a long value', 'x'.repeat(100_000)],
  ])('round-trips %s', (_case, value) => {
    const sealed = box.encrypt(value, 'ctx');
    expect(box.decrypt(sealed, 'ctx')).toBe(value);
  });

  it('writes a versioned, self-describing ciphertext that does not contain the plaintext', () => {
    const sealed = box.encrypt(plaintext);
    expect(sealed).toMatch(/^enc:v1:[0-9a-f]{8}:[A-Za-z0-9_-]+$/);
    expect(sealed.split(':')[2]).toBe(box.keyId);
    expect(sealed).not.toContain(plaintext);
    expect(Buffer.from(sealed.split(':')[3]!, 'base64url').toString('latin1')).not.toContain(
      plaintext,
    );
    expect(SecretBox.isEncrypted(sealed)).toBe(true);
  });

  it('uses a fresh IV each time: the same plaintext encrypts differently', () => {
    const a = box.encrypt(plaintext);
    const b = box.encrypt(plaintext);
    expect(a).not.toBe(b);
    expect(box.decrypt(a)).toBe(box.decrypt(b));
  });

  it('names the key by an id that is stable and differs between keys', () => {
    expect(secretKeyId(key)).toBe(new SecretBox(Buffer.from(key)).keyId);
    expect(secretKeyId(key)).not.toBe(secretKeyId(otherKey));
    expect(box.keyId).not.toContain(key.toString('hex').slice(0, 8));
  });

  it('decrypts values of a previous key it was given, and encrypts with the current one', () => {
    const old = new SecretBox(otherKey).encrypt(plaintext);
    const rotated = new SecretBox(key, [otherKey]);
    expect(rotated.decrypt(old)).toBe(plaintext);
    expect(rotated.encrypt(plaintext).split(':')[2]).toBe(box.keyId);
  });

  const sealed = box.encrypt(plaintext, 'gitrepos.credentials:demo');
  const payload = sealed.split(':')[3]!;
  const flipped = Buffer.from(payload, 'base64url');
  flipped[flipped.length - 1]! ^= 1;

  it.each<[string, () => string, new (...args: never[]) => Error, RegExp]>([
    [
      'another key: names the key change',
      () => new SecretBox(otherKey).decrypt(sealed, 'gitrepos.credentials:demo'),
      SecretKeyMismatchError,
      /another key .*FLOTILLA_SECRET_KEY .*changed/,
    ],
    [
      'another context: the ciphertext was moved to another record',
      () => box.decrypt(sealed, 'gitrepos.credentials:other'),
      SecretDecryptError,
      /gitrepos\.credentials:other.*integrity check/,
    ],
    [
      'an altered ciphertext',
      () =>
        box.decrypt(
          `enc:v1:${box.keyId}:${flipped.toString('base64url')}`,
          'gitrepos.credentials:demo',
        ),
      SecretDecryptError,
      /altered/,
    ],
    [
      'a truncated ciphertext',
      () => box.decrypt(`enc:v1:${box.keyId}:AAAA`),
      SecretDecryptError,
      /not a valid ciphertext/,
    ],
    [
      'an unknown format version',
      () => box.decrypt(`enc:v9:${box.keyId}:${payload}`),
      SecretDecryptError,
      /format "v9".*newer/,
    ],
    [
      'plaintext where a ciphertext belongs',
      () => box.decrypt(plaintext),
      SecretDecryptError,
      /is not encrypted/,
    ],
  ])('refuses to decrypt %s, without revealing the secret or the key', (_case, run, type, msg) => {
    let thrown: unknown;
    try {
      run();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(type);
    const message = (thrown as Error).message;
    expect(message).toMatch(msg);
    for (const secret of [plaintext, key.toString('hex'), key.toString('base64')]) {
      expect(message).not.toContain(secret);
    }
  });

  it.each([
    ['a short key', Buffer.alloc(16)],
    ['a long key', Buffer.alloc(64)],
  ])('refuses %s', (_case, bad) => {
    expect(() => new SecretBox(bad)).toThrow(/32 bytes/);
    expect(() => new SecretBox(key, [bad])).toThrow(/32 bytes/);
  });

  it.each([
    ['a ciphertext', box.encrypt('x'), true],
    ['plaintext', 'hunter2', false],
    ['JSON', '{"token":"x"}', false],
  ])('isEncrypted tells %s', (_case, value, expected) => {
    expect(SecretBox.isEncrypted(value)).toBe(expected);
  });
});

describe('Secret', () => {
  const token = `tok-${randomBytes(8).toString('hex')}`;
  const secret = new Secret({ token });

  it.each<[string, () => string]>([
    ['JSON.stringify', () => JSON.stringify({ credentials: secret })],
    ['a template string', () => `${String(secret)}`],
    ['util.inspect', () => inspect({ credentials: secret }, { depth: 10, showHidden: true })],
  ])('is redacted by %s', (_case, render) => {
    const text = render();
    expect(text).not.toContain(token);
    expect(text).toContain('[redacted]');
  });

  it('reveals the value to who asks for it', () => {
    expect(secret.reveal()).toEqual({ token });
  });
});

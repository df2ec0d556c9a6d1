import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SECRET_KEY_FILE,
  SecretKeyError,
  generateSecretKey,
  isValidSecretKey,
  loadSecretKey,
  parseSecretKey,
} from './index.js';

const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 3));

describe('parseSecretKey', () => {
  it.each([
    ['64 hex digits', key.toString('hex')],
    ['64 upper-case hex digits', key.toString('hex').toUpperCase()],
    ['padded base64', key.toString('base64')],
    ['unpadded base64', key.toString('base64').replace(/=+$/, '')],
    ['base64url', key.toString('base64url')],
    ['with a trailing newline (from a file or a Secret)', `${key.toString('base64')}\n`],
  ])('reads %s', (_case, text) => {
    expect(parseSecretKey(text).equals(key)).toBe(true);
    expect(isValidSecretKey(text)).toBe(true);
  });

  it.each([
    ['an empty string', ''],
    ['a passphrase', 'correct horse battery staple'],
    ['16 bytes of hex', key.subarray(0, 16).toString('hex')],
    ['63 hex digits', key.toString('hex').slice(1)],
    ['48 bytes of base64', Buffer.alloc(48, 1).toString('base64')],
    ['16 bytes of base64', Buffer.alloc(16, 1).toString('base64')],
    ['base64 with stray characters', `${key.toString('base64')}!`],
  ])('refuses %s with a config error that does not repeat it', (_case, text) => {
    expect(isValidSecretKey(text)).toBe(false);
    let thrown: unknown;
    try {
      parseSecretKey(text);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SecretKeyError);
    const message = (thrown as Error).message;
    expect(message).toMatch(/^FLOTILLA_SECRET_KEY: must be 32 random bytes as 64 hex digits or/);
    if (text.trim().length > 0) expect(message).not.toContain(text.trim());
  });

  it('generates valid random keys', () => {
    const a = generateSecretKey();
    expect(parseSecretKey(a)).toHaveLength(32);
    expect(a).not.toBe(generateSecretKey());
  });
});

describe('loadSecretKey', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-secrets-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('uses the configured key and writes no file', async () => {
    const dataDir = tempDir();
    const loaded = await loadSecretKey({ key, dataDir });
    expect(loaded.key.equals(key)).toBe(true);
    expect(loaded.source).toBe('env');
    expect(() => statSync(join(dataDir, SECRET_KEY_FILE))).toThrow();
  });

  it('generates <dataDir>/secret.key with mode 0600 on first start and reuses it after', async () => {
    const dataDir = join(tempDir(), 'not-yet-there');
    const first = await loadSecretKey({ key: undefined, dataDir });
    expect(first.source).toBe('generated');
    expect(first.file).toBe(join(dataDir, SECRET_KEY_FILE));
    expect(statSync(first.file!).mode & 0o777).toBe(0o600);
    expect(first.warnings).toEqual([]);
    expect(parseSecretKey(readFileSync(first.file!, 'utf8')).equals(first.key)).toBe(true);

    const second = await loadSecretKey({ key: undefined, dataDir });
    expect(second.source).toBe('file');
    expect(second.key.equals(first.key)).toBe(true);
  });

  it('gives every process starting together on one data directory the same key', async () => {
    const dataDir = tempDir();
    const loaded = await Promise.all(
      Array.from({ length: 8 }, () => loadSecretKey({ key: undefined, dataDir })),
    );
    expect(loaded.filter((l) => l.source === 'generated')).toHaveLength(1);
    for (const l of loaded) expect(l.key.equals(loaded[0]!.key)).toBe(true);
  });

  it('warns about a key file others can read', async () => {
    const dataDir = tempDir();
    const { file } = await loadSecretKey({ key: undefined, dataDir });
    chmodSync(file!, 0o644);
    const again = await loadSecretKey({ key: undefined, dataDir });
    expect(again.warnings.join()).toMatch(/readable by other users .*chmod 600/);
  });

  it('refuses a key file that holds no valid key, without printing its content', async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, SECRET_KEY_FILE), 'not-a-key-but-private\n', { mode: 0o600 });
    const err = await loadSecretKey({ key: undefined, dataDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretKeyError);
    expect((err as Error).message).toContain(join(dataDir, SECRET_KEY_FILE));
    expect((err as Error).message).not.toContain('not-a-key-but-private');
  });

  it('refuses a configured key of the wrong length', async () => {
    await expect(loadSecretKey({ key: Buffer.alloc(16), dataDir: tempDir() })).rejects.toThrow(
      SecretKeyError,
    );
  });
});

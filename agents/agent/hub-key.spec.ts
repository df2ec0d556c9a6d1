import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../../libs/contracts/signing.js';
import { HUB_KEY_FILE, pinHubKey } from './agent.js';

describe('pinning the hub key', () => {
  it('the first bootstrap pins the key (mode 0600); the same key again is accepted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-pin-'));
    const key = generateSigningKeyPair().publicKeyPem;
    expect(await pinHubKey(dir, key)).toBe(key);
    expect(await readFile(join(dir, HUB_KEY_FILE), 'utf8')).toBe(key);
    expect((await stat(join(dir, HUB_KEY_FILE))).mode & 0o777).toBe(0o600);
    expect(await pinHubKey(dir, key)).toBe(key);
  });

  it('a hub offering a different key is refused with a clear message', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-pin-'));
    await pinHubKey(dir, generateSigningKeyPair().publicKeyPem);
    await expect(pinHubKey(dir, generateSigningKeyPair().publicKeyPem)).rejects.toThrow(
      /differs from the one pinned/,
    );
  });
});

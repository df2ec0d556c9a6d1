import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NATS_AUTH_FILES, ensureNatsAuthDir, initNatsAuthDir, readNatsAuthKeys } from './files.js';

const root = mkdtempSync(join(tmpdir(), 'flotilla-nats-auth-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `dir-${++n}`, 'auth');

describe('NATS auth directories', () => {
  it('init writes the secrets for the owner only, and a server configuration with the resolver dir', async () => {
    const dir = freshDir();
    const made = await initNatsAuthDir(dir, 'jwt');
    expect(made.created).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, NATS_AUTH_FILES.keys)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, NATS_AUTH_FILES.operatorSeed)).mode & 0o777).toBe(0o600);
    expect(readFileSync(made.serverConfigFile, 'utf8')).toContain('  dir: "jwt"');
    expect(await readNatsAuthKeys(dir)).toEqual(made.keys);
  });

  it('init never replaces existing keys', async () => {
    const dir = freshDir();
    await initNatsAuthDir(dir, 'jwt');
    await expect(initNatsAuthDir(dir, 'jwt')).rejects.toThrow(/exists already; refusing/);
  });

  it('ensure generates once, then reads the same keys', async () => {
    const dir = freshDir();
    const first = await ensureNatsAuthDir(dir, 'jwt');
    const second = await ensureNatsAuthDir(dir, 'jwt');
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.keys).toEqual(first.keys);
  });

  it('ensure refuses keys without their server configuration', async () => {
    const dir = freshDir();
    await initNatsAuthDir(dir, 'jwt');
    unlinkSync(join(dir, NATS_AUTH_FILES.serverConfig));
    await expect(ensureNatsAuthDir(dir, 'jwt')).rejects.toThrow(/nats-server\.conf is missing/);
  });

  it.each<[string, string, RegExp]>([
    ['not JSON', '{', /cannot read the NATS keys .*hub-keys\.json/],
    ['another version', '{"version": 2}', /invalid NATS keys .*version/],
    [
      'a malformed seed',
      JSON.stringify({
        version: 1,
        operatorSigningSeed: 'x',
        systemAccountSeed: 'x',
        accountSeed: 'x',
      }),
      /invalid NATS keys .*operatorSigningSeed: must be an nkey seed/,
    ],
  ])('reading refuses a keys file that is %s', async (_name, content, message) => {
    const dir = freshDir();
    await initNatsAuthDir(dir, 'jwt');
    writeFileSync(join(dir, NATS_AUTH_FILES.keys), content);
    await expect(readNatsAuthKeys(dir)).rejects.toThrow(message);
  });
});

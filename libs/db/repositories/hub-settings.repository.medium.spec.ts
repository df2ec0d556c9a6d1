import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, SecretKeyMismatchError } from '../../secrets/index.js';
import { useMigratedDatabase } from '../../testing/index.js';
import { openDatabase } from '../data-source.js';
import { HubSettingsRepository } from './hub-settings.repository.js';

const db = useMigratedDatabase();
const key = randomBytes(32);
let settings: HubSettingsRepository;

const stored = async (name: string) =>
  (
    await db.ds.query<{ value: string }[]>('SELECT value FROM hub_settings WHERE key = $1', [name])
  )[0]?.value;

beforeAll(() => {
  settings = new HubSettingsRepository(db.ds, new SecretBox(key));
});

describe('HubSettingsRepository', () => {
  it('creates a setting once: later calls get the first value and do not make another', async () => {
    let made = 0;
    const make = () => `value-${++made}`;
    expect(await settings.ensure('signing-key', make)).toBe('value-1');
    expect(await settings.ensure('signing-key', () => 'value-2')).toBe('value-1');
    expect(made).toBe(1);
  });

  it('keeps values encrypted at rest and decrypts them on read', async () => {
    const value = 'SAAPLAINSEEDVALUE';
    expect(await settings.ensure('nats-seed', () => value)).toBe(value);
    const raw = await stored('nats-seed');
    expect(raw).toMatch(/^enc:v1:/);
    expect(raw).not.toContain(value);
  });

  it('the first of several replicas starting together wins; all see its value', async () => {
    const pools = await Promise.all([openDatabase(db.url), openDatabase(db.url)]);
    try {
      const replicas = pools.map((ds) => new HubSettingsRepository(ds, new SecretBox(key)));
      const values = await Promise.all(
        replicas.map((r, i) => r.ensure('operator-seed', () => `replica-${i}`)),
      );
      expect(new Set(values).size).toBe(1);
      expect(await settings.ensure('operator-seed', () => 'late')).toBe(values[0]);
    } finally {
      await Promise.all(pools.map((ds) => ds.destroy()));
    }
  });

  it('a value copied under another key is not decrypted', async () => {
    await settings.ensure('copy-target', () => 'target-value');
    await db.ds.query(
      `UPDATE hub_settings SET value = (SELECT value FROM hub_settings WHERE key = 'nats-seed')
        WHERE key = 'copy-target'`,
    );
    await expect(settings.ensure('copy-target', () => 'unused')).rejects.toThrow(
      /hub_settings:copy-target.*copied from another record/,
    );
  });

  it.each<[string, Buffer, boolean]>([
    ['the same key', key, true],
    ['another key', randomBytes(32), false],
  ])('verifying the secret key with %s: accepted %s', async (_name, other, accepted) => {
    await settings.verifySecretKey();
    const check = new HubSettingsRepository(db.ds, new SecretBox(other)).verifySecretKey();
    if (accepted) await expect(check).resolves.toBeUndefined();
    else await expect(check).rejects.toBeInstanceOf(SecretKeyMismatchError);
  });
});

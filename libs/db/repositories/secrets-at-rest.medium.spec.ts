import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, SecretKeyMismatchError } from '../../secrets/index.js';
import { createTestDatabase, gitRepoSpec, type TestDatabase } from '../../testing/index.js';
import { openDatabase } from '../data-source.js';
import { migrations } from '../migrations/index.js';
import { SecretsAtRest1732650000000 } from '../migrations/1732650000000-secrets-at-rest.js';
import { prepareSecretsAtRest } from '../secrets-at-rest.js';
import { type GitRepoSpec, GitRepoRepository } from './gitrepo.repository.js';
import { HubSettingsRepository } from './hub-settings.repository.js';

const box = new SecretBox(randomBytes(32));
const legacyPem =
  '-----BEGIN PRIVATE KEY-----\nlegacy-signing-key-material\n-----END PRIVATE KEY-----\n';

let db: TestDatabase;
let ds: DataSource;
let repos: GitRepoRepository;
let settings: HubSettingsRepository;

const spec = gitRepoSpec;

const rawRepo = async (name: string) =>
  (
    await ds.query<{ credentials: string | null; webhook_secret: string | null }[]>(
      'SELECT credentials, webhook_secret FROM gitrepos WHERE name = $1',
      [name],
    )
  )[0]!;
const rawSetting = async (key: string) =>
  (await ds.query<{ value: string }[]>('SELECT value FROM hub_settings WHERE key = $1', [key]))[0]!
    .value;

beforeAll(async () => {
  db = await createTestDatabase();
  // The schema as a hub from before encryption at rest left it, with plaintext secrets.
  const before = migrations.slice(0, migrations.indexOf(SecretsAtRest1732650000000));
  const old = new DataSource({ type: 'postgres', url: db.url, migrations: before });
  await old.initialize();
  await old.runMigrations({ transaction: 'all' });
  await old.query(
    `INSERT INTO gitrepos (name, url, credentials, webhook_secret) VALUES
       ('legacy-basic', 'https://git.example.com/a.git', $1::jsonb, 'legacy-webhook-secret'),
       ('legacy-token', 'https://git.example.com/b.git', $2::jsonb, NULL),
       ('legacy-public', 'https://git.example.com/c.git', NULL, NULL)`,
    [
      JSON.stringify({ username: 'fleet', password: 'legacy-password' }),
      JSON.stringify({ token: 'legacy-token-value' }),
    ],
  );
  await old.query(
    `INSERT INTO hub_settings (key, value) VALUES ('desired-state-signing-key', $1)`,
    [legacyPem],
  );
  await old.destroy();

  ds = await openDatabase(db.url);
  repos = new GitRepoRepository(ds, box);
  settings = new HubSettingsRepository(ds, box);
});
afterAll(async () => {
  await ds?.destroy();
  await db?.drop();
});

describe('secrets at rest', () => {
  it('reads plaintext secrets an older hub stored, before they are encrypted', async () => {
    expect((await rawRepo('legacy-basic')).credentials).toContain('legacy-password');
    expect((await repos.get('legacy-basic')).credentials?.reveal()).toEqual({
      username: 'fleet',
      password: 'legacy-password',
    });
    expect((await repos.get('legacy-basic')).webhookSecret?.reveal()).toBe('legacy-webhook-secret');
  });

  it('encrypts legacy plaintext in place at start, once, keeping every value', async () => {
    const first = await prepareSecretsAtRest(ds, box);
    expect(first.encrypted).toEqual({ gitrepos: 2, hubSettings: 1 });

    const basic = await rawRepo('legacy-basic');
    const token = await rawRepo('legacy-token');
    for (const stored of [basic.credentials, basic.webhook_secret, token.credentials]) {
      expect(stored).toMatch(/^enc:v1:/);
    }
    expect(JSON.stringify([basic, token])).not.toMatch(/legacy-(password|webhook|token)/);
    expect(await rawRepo('legacy-public')).toEqual({ credentials: null, webhook_secret: null });
    expect(await rawSetting('desired-state-signing-key')).toMatch(/^enc:v1:/);

    expect((await repos.get('legacy-basic')).credentials?.reveal()).toEqual({
      username: 'fleet',
      password: 'legacy-password',
    });
    expect((await repos.get('legacy-basic')).webhookSecret?.reveal()).toBe('legacy-webhook-secret');
    expect((await repos.get('legacy-token')).credentials?.reveal()).toEqual({
      token: 'legacy-token-value',
    });
    expect(await settings.ensure('desired-state-signing-key', () => 'not used')).toBe(legacyPem);

    expect((await prepareSecretsAtRest(ds, box)).encrypted).toEqual({
      gitrepos: 0,
      hubSettings: 0,
    });
  });

  it.each<[string, GitRepoSpec['credentials'], string]>([
    ['basic auth', { username: 'fleet', password: 'correct-horse-1' }, 'correct-horse-1'],
    ['a token', { token: 'ghp_secretTokenValue1' }, 'ghp_secretTokenValue1'],
  ])('stores credentials given as %s encrypted, and reads them back', async (_c, creds, secret) => {
    const name = `new-${secret.slice(0, 5).toLowerCase().replace(/_/g, '-')}`;
    const created = await repos.create(
      name,
      spec({ credentials: creds, webhookSecret: 'hook-secret-1' }),
    );
    const row = await rawRepo(name);
    expect(row.credentials).toMatch(/^enc:v1:/);
    expect(row.webhook_secret).toMatch(/^enc:v1:/);
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(JSON.stringify(row)).not.toContain('hook-secret-1');
    expect(created.credentials?.reveal()).toEqual(creds);
    expect(created.webhookSecret?.reveal()).toBe('hook-secret-1');
    // The decrypted GitRepo keeps its secrets out of JSON.
    expect(JSON.stringify(await repos.list({ limit: 100 }))).not.toContain(secret);
    expect(JSON.stringify(await repos.all())).not.toContain('hook-secret-1');
  });

  it('re-encrypts on replace, and removes secrets set to null', async () => {
    await repos.create('rotating', spec({ credentials: { token: 'first-token-value' } }));
    const before = (await rawRepo('rotating')).credentials;
    await repos.replace('rotating', spec({ credentials: { token: 'second-token-value' } }));
    const after = await rawRepo('rotating');
    expect(after.credentials).toMatch(/^enc:v1:/);
    expect(after.credentials).not.toBe(before);
    expect((await repos.get('rotating')).credentials?.reveal()).toEqual({
      token: 'second-token-value',
    });
    await repos.replace('rotating', spec());
    expect(await rawRepo('rotating')).toEqual({ credentials: null, webhook_secret: null });
    expect((await repos.get('rotating')).credentials).toBeNull();
  });

  it('stores new hub settings (signing keys, NATS seeds) encrypted', async () => {
    expect(await settings.ensure('nats-account-seed', () => 'SAAGSEEDVALUE')).toBe('SAAGSEEDVALUE');
    expect(await settings.ensure('nats-account-seed', () => 'another')).toBe('SAAGSEEDVALUE');
    const stored = await rawSetting('nats-account-seed');
    expect(stored).toMatch(/^enc:v1:/);
    expect(stored).not.toContain('SAAGSEEDVALUE');
  });

  it('refuses to start with another key, naming a changed FLOTILLA_SECRET_KEY', async () => {
    const err = await prepareSecretsAtRest(ds, new SecretBox(randomBytes(32))).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SecretKeyMismatchError);
    expect((err as Error).message).toMatch(/another key.*FLOTILLA_SECRET_KEY/);
  });

  it('does not decrypt a ciphertext copied to another GitRepo', async () => {
    await repos.create('victim', spec({ credentials: { token: 'victim-token' } }));
    await repos.create('attacker', spec());
    await ds.query(
      `UPDATE gitrepos SET credentials = (SELECT credentials FROM gitrepos WHERE name = 'victim')
        WHERE name = 'attacker'`,
    );
    await expect(repos.get('attacker')).rejects.toThrow(/gitrepos\.credentials:attacker.*copied/);
  });
});

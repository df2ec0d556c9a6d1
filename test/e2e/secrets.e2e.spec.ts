import { createHmac, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { type NatsConnection, type Subscription, connect } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadHubConfig } from '../../libs/config/config.js';
import { createSubjects } from '../../libs/contracts/index.js';
import {
  type GitServer,
  eventually,
  startGitServer,
  testNatsUrl,
} from '../../libs/testing/index.js';
import { runHub } from '../../services/hub/hub.js';
import { startTestHub, type TestHub } from '../support/hub.js';

// Secrets end to end: Git credentials and webhook secrets are stored encrypted, work, and never
// show up in API answers, sync errors, events or the hub's logs.

const cm = (v: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: private}\ndata: {v: "${v}"}\n`;
const wrongPassword = `wrong-pw-${randomBytes(6).toString('hex')}`;
const wrongToken = `wrong-tok-${randomBytes(6).toString('hex')}`;
const goodToken = `good-tok-${randomBytes(6).toString('hex')}`;
const webhookSecret = `hook-${randomBytes(6).toString('hex')}`;
const secrets = [
  wrongPassword,
  Buffer.from(`fleet:${wrongPassword}`).toString('base64'),
  wrongToken,
  goodToken,
  webhookSecret,
];

let hub: TestHub;
let basicGit: GitServer;
let tokenGit: GitServer;
let db: pg.Client;
let nc: NatsConnection;
let events: Subscription;
const eventText: string[] = [];
const logText: string[] = [];

const gitrepo = async (name: string) =>
  (await hub.api().get(`/api/v1/gitrepos/${name}`).expect(200)).body;
const stored = async (name: string) =>
  (
    await db.query<{ credentials: string | null; webhook_secret: string | null }>(
      'SELECT credentials, webhook_secret FROM gitrepos WHERE name = $1',
      [name],
    )
  ).rows[0]!;
const expectNoSecrets = (what: string, text: string) => {
  for (const s of secrets) expect(text, `${what} holds a secret`).not.toContain(s);
};

beforeAll(async () => {
  // The hub logs through Nest's console logger: keep every line to search it for secrets.
  const capture = (chunk: unknown) => {
    logText.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  hub = await startTestHub({ logLevels: ['fatal', 'error', 'warn', 'log'] });
  basicGit = await startGitServer({ auth: { username: 'fleet', password: 'correct-horse' } });
  tokenGit = await startGitServer({ auth: { token: goodToken } });
  db = new pg.Client({ connectionString: hub.env.DATABASE_URL });
  await db.connect();
  nc = await connect({ servers: testNatsUrl() });
  events = nc.subscribe(
    createSubjects(hub.env.FLOTILLA_SUBJECT_PREFIX ?? '').allEvents('gitrepo'),
    {
      callback: (_e, msg) => {
        eventText.push(msg.string());
      },
    },
  );
});
afterAll(async () => {
  events?.unsubscribe();
  await nc?.close();
  await db?.end();
  await basicGit?.stop();
  await tokenGit?.stop();
  await hub?.stop();
  vi.restoreAllMocks();
});

describe('secrets at rest and in answers', () => {
  it('a sync with a wrong password fails without the password in the answer, events or logs', async () => {
    const repo = await basicGit.createRepo('basic', { 'app/cm.yaml': cm('1') });
    const created = await hub
      .api()
      .post('/api/v1/gitrepos')
      .send({
        name: 'basic',
        url: repo.url,
        paths: ['app'],
        pollingInterval: '0',
        auth: { username: 'fleet', password: wrongPassword },
        webhookSecret,
      })
      .expect(201);
    expectNoSecrets('the create answer', JSON.stringify(created.body));
    const failing = await eventually(
      'basic has a sync error',
      () => gitrepo('basic'),
      (r) => r.status.error !== null,
    );
    expect(failing.status.error).toMatch(/authentication failed/);
    expect(failing.auth).toBe('basic');
    expect(failing.webhookSecret).toBe('set');
    expectNoSecrets('GET gitrepo', JSON.stringify(failing));
    expectNoSecrets('the list', JSON.stringify((await hub.api().get('/api/v1/gitrepos')).body));
    await eventually(
      'a SyncFailed event',
      () => Promise.resolve(eventText.join('\n')),
      (t) => t.includes('SyncFailed'),
    );
    await eventually(
      'the failure is logged',
      () => Promise.resolve(logText.join('')),
      (t) => t.includes('gitrepo basic: '),
    );
    expectNoSecrets('events', eventText.join('\n'));
    expectNoSecrets('logs', logText.join(''));

    const row = await stored('basic');
    expect(row.credentials).toMatch(/^enc:v1:[0-9a-f]{8}:/);
    expect(row.webhook_secret).toMatch(/^enc:v1:[0-9a-f]{8}:/);
    expectNoSecrets('the row', JSON.stringify(row));
    expect(JSON.stringify(row)).not.toContain('fleet');
  });

  it('a wrong token fails the same way; the right one, stored encrypted, syncs', async () => {
    const repo = await tokenGit.createRepo('tokened', { 'app/cm.yaml': cm('1') });
    const body = { name: 'tokened', url: repo.url, paths: ['app'], pollingInterval: '0' };
    await hub
      .api()
      .post('/api/v1/gitrepos')
      .send({ ...body, auth: { token: wrongToken } })
      .expect(201);
    const failing = await eventually(
      'tokened has a sync error',
      () => gitrepo('tokened'),
      (r) => r.status.error !== null,
    );
    expect(failing.auth).toBe('token');
    expectNoSecrets('GET gitrepo', JSON.stringify(failing));

    await hub
      .api()
      .put('/api/v1/gitrepos/tokened')
      .send({ ...body, auth: { token: goodToken } })
      .expect(200);
    const synced = await eventually(
      'tokened synced with the right token',
      () => gitrepo('tokened'),
      (r) => r.status.error === null && r.status.commit !== null,
    );
    expect(synced.status.bundles).toEqual(['tokened/app']);
    expect((await stored('tokened')).credentials).toMatch(/^enc:v1:/);
    expectNoSecrets('GET gitrepo', JSON.stringify(synced));
    expectNoSecrets('logs', logText.join(''));
  });

  it('the encrypted webhook secret still verifies pushes', async () => {
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      repository: { clone_url: `${basicGit.url}/basic.git` },
    });
    const send = (secret: string) =>
      hub
        .api(null)
        .post('/api/v1/webhooks/git')
        .set('Content-Type', 'application/json')
        .set('X-GitHub-Event', 'push')
        .set(
          'X-Hub-Signature-256',
          `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
        )
        .send(body);
    const gitrepo = async () => (await hub.api().get('/api/v1/gitrepos/basic').expect(200)).body;
    const before = (await gitrepo()).status.lastSyncedAt;
    expect((await send(webhookSecret).expect(202)).body).toEqual({ received: true });
    // Verified with the decrypted secret: the push made the hub sync the repository again (its
    // stored password is the wrong one, so the sync records that error once more).
    await eventually('basic synced by the push', gitrepo, (r) => r.status.lastSyncedAt !== before);
  });

  it('keeps the generated key in <dataDir>/secret.key (0600) and hub settings encrypted', async () => {
    const file = join(hub.env.FLOTILLA_DATA_DIR!, 'secret.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const settings = (
      await db.query<{ key: string; value: string }>('SELECT key, value FROM hub_settings')
    ).rows;
    expect(settings.map((s) => s.key)).toContain('desired-state-signing-key');
    for (const s of settings) expect(s.value).toMatch(/^enc:v1:/);
    expect(JSON.stringify(settings)).not.toContain('PRIVATE KEY');
  });

  it('a hub started with another key refuses to start, naming the changed key', async () => {
    const otherKey = randomBytes(32).toString('base64');
    const err = await runHub({
      config: loadHubConfig({ ...hub.env, FLOTILLA_SECRET_KEY: otherKey }),
      services: ['status'],
      logLevels: false,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/another key .*FLOTILLA_SECRET_KEY/);
    expect((err as Error).message).not.toContain(otherKey);
  });
});

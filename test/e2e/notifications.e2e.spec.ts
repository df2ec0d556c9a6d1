import { randomBytes } from 'node:crypto';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ClusterEventType,
  RolloutChangeType,
  clusterEvent,
  rolloutChangeEvent,
} from '../../libs/contracts/events.js';
import { createSubjects } from '../../libs/contracts/subjects.js';
import { BundleRepository, openDatabase } from '../../libs/db/index.js';
import { SIGNATURE_HEADER, verifySignature } from '../../libs/notifications/index.js';
import { publishJson } from '../../libs/nats/index.js';
import {
  type TestDatabase,
  createTestDatabase,
  eventually,
  testNatsUrl,
  testSubjectPrefix,
} from '../../libs/testing/index.js';
import { buildProgram } from '../../cli/program.js';
import type { RunningAgent } from '../../agents/agent/agent.js';
import { type GitServer, startGitServer } from '../../libs/testing/index.js';
import { startSimulatedAgent } from '../support/agents.js';
import { type TestHub, startTestHub } from '../support/hub.js';
import { appDeployment, ringStrategy } from '../support/rollout-fixtures.js';

/** What a loopback receiver got. */
interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * An HTTP receiver on loopback that records every request and answers `status` (or what
 * `answer` says for a request).
 */
interface Receiver {
  url: string;
  port: number;
  requests: Received[];
  close(): Promise<void>;
}

const servers: Server[] = [];

async function startReceiver(
  port = 0,
  status = 200,
  answer: (r: Received) => number = () => status,
): Promise<Receiver> {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const got = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      requests.push(got);
      res.writeHead(answer(got), { 'content-type': 'application/json' }).end('{}');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nothing listens on (a receiver that is down). */
async function closedPort(): Promise<number> {
  const r = await startReceiver();
  await r.close();
  return r.port;
}

const hubs: TestHub[] = [];
const databases: TestDatabase[] = [];
let nc: NatsConnection;
/** The database and subject prefix of the test that runs now (a restarted hub keeps them). */
let db: TestDatabase;
let prefix: string;
const secretKey = randomBytes(32).toString('hex');

/** Gives the next hubs a database and subject prefix of their own. */
async function freshInfrastructure(): Promise<void> {
  db = await createTestDatabase();
  databases.push(db);
  prefix = testSubjectPrefix();
}

/** A hub running the API and notifications, private addresses allowed unless `env` says not. */
async function startHub(env: Record<string, string> = {}): Promise<TestHub> {
  const hub = await startTestHub({
    services: ['api', 'notifications'],
    env: {
      DATABASE_URL: db.url,
      FLOTILLA_SECRET_KEY: secretKey,
      FLOTILLA_SUBJECT_PREFIX: prefix,
      FLOTILLA_NOTIFICATIONS_ALLOW_PRIVATE: 'true',
      ...env,
    },
  });
  hubs.push(hub);
  return hub;
}

function publishClusterOffline(name: string, labels: Record<string, string>): void {
  publishJson(
    nc,
    createSubjects(prefix).event('cluster', name),
    clusterEvent(
      ClusterEventType.StateChanged,
      { name, labels, state: 'Offline', lastSeen: new Date() },
      'Online',
    ),
  );
}

/** The rollout event of `rollout` reaching Succeeded, as the rollout controller publishes it. */
function publishSucceeded(
  conn: NatsConnection,
  subject: string,
  rollout: Parameters<typeof rolloutChangeEvent>[1],
): void {
  publishJson(
    conn,
    subject,
    rolloutChangeEvent(RolloutChangeType.RolloutChanged, { ...rollout, state: 'Succeeded' }, [
      { type: 'RolloutStateChanged', from: 'Progressing', to: 'Succeeded', reason: 'done' },
    ]),
  );
}

beforeAll(async () => {
  nc = await connect({ servers: testNatsUrl() });
});
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});
afterAll(async () => {
  for (const h of hubs.splice(0)) await h.stop().catch(() => undefined);
  await nc?.close();
  for (const d of databases.splice(0)) await d.drop();
});

/**
 * Registers at `hub` the GitRepo `repo.name` (at git.example.test/acme, never polled) and stores one bundle
 * of it at `bundle.commit` directly in the database, as a sync would have.
 */
async function gitRepoWithBundle(
  hub: TestHub,
  repo: { name: string; auth?: { token: string } },
  bundle: { name: string; dir: string; commit: string },
): Promise<void> {
  await hub
    .api()
    .post('/api/v1/gitrepos')
    .send({
      name: repo.name,
      url: `https://git.example.test/acme/${repo.name}.git`,
      pollingInterval: '0',
      ...(repo.auth === undefined ? {} : { auth: repo.auth }),
    })
    .expect(201);
  const ds = await openDatabase(db.url);
  try {
    await new BundleRepository(ds).save({
      ...bundle,
      gitrepo: repo.name,
      kind: 'yaml',
      options: {},
      rolloutStrategy: null,
      dependsOn: [],
      error: null,
      errorCommit: null,
    });
  } finally {
    await ds.destroy();
  }
}

describe('notifications', () => {
  let hub: TestHub;
  beforeAll(async () => {
    await freshInfrastructure();
    hub = await startHub();
  });
  afterAll(async () => {
    await hub.stop();
    hubs.splice(hubs.indexOf(hub), 1);
  });

  it('posts a Slack message for a cluster going offline, filtered by the cluster selector', async () => {
    const slack = await startReceiver();
    await hub
      .api()
      .post('/api/v1/notifications/targets')
      .send({
        name: 'slack',
        type: 'slack',
        url: `${slack.url}/services/T000/B000/XXXXSECRET`,
        allowHttp: true,
      })
      .expect(201);
    await hub
      .api()
      .post('/api/v1/notifications/rules')
      .send({
        name: 'prod-offline',
        targets: ['slack'],
        kinds: ['ClusterOffline'],
        clusterSelector: 'env=prod',
      })
      .expect(201);

    publishClusterOffline('staging-1', { env: 'staging' });
    publishClusterOffline('prod-1', { env: 'prod' });

    const [message] = await eventually(
      'the Slack receiver gets a message',
      () => slack.requests,
      (r) => r.length > 0,
    );
    expect(message?.path).toBe('/services/T000/B000/XXXXSECRET');
    expect(message?.headers['content-type']).toBe('application/json');
    const json = JSON.parse(message?.body ?? '') as {
      text: string;
      attachments: { color: string; fields: { title: string; value: string }[] }[];
    };
    expect(json.text).toContain('ClusterOffline');
    expect(json.text).toContain('prod-1');
    expect(json.attachments[0]?.fields).toContainEqual({
      title: 'Cluster',
      value: 'prod-1',
      short: true,
    });
    const delivered = await eventually(
      'the delivery is recorded',
      async () => (await hub.api().get('/api/v1/notifications/deliveries?target=slack')).body,
      (b: { items: { state: string }[] }) => b.items.some((d) => d.state === 'Delivered'),
    );
    // staging-1 does not match the selector: only prod-1 was sent.
    expect(delivered.items).toHaveLength(1);
    expect(slack.requests).toHaveLength(1);

    // The URL (its path holds the token) is never returned.
    const listed = await hub.api().get('/api/v1/notifications/targets/slack').expect(200);
    expect(JSON.stringify(listed.body)).not.toContain('XXXXSECRET');
    expect(listed.body).toMatchObject({ name: 'slack', urlHost: `127.0.0.1:${slack.port}` });
  });

  it('signs generic webhooks with HMAC-SHA256 that the receiver verifies', async () => {
    const receiver = await startReceiver();
    const key = 'a-shared-hmac-key-of-32-chars!!!';
    await hub
      .api()
      .post('/api/v1/notifications/targets')
      .send({
        name: 'signed',
        type: 'cloudevents',
        url: receiver.url,
        hmacKey: key,
        allowHttp: true,
      })
      .expect(201);
    await hub
      .api()
      .post('/api/v1/notifications/rules')
      .send({ name: 'signed-all', targets: ['signed'], kinds: ['ClusterOffline'] })
      .expect(201);
    publishClusterOffline('edge-7', { env: 'edge' });
    const [req] = await eventually(
      'the webhook arrives',
      () => receiver.requests,
      (r) => r.length > 0,
    );
    const signature = req?.headers[SIGNATURE_HEADER.toLowerCase()];
    expect(typeof signature).toBe('string');
    expect(verifySignature(key, req?.body ?? '', signature as string)).toBe(true);
    expect(verifySignature('another-key-of-sixteen', req?.body ?? '', signature as string)).toBe(
      false,
    );
    expect(req?.headers['content-type']).toContain('application/cloudevents+json');
    expect(JSON.parse(req?.body ?? '')).toMatchObject({
      specversion: '1.0',
      type: 'io.flotilla.ClusterOffline',
      subject: 'edge-7',
      data: { kind: 'ClusterOffline', cluster: 'edge-7', severity: 'warning' },
    });
    const shown = await hub.api().get('/api/v1/notifications/targets/signed').expect(200);
    expect(JSON.stringify(shown.body)).not.toContain(key);
    expect(shown.body.hasHmacKey).toBe(true);
  });

  it('sets GitHub commit statuses per bundle with the GitRepo credentials: pending, then success', async () => {
    const forge = await startReceiver(0, 201);
    await gitRepoWithBundle(
      hub,
      { name: 'shop', auth: { token: 'ghp_repotoken' } },
      { name: 'shop-web', dir: 'web', commit: 'c0ffee0000000000000000000000000000000001' },
    );
    await hub
      .api()
      .post('/api/v1/notifications/targets')
      .send({ name: 'github', type: 'github', url: `${forge.url}/api/v3`, allowHttp: true })
      .expect(201);
    await hub
      .api()
      .post('/api/v1/notifications/rules')
      .send({ name: 'commit-status', targets: ['github'], gitrepos: ['shop'] })
      .expect(201);

    const rollout = {
      id: '00000000-0000-4000-8000-000000000001',
      bundle: 'shop-web',
      state: 'Progressing' as const,
      toCommit: 'c0ffee0000000000000000000000000000000001',
    };
    const subject = createSubjects(prefix).event('rollout', rollout.id);
    publishJson(nc, subject, rolloutChangeEvent(RolloutChangeType.RolloutCreated, rollout));
    await eventually(
      'the pending status',
      () => forge.requests,
      (r) => r.length >= 1,
    );
    publishSucceeded(nc, subject, rollout);
    const requests = await eventually(
      'the success status',
      () => forge.requests,
      (r) => r.length >= 2,
    );
    for (const r of requests) {
      expect(r.method).toBe('POST');
      expect(r.path).toBe(`/api/v3/repos/acme/shop/statuses/${rollout.toCommit}`);
      expect(r.headers.authorization).toBe('Bearer ghp_repotoken');
    }
    expect(requests.map((r) => JSON.parse(r.body) as { state: string; context: string })).toEqual([
      expect.objectContaining({ state: 'pending', context: 'flotilla/shop-web' }),
      expect.objectContaining({ state: 'success', context: 'flotilla/shop-web' }),
    ]);
  });

  it('never sends a retried pending status after the success: it is superseded', async () => {
    // The forge fails the first pending; it accepts everything else.
    let failed = false;
    const forge = await startReceiver(0, 201, (r) => {
      if (failed || (JSON.parse(r.body) as { state: string }).state !== 'pending') return 201;
      failed = true;
      return 502;
    });
    await hub
      .api()
      .post('/api/v1/gitrepos')
      .send({
        name: 'retried',
        url: 'https://git.example.test/acme/retried.git',
        pollingInterval: '0',
        auth: { token: 'ghp_repotoken' },
      })
      .expect(201);
    const commit = 'c0ffee0000000000000000000000000000000002';
    const ds = await openDatabase(db.url);
    try {
      await new BundleRepository(ds).save({
        name: 'retried-web',
        gitrepo: 'retried',
        dir: 'web',
        kind: 'yaml',
        commit,
        options: {},
        rolloutStrategy: null,
        dependsOn: [],
        error: null,
        errorCommit: null,
      });
    } finally {
      await ds.destroy();
    }
    await hub
      .api()
      .post('/api/v1/notifications/targets')
      .send({ name: 'flaky-forge', type: 'github', url: `${forge.url}/api/v3`, allowHttp: true })
      .expect(201);
    await hub
      .api()
      .post('/api/v1/notifications/rules')
      .send({ name: 'retried-status', targets: ['flaky-forge'], gitrepos: ['retried'] })
      .expect(201);

    const rollout = {
      id: '00000000-0000-4000-8000-000000000002',
      bundle: 'retried-web',
      state: 'Progressing' as const,
      toCommit: commit,
    };
    const subject = createSubjects(prefix).event('rollout', rollout.id);
    publishJson(nc, subject, rolloutChangeEvent(RolloutChangeType.RolloutCreated, rollout));
    await eventually(
      'the pending status, refused',
      () => forge.requests,
      (r) => r.length >= 1,
    );
    publishSucceeded(nc, subject, rollout);
    type Delivery = { event: { kind: string }; state: string; lastError: string | null };
    // The pending comes due again after its back-off, and is superseded instead of sent.
    const deliveries = await eventually(
      'the retried pending superseded',
      async () =>
        (
          (await hub.api().get('/api/v1/notifications/deliveries?target=flaky-forge')).body as {
            items: Delivery[];
          }
        ).items,
      (items) => items.length === 2 && items.every((d) => d.state !== 'Pending'),
    );
    expect(deliveries.map((d) => [d.event.kind, d.state])).toEqual([
      ['RolloutSucceeded', 'Delivered'],
      ['RolloutStarted', 'Superseded'],
    ]);
    expect(deliveries[1]?.lastError).toBeNull();
    const states = forge.requests.map((r) => (JSON.parse(r.body) as { state: string }).state);
    expect(states).toEqual(['pending', 'success']);
    const superseded = await hub
      .api()
      .get('/api/v1/notifications/deliveries?state=Superseded&target=flaky-forge')
      .expect(200);
    expect((superseded.body as { items: Delivery[] }).items).toHaveLength(1);
  });

  it('tells of drift a cluster reports, filtered by the cluster selector', async () => {
    const receiver = await startReceiver();
    await gitRepoWithBundle(
      hub,
      { name: 'drifty' },
      { name: 'drifty-app', dir: 'app', commit: 'd1' },
    );
    for (const [name, env] of [
      ['drift-prod', 'prod'],
      ['drift-dev', 'dev'],
    ]) {
      await hub.api().post('/api/v1/clusters').send({ name, labels: { env } }).expect(201);
    }
    await hub
      .api()
      .post('/api/v1/notifications/targets')
      .send({ name: 'drift-hook', type: 'webhook', url: receiver.url, allowHttp: true })
      .expect(201);
    await hub
      .api()
      .post('/api/v1/notifications/rules')
      .send({
        name: 'drift',
        targets: ['drift-hook'],
        kinds: ['DriftDetected'],
        clusterSelector: 'env=prod',
      })
      .expect(201);
    for (const cluster of ['drift-dev', 'drift-prod']) {
      publishJson(nc, createSubjects(prefix).event('deployment', cluster), {
        type: 'DeploymentsChanged',
        cluster,
        deployments: [{ bundle: 'drifty-app', state: 'Modified' }],
        at: new Date().toISOString(),
      });
    }
    const [req] = await eventually(
      'the drift webhook',
      () => receiver.requests,
      (r) => r.length > 0,
    );
    expect(JSON.parse(req?.body ?? '')).toMatchObject({
      kind: 'DriftDetected',
      severity: 'warning',
      cluster: 'drift-prod',
      bundle: 'drifty-app',
      gitrepo: 'drifty',
    });
    await eventually(
      'the delivery is recorded',
      async () => (await hub.api().get('/api/v1/notifications/deliveries?target=drift-hook')).body,
      (b: { items: { state: string }[] }) => b.items.some((d) => d.state === 'Delivered'),
    );
    expect(receiver.requests).toHaveLength(1);
  });

  it('refuses bad targets and rules with a 400 that says why', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: 'plain', type: 'slack', url: 'http://hooks.example.test/x' }, /allowHttp/],
      [{ name: 'nourl', type: 'webhook' }, /needs a url/],
      [{ name: 'Bad Name', type: 'webhook', url: 'https://x.test' }, /DNS-1123/],
      [{ name: 'short', type: 'webhook', url: 'https://x.test', hmacKey: 'abc' }, /hmacKey/],
      [{ name: 'gl', type: 'gitlab', hmacKey: 'a-long-enough-hmac-key' }, /not HMAC-signed/],
      [{ name: 'odd', type: 'pager', url: 'https://x.test' }, /type/],
    ];
    for (const [body, message] of cases) {
      const res = await hub.api().post('/api/v1/notifications/targets').send(body).expect(400);
      expect(String(res.body.message)).toMatch(message);
    }
    const rules: [Record<string, unknown>, RegExp][] = [
      [{ name: 'r1', targets: ['nope'] }, /no notification target named "nope"/],
      [{ name: 'r2', targets: [] }, /at least one target/],
      [{ name: 'r3', targets: ['slack'], kinds: ['Everything'] }, /kinds/],
      [{ name: 'r4', targets: ['slack'], clusterSelector: 'env in (' }, /clusterSelector/],
      [{ name: 'r5', targets: ['slack'], severity: 'fatal' }, /severity/],
    ];
    for (const [body, message] of rules) {
      const res = await hub.api().post('/api/v1/notifications/rules').send(body).expect(400);
      expect(String(res.body.message)).toMatch(message);
    }
  });

  it('manages targets and rules with `flotilla notification`', async () => {
    const cli = async (...args: string[]) => {
      let stdout = '';
      const program = buildProgram({
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: () => true },
      });
      await program.parseAsync(
        ['node', 'flotilla', ...args, '--server', hub.httpUrl, '--token', hub.adminToken],
        { from: 'node' },
      );
      return stdout;
    };
    const created = await cli(
      'notification',
      'target',
      'create',
      'cli-hook',
      '--type',
      'webhook',
      '--url',
      'https://hooks.example.test/T0/CLISECRET',
      '--hmac-key',
      'a-cli-hmac-key-16+',
    );
    expect(created).toMatch(/cli-hook\s+webhook\s+hooks\.example\.test\s+yes/);
    expect(created).not.toContain('CLISECRET');
    await cli(
      'notification',
      'rule',
      'create',
      'cli-rule',
      '--targets',
      'cli-hook',
      '--kinds',
      'RolloutFailed,ClusterOffline',
      '--severity',
      'warning',
    );
    expect(await cli('notification', 'rule', 'list')).toMatch(
      /cli-rule\s+cli-hook\s+RolloutFailed,ClusterOffline\s+\*\s+\*\s+\*\s+warning/,
    );
    const listed = JSON.parse(await cli('notification', 'target', 'list', '-o', 'json')) as {
      items: { name: string }[];
    };
    expect(listed.items.map((t) => t.name)).toContain('cli-hook');
    expect(await cli('notification', 'rule', 'delete', 'cli-rule')).toContain('deleted');
    expect(await cli('notification', 'target', 'delete', 'cli-hook')).toContain('deleted');
  });

  it('lets viewers read and operators write', async () => {
    const token = async (role: string) =>
      (
        await hub
          .api()
          .post('/api/v1/api-tokens')
          .send({ name: `n-${role}`, role })
          .expect(201)
      ).body.token as string;
    const viewer = await token('viewer');
    const operator = await token('operator');
    await hub.api(viewer).get('/api/v1/notifications/targets').expect(200);
    await hub.api(viewer).get('/api/v1/notifications/dead-letters').expect(200);
    await hub
      .api(viewer)
      .post('/api/v1/notifications/targets')
      .send({ name: 'v', type: 'webhook', url: 'https://x.test' })
      .expect(403);
    await hub
      .api(operator)
      .post('/api/v1/notifications/targets')
      .send({ name: 'op', type: 'webhook', url: 'https://x.test' })
      .expect(201);
    await hub.api(operator).delete('/api/v1/notifications/targets/op').expect(204);
  });
});

describe('notification delivery', () => {
  it('retries a receiver that is down, and delivers after a hub restart', async () => {
    await freshInfrastructure();
    const port = await closedPort();
    let hub = await startHub();
    await hub
      .api()
      .post('/api/v1/notifications/targets')
      .send({ name: 'later', type: 'slack', url: `http://127.0.0.1:${port}/hook`, allowHttp: true })
      .expect(201);
    await hub
      .api()
      .post('/api/v1/notifications/rules')
      .send({ name: 'later-all', targets: ['later'], kinds: ['ClusterOffline'] })
      .expect(201);
    publishClusterOffline('far-1', {});
    const failed = await eventually(
      'a failed attempt',
      async () =>
        (await hub.api().get('/api/v1/notifications/deliveries?target=later')).body as {
          items: { state: string; attempts: number; lastError: string | null }[];
        },
      (b) => (b.items[0]?.attempts ?? 0) >= 1 && b.items[0]?.lastError !== null,
    );
    expect(failed.items[0]?.state).toBe('Pending');
    expect(failed.items[0]?.lastError).toMatch(/ECONNREFUSED/);

    await hub.stop();
    hubs.splice(hubs.indexOf(hub), 1);
    const receiver = await startReceiver(port);
    hub = await startHub();
    await eventually(
      'the message, sent by the restarted hub',
      () => receiver.requests,
      (r) => r.length > 0,
    );
    expect(receiver.requests[0]?.body).toContain('far-1');
    await eventually(
      'the delivery is recorded as delivered',
      async () =>
        (await hub.api().get('/api/v1/notifications/deliveries?target=later')).body as {
          items: { state: string }[];
        },
      (b) => b.items[0]?.state === 'Delivered',
    );
  });

  it('refuses loopback and private destinations unless allowed (SSRF)', async () => {
    await freshInfrastructure();
    const receiver = await startReceiver();
    const hub = await startHub({ FLOTILLA_NOTIFICATIONS_ALLOW_PRIVATE: 'false' });
    for (const [name, url] of [
      ['loopback-ip', receiver.url],
      ['loopback-name', `http://localhost:${receiver.port}/`],
      ['metadata', 'http://169.254.169.254/latest/meta-data/'],
    ]) {
      await hub
        .api()
        .post('/api/v1/notifications/targets')
        .send({ name, type: 'webhook', url, allowHttp: true })
        .expect(201);
    }
    await hub
      .api()
      .post('/api/v1/notifications/rules')
      .send({
        name: 'ssrf',
        targets: ['loopback-ip', 'loopback-name', 'metadata'],
        kinds: ['ClusterOffline'],
      })
      .expect(201);
    publishClusterOffline('ssrf-1', {});
    for (const target of ['loopback-ip', 'loopback-name', 'metadata']) {
      const seen = await eventually(
        `the refusal of ${target}`,
        async () =>
          (await hub.api().get(`/api/v1/notifications/deliveries?target=${target}`)).body as {
            items: { lastError: string | null }[];
          },
        (b) => b.items.some((d) => d.lastError !== null),
      );
      expect(seen.items[0]?.lastError).toMatch(/loopback\/private address: refused/);
    }
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('notifications from the whole pipeline: Git, the hub and agents', () => {
  let hub: TestHub;
  let git: GitServer;
  const agents: RunningAgent[] = [];
  beforeAll(async () => {
    hub = await startTestHub({
      heartbeatInterval: '300ms',
      env: { FLOTILLA_SECRET_KEY: secretKey, FLOTILLA_NOTIFICATIONS_ALLOW_PRIVATE: 'true' },
    });
    git = await startGitServer();
    agents.push(
      await startSimulatedAgent(hub, 'pipe-canary', { ring: 'canary' }),
      await startSimulatedAgent(hub, 'pipe-main-1', { ring: 'main' }),
      await startSimulatedAgent(hub, 'pipe-main-2', { ring: 'main' }),
    );
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await git?.stop();
    await hub?.stop();
  });

  it('a commit sets pending, then success once every cluster is Ready, per bundle; Slack hears of the staged rollout', async () => {
    const forge = await startReceiver(0, 201);
    const slack = await startReceiver();
    await hub
      .api()
      .post('/api/v1/notifications/targets')
      .send({ name: 'forge', type: 'github', url: `${forge.url}/api/v3`, allowHttp: true })
      .expect(201);
    await hub
      .api()
      .post('/api/v1/notifications/targets')
      .send({
        name: 'chat',
        type: 'slack',
        url: `${slack.url}/services/T1/B1/PIPE`,
        allowHttp: true,
      })
      .expect(201);
    await hub
      .api()
      .post('/api/v1/notifications/rules')
      .send({ name: 'status', targets: ['forge'], gitrepos: ['shop'] })
      .expect(201);
    await hub
      .api()
      .post('/api/v1/notifications/rules')
      .send({
        name: 'rollouts',
        targets: ['chat'],
        kinds: ['RolloutStarted', 'RolloutStageDone', 'RolloutSucceeded'],
      })
      .expect(201);

    // `web` goes to every cluster at once; `api` rolls out canary first (fleet.yaml).
    const repo = await git.createRepo('acme/shop', {
      'web/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {v: "1"}\n',
      'api/app.yaml': appDeployment('1'),
      'api/fleet.yaml': ringStrategy({ canaryBake: '1s' }),
    });
    await hub
      .api()
      .post('/api/v1/gitrepos')
      .send({
        name: 'shop',
        url: repo.url,
        pollingInterval: '0',
        auth: { token: 'ghp_pipelinetoken' },
        targets: [{ clusterSelector: '' }],
      })
      .expect(201);

    type Status = { state: string; context: string; path: string; auth: unknown };
    const statuses = (): Status[] =>
      forge.requests.map((r) => ({
        ...(JSON.parse(r.body) as { state: string; context: string }),
        path: r.path,
        auth: r.headers.authorization,
      }));
    await eventually(
      'success for both bundles',
      () => statuses(),
      (s) =>
        ['flotilla/shop/web', 'flotilla/shop/api'].every((c) =>
          s.some((x) => x.context === c && x.state === 'success'),
        ),
    );
    // Slack heard the staged rollout of `api`: started, the canary stage done, succeeded.
    const texts = await eventually(
      'the rollout messages',
      () => slack.requests.map((r) => (JSON.parse(r.body) as { text: string }).text),
      (t) => t.some((x) => x.includes('RolloutSucceeded')),
    );
    expect(texts.some((x) => x.includes('RolloutStarted') && x.includes('shop/api'))).toBe(true);
    expect(texts.some((x) => x.includes('RolloutStageDone') && x.includes('canary'))).toBe(true);
    expect(texts.every((x) => x.includes('shop/api'))).toBe(true);
    // Everything the forge is owed has been sent.
    await eventually(
      'every commit status delivered',
      async () =>
        (await hub.api().get('/api/v1/notifications/deliveries?target=forge')).body as {
          items: { state: string }[];
        },
      (b) => b.items.length > 0 && b.items.every((d) => d.state === 'Delivered'),
    );

    // Every cluster is Ready at the commit the statuses name.
    let commit: string | undefined;
    for (const name of ['shop/web', 'shop/api']) {
      const view = (
        await hub
          .api()
          .get(`/api/v1/bundles/${encodeURIComponent(name)}`)
          .expect(200)
      ).body as { commit: string; deployments: { state: string; commit: string }[] };
      commit = view.commit;
      expect(view.deployments).toHaveLength(3);
      expect(view.deployments.every((d) => d.state === 'Ready' && d.commit === commit)).toBe(true);
    }
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    for (const context of ['flotilla/shop/web', 'flotilla/shop/api']) {
      const states = statuses()
        .filter((x) => x.context === context)
        .map((x) => x.state);
      // pending first; once success, never pending again; never a failure.
      expect(states[0]).toBe('pending');
      const firstSuccess = states.indexOf('success');
      expect(firstSuccess).toBeGreaterThan(0);
      expect(states.slice(firstSuccess).every((st) => st === 'success')).toBe(true);
      expect(states).not.toContain('failure');
    }
    for (const x of statuses()) {
      expect(x.path).toBe(`/api/v3/repos/acme/shop/statuses/${commit}`);
      expect(x.auth).toBe('Bearer ghp_pipelinetoken');
    }
  });

  it('a commit whose rollout fails and is rolled back ends in failure, never back to pending', async () => {
    const forge = await startReceiver(0, 201);
    // The first test's receiver is gone: a new target and rule take over.
    await hub.api().delete('/api/v1/notifications/targets/forge').expect(204);
    await hub
      .api()
      .post('/api/v1/notifications/targets')
      .send({ name: 'forge2', type: 'github', url: `${forge.url}/api/v3`, allowHttp: true })
      .expect(201);
    await hub
      .api()
      .post('/api/v1/notifications/rules')
      .send({ name: 'status2', targets: ['forge2'], gitrepos: ['shop'] })
      .expect(201);
    const head = await git.commit('acme/shop', {
      'api/app.yaml': appDeployment('2', { outcome: 'fail', readyAfter: '0s' }),
    });
    await hub.api().post('/api/v1/gitrepos/shop/sync').expect(202);
    const forHead = () =>
      forge.requests
        .filter((r) => r.path === `/api/v3/repos/acme/shop/statuses/${head}`)
        .map((r) => JSON.parse(r.body) as { state: string; context: string });
    await eventually(
      'the rollout rolled back',
      async () =>
        (await hub.api().get('/api/v1/rollouts?bundle=shop%2Fapi').expect(200)).body as {
          items: { state: string; toCommit: string }[];
        },
      (b) => b.items.some((r) => r.toCommit === head && r.state === 'RolledBack'),
    );
    await eventually(
      'failure for shop/api and success for shop/web at the new commit',
      () => forHead(),
      (s) =>
        s.some((x) => x.context === 'flotilla/shop/api' && x.state === 'failure') &&
        s.some((x) => x.context === 'flotilla/shop/web' && x.state === 'success'),
    );
    await eventually(
      'every commit status delivered',
      async () =>
        (await hub.api().get('/api/v1/notifications/deliveries?target=forge2')).body as {
          items: { state: string }[];
        },
      (b) => b.items.every((d) => d.state === 'Delivered'),
    );
    const api = forHead()
      .filter((x) => x.context === 'flotilla/shop/api')
      .map((x) => x.state);
    expect(api[0]).toBe('pending');
    const firstFailure = api.indexOf('failure');
    expect(firstFailure).toBeGreaterThan(0);
    expect(api.slice(firstFailure).every((st) => st === 'failure')).toBe(true);
  });
});

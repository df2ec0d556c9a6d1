import { createHmac, randomUUID } from 'node:crypto';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubjects } from '../../libs/contracts/index.js';
import {
  eventually,
  startGitServer,
  testNatsUrl,
  type GitServer,
} from '../../libs/testing/index.js';
import { startTestHub, type TestHub } from '../support/hub.js';

// Push webhooks as an attacker on the network sees them: every well-formed delivery gets the same
// answer, whatever GitRepos exist, and a captured delivery replayed later is acted on once.

const SECRET = 'hook-secret-0123456789';

let hub: TestHub;
let git: GitServer;
let nc: NatsConnection;
/** The URL of the GitRepo `hooked`, whose webhook secret is SECRET. */
let hookedUrl: string;
/** SyncRequested events the hub published per GitRepo, in order. */
const syncRequests = new Map<string, string[]>();
const subscriptions: Subscription[] = [];

beforeAll(async () => {
  [hub, git] = await Promise.all([startTestHub(), startGitServer()]);
  nc = await connect({ servers: testNatsUrl() });
  const subjects = createSubjects(hub.config.subjectPrefix);
  for (const name of ['hooked', 'control']) {
    syncRequests.set(name, []);
    const sub = nc.subscribe(subjects.event('gitrepo', name));
    subscriptions.push(sub);
    void (async () => {
      for await (const msg of sub) {
        const event = msg.json<{ type: string; at?: string }>();
        if (event.type === 'SyncRequested') syncRequests.get(name)!.push(event.at ?? '');
      }
    })();
  }
  await nc.flush();
  const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: b}\n';
  const [hooked, control] = await Promise.all([
    git.createRepo('hooked', { 'app/cm.yaml': cm }),
    git.createRepo('control', { 'app/cm.yaml': cm }),
  ]);
  hookedUrl = hooked.url;
  const api = hub.api();
  for (const [name, url] of [
    ['hooked', hooked.url],
    ['control', control.url],
  ] as const) {
    await api
      .post('/api/v1/gitrepos')
      .send({ name, url, pollingInterval: '0', webhookSecret: SECRET })
      .expect(201);
  }
});
afterAll(async () => {
  for (const sub of subscriptions) sub.unsubscribe();
  await nc?.close();
  await hub?.stop();
  await git?.stop();
});

/** A GitHub push body naming `url` as the repository. */
const pushBody = (url: string, after = randomUUID()) =>
  JSON.stringify({ ref: 'refs/heads/main', after, repository: { clone_url: url } });

const sign = (body: string, secret = SECRET) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** Delivers a GitHub push without an API token, as GitHub (or anyone) does. */
function deliver(body: string, headers: Record<string, string> = {}) {
  let req = hub
    .api(null)
    .post('/api/v1/webhooks/git')
    .set('Content-Type', 'application/json')
    .set('X-GitHub-Event', 'push');
  for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
  return req.send(body);
}

/**
 * Delivers a signed push for `control` and waits for its SyncRequested: the hub handles one
 * delivery after another and publishes on one connection, so whatever an earlier delivery made
 * it publish has arrived by then.
 */
async function barrier(): Promise<void> {
  const seen = syncRequests.get('control')!.length;
  const body = pushBody(`${git.url}/control.git`);
  await deliver(body, { 'X-Hub-Signature-256': sign(body) }).expect(202);
  await eventually(
    'the control delivery was acted on',
    () => syncRequests.get('control')!.length,
    (n) => n > seen,
  );
}

describe('webhooks tell unauthenticated callers nothing about GitRepos', () => {
  it('a push for no GitRepo, one with a bad or missing signature, and an accepted one get the same answer, with no GitRepo names', async () => {
    const before = syncRequests.get('hooked')!.length;
    const nothing = pushBody('https://git.example.invalid/nobody/nothing.git');
    const forged = pushBody(hookedUrl);
    const unsigned = pushBody(hookedUrl);
    const genuine = pushBody(hookedUrl);
    const answers = [
      await deliver(nothing, { 'X-Hub-Signature-256': sign(nothing) }),
      await deliver(forged, { 'X-Hub-Signature-256': sign(forged, 'guessed') }),
      await deliver(unsigned),
    ];
    await barrier();
    // Neither the forged nor the unsigned push made the hub sync `hooked`.
    expect(syncRequests.get('hooked')!.length).toBe(before);

    answers.push(await deliver(genuine, { 'X-Hub-Signature-256': sign(genuine) }));
    await eventually(
      'the genuine push was acted on',
      () => syncRequests.get('hooked')!.length,
      (n) => n === before + 1,
    );
    for (const res of answers) {
      expect({ status: res.status, body: res.body }).toEqual({
        status: 202,
        body: { received: true },
      });
      expect(res.text).not.toMatch(/hooked|control/);
    }
  });

  it('what the request itself gets wrong is still a 400, the same whatever GitRepos exist', async () => {
    const res = await hub
      .api(null)
      .post('/api/v1/webhooks/git')
      .set('Content-Type', 'application/json')
      .send(pushBody(hookedUrl))
      .expect(400);
    expect(res.body.message).toMatch(/unknown webhook provider/);
    expect(res.text).not.toMatch(/hooked/);
  });
});

describe('a replayed webhook delivery is acted on once', () => {
  it('the same delivery again, and the same signed body under a new delivery id, are ignored', async () => {
    const before = syncRequests.get('hooked')!.length;
    const body = pushBody(hookedUrl);
    const headers = { 'X-Hub-Signature-256': sign(body), 'X-GitHub-Delivery': randomUUID() };
    expect((await deliver(body, headers).expect(202)).body).toEqual({ received: true });
    await eventually(
      'the first delivery was acted on',
      () => syncRequests.get('hooked')!.length,
      (n) => n === before + 1,
    );

    // Captured and replayed: verbatim, and with a fresh delivery id.
    expect((await deliver(body, headers).expect(202)).body).toEqual({ received: true });
    await deliver(body, { ...headers, 'X-GitHub-Delivery': randomUUID() }).expect(202);
    await barrier();
    expect(syncRequests.get('hooked')!.length).toBe(before + 1);

    // A new push is acted on as before.
    const next = pushBody(hookedUrl);
    await deliver(next, {
      'X-Hub-Signature-256': sign(next),
      'X-GitHub-Delivery': randomUUID(),
    }).expect(202);
    await eventually(
      'the next push was acted on',
      () => syncRequests.get('hooked')!.length,
      (n) => n === before + 2,
    );
  });

  it('a forged delivery cannot use up a genuine delivery id', async () => {
    const before = syncRequests.get('hooked')!.length;
    const id = randomUUID();
    const body = pushBody(hookedUrl);
    await deliver(body, {
      'X-Hub-Signature-256': sign(body, 'guessed'),
      'X-GitHub-Delivery': id,
    }).expect(202);
    await deliver(body, { 'X-Hub-Signature-256': sign(body), 'X-GitHub-Delivery': id }).expect(202);
    await eventually(
      'the genuine delivery was acted on',
      () => syncRequests.get('hooked')!.length,
      (n) => n === before + 1,
    );
  });
});

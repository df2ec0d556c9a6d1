import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agents/agent/agent.js';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import { type GitServer, eventually, startGitServer } from '../../libs/testing/index.js';
import { fleetClient } from '../support/grpc.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const deployment = (name: string, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  annotations:
    sim.flotilla.dev/ready-after: 200ms${extra}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: ${name}, image: nginx}]}
`;
const configMap = (name: string, value: string) => `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}}
data: {value: "${value}"}
`;

const clusters = {
  'eu-1': { env: 'prod', region: 'eu' },
  'eu-2': { env: 'prod', region: 'eu' },
  'us-1': { env: 'prod', region: 'us' },
};

let hub: TestHub;
let git: GitServer;
let api: ReturnType<TestHub['api']>;
const agents = new Map<string, RunningAgent>();
const tokens = new Map<string, string>();
const stateDirs = new Map<string, string>();
let repoFileUrl: string;

function startClusterAgent(name: string): Promise<RunningAgent> {
  return startAgent({
    hubUrl: hub.httpUrl,
    token: tokens.get(name)!,
    driver: new SimulatedCluster(),
    stateDir: stateDirs.get(name)!,
    heartbeatIntervalMs: 300,
    logger: pino({ level: 'silent' }),
  });
}

async function gitrepo(name = 'demo') {
  return (await api.get(`/api/v1/gitrepos/${name}`).expect(200)).body;
}
async function bundle(name: string) {
  return (await api.get(`/api/v1/bundles/${encodeURIComponent(name)}`).expect(200)).body;
}
/** Every deployment of the bundle is Ready at `commit`, on exactly `clusters`. */
async function readyAt(name: string, commit: string, on: string[]) {
  return eventually(
    `${name} Ready at ${commit.slice(0, 8)} on ${on.join(',')}`,
    () => bundle(name),
    (b) =>
      b.commit === commit &&
      b.deployments.map((d: any) => d.cluster).join(',') === on.join(',') &&
      b.deployments.every(
        (d: any) =>
          d.state === 'Ready' && d.commit === commit && d.appliedRevision === d.desiredRevision,
      ),
  );
}

beforeAll(async () => {
  // Agents beat every 300 ms against the hub's default 5 s interval (a 15 s lease): no test here
  // is about liveness, and a short lease made a loaded machine show clusters Offline.
  hub = await startTestHub();
  api = hub.api();
  git = await startGitServer();
  const repo = await git.createRepo('fleet', {
    'apps/web/deployment.yaml': deployment('web'),
    'apps/web/config.yaml': configMap('web-config', 'v1'),
    'apps/cache/fleet.yaml': 'targets:\n  - clusterSelector: {matchLabels: {region: eu}}\n',
    'apps/cache/cache.yaml': `${deployment('cache')}---\n${configMap('cache-config', 'v1')}`,
    'README.md': '# fleet\n',
  });
  repoFileUrl = `file://${repo.bareDir}`;
  for (const [name, labels] of Object.entries(clusters)) {
    const res = await api.post('/api/v1/clusters').send({ name, labels }).expect(201);
    tokens.set(name, res.body.token);
    stateDirs.set(name, mkdtempSync(join(tmpdir(), `flotilla-${name}-`)));
    agents.set(name, await startClusterAgent(name));
  }
});

afterAll(async () => {
  await Promise.all([...agents.values()].map((a) => a.stop()));
  await git?.stop();
  await hub?.stop();
});

describe('the GitOps pipeline: Git → hub → NATS → agents → status', () => {
  let head: string;

  it('every deployment is Ready at HEAD after registering the repo', async () => {
    await api
      .post('/api/v1/gitrepos')
      .send({
        name: 'demo',
        url: repoFileUrl,
        branch: 'main',
        paths: ['apps'],
        pollingInterval: '0',
        targets: [{ clusterSelector: 'env=prod' }],
      })
      .expect(201);
    const repo = await eventually('demo synced', gitrepo, (r) => r.status.commit !== null);
    head = repo.status.commit;
    expect(repo.status.bundles).toEqual(['demo/cache', 'demo/web']);
    await readyAt('demo/web', head, ['eu-1', 'eu-2', 'us-1']);
    await readyAt('demo/cache', head, ['eu-1', 'eu-2']);

    // Summaries come from counts computed at most once a second: poll until they catch up.
    const { summary } = (
      await eventually('demo summary counts 5 Ready', gitrepo, (r) => r.status.summary.ready === 5)
    ).status;
    expect(summary).toEqual({
      desired: 5,
      ready: 5,
      byState: { Ready: 5 },
      computedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    });
    const cluster = (await api.get('/api/v1/clusters/eu-1').expect(200)).body;
    expect(cluster.deployments.map((d: any) => [d.bundle, d.state, d.commit])).toEqual([
      ['demo/cache', 'Ready', head],
      ['demo/web', 'Ready', head],
    ]);
    const status = await eventually(
      'status counts 5 Ready',
      async () => (await api.get('/api/v1/status').expect(200)).body,
      (s) => s.deployments.byState.Ready === 5 && s.nonReady.length === 0,
    );
    expect(status.deployments).toEqual({ total: 5, byState: { Ready: 5 } });
    expect(status.nonReady).toEqual([]);
    expect(Date.parse(status.computedAt)).not.toBeNaN();
  });

  it('gRPC carries deployment counts, and WatchFleetStatus streams deployment changes', async () => {
    const fleet = fleetClient(hub.grpcAddress!, hub.adminToken);
    try {
      const status = await fleet.call<any>('GetFleetStatus', {});
      expect(status.deployments).toEqual({ total: 5, byState: { Ready: 5 } });
      expect(status.nonReady).toEqual([]);
      const events: any[] = [];
      const stream = fleet.client.WatchFleetStatus!({}, fleet.auth());
      stream.on('data', (e: any) => events.push(e));
      stream.on('error', () => undefined);
      await expect.poll(() => events.length).toBeGreaterThanOrEqual(1);
      head = await git.commit('fleet', { 'apps/web/config.yaml': configMap('web-config', 'v1.1') });
      await api.post('/api/v1/gitrepos/demo/sync').expect(202);
      await readyAt('demo/web', head, ['eu-1', 'eu-2', 'us-1']);
      const webReady = () =>
        events.filter(
          (e) =>
            e.type === 'DeploymentChanged' &&
            e.deployment.bundle === 'demo/web' &&
            e.deployment.state === 'Ready',
        );
      await expect.poll(() => new Set(webReady().map((e) => e.deployment.cluster)).size).toBe(3);
      expect(webReady().at(-1).status.deployments.total).toBe(5);
      stream.cancel();
    } finally {
      fleet.client.close();
    }
  });

  it('clusters that share a variant share one revision, stored once', async () => {
    const web = await bundle('demo/web');
    expect(new Set(web.deployments.map((d: any) => d.desiredRevision)).size).toBe(1);
    expect(web.revisions).toHaveLength(1);
  });

  it('a new commit is Ready everywhere after a sync', async () => {
    head = await git.commit('fleet', { 'apps/web/config.yaml': configMap('web-config', 'v2') });
    await api.post('/api/v1/gitrepos/demo/sync').expect(202);
    await readyAt('demo/web', head, ['eu-1', 'eu-2', 'us-1']);
    // The cache bundle did not change, but it is resolved at the new commit too.
    await readyAt('demo/cache', head, ['eu-1', 'eu-2']);
  });

  it('malformed YAML in one bundle keeps it at its last good commit with the error, while the other deploys', async () => {
    const good = head;
    head = await git.commit('fleet', {
      'apps/cache/cache.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken\n',
      'apps/web/config.yaml': configMap('web-config', 'v3'),
    });
    await api.post('/api/v1/gitrepos/demo/sync').expect(202);
    await readyAt('demo/web', head, ['eu-1', 'eu-2', 'us-1']);
    const repo = await eventually(
      'bundle error reported',
      gitrepo,
      (r) => r.status.bundleErrors.length === 1,
    );
    expect(repo.status.commit).toBe(head);
    expect(repo.status.bundleErrors[0]).toMatchObject({ bundle: 'demo/cache', commit: head });
    expect(repo.status.bundleErrors[0].message).toMatch(/cache\.yaml/);
    const cache = await bundle('demo/cache');
    expect(cache.commit).toBe(good);
    expect(cache.error).toMatch(/cache\.yaml/);
    expect(cache.deployments.every((d: any) => d.state === 'Ready' && d.commit === good)).toBe(
      true,
    );

    head = await git.commit('fleet', {
      'apps/cache/cache.yaml': `${deployment('cache')}---\n${configMap('cache-config', 'v4')}`,
    });
    await api.post('/api/v1/gitrepos/demo/sync').expect(202);
    await readyAt('demo/cache', head, ['eu-1', 'eu-2']);
    expect((await gitrepo()).status.bundleErrors).toEqual([]);
  });

  it('a failing workload is ErrApplied with its reason, listed among the non-ready', async () => {
    head = await git.commit('fleet', {
      'apps/web/deployment.yaml': deployment('web', '\n    sim.flotilla.dev/outcome: fail'),
    });
    await api.post('/api/v1/gitrepos/demo/sync').expect(202);
    const status = await eventually(
      'web ErrApplied everywhere',
      async () => (await api.get('/api/v1/status').expect(200)).body,
      (s) => s.deployments.byState.ErrApplied === 3,
    );
    expect(status.nonReady.map((d: any) => `${d.cluster}:${d.bundle}:${d.state}`)).toEqual([
      'eu-1:demo/web:ErrApplied',
      'eu-2:demo/web:ErrApplied',
      'us-1:demo/web:ErrApplied',
    ]);
    expect(status.nonReady[0].message).toMatch(/web/);
    head = await git.commit('fleet', { 'apps/web/deployment.yaml': deployment('web') });
    await api.post('/api/v1/gitrepos/demo/sync').expect(202);
    await readyAt('demo/web', head, ['eu-1', 'eu-2', 'us-1']);
  });

  it('relabelling a cluster out of a target removes that bundle from it', async () => {
    await api
      .patch('/api/v1/clusters/eu-2')
      .send({ labels: { env: 'prod', region: 'us' } })
      .expect(200);
    await eventually(
      'demo/cache gone from eu-2',
      () => bundle('demo/cache'),
      (b) => b.deployments.map((d: any) => d.cluster).join(',') === 'eu-1',
    );
    // The deployment row only goes once the agent reported the removal.
    await eventually(
      'eu-2 runs only demo/web',
      async () => (await api.get('/api/v1/clusters/eu-2').expect(200)).body,
      (c) => c.deployments.map((d: any) => d.bundle).join(',') === 'demo/web',
    );
  });

  it('an agent killed and started again after a commit gets that commit', async () => {
    await agents.get('us-1')!.stop();
    head = await git.commit('fleet', { 'apps/web/config.yaml': configMap('web-config', 'v5') });
    await api.post('/api/v1/gitrepos/demo/sync').expect(202);
    const whileDown = await eventually(
      'the running clusters take the commit',
      () => bundle('demo/web'),
      (b) =>
        b.deployments.filter((d: any) => d.state === 'Ready' && d.commit === head).length === 2,
    );
    const us1 = whileDown.deployments.find((d: any) => d.cluster === 'us-1');
    expect(us1.state).toBe('Pending');
    expect(us1.appliedRevision).not.toBe(us1.desiredRevision);
    agents.set('us-1', await startClusterAgent('us-1'));
    await readyAt('demo/web', head, ['eu-1', 'eu-2', 'us-1']);
  });

  it('a bundle removed from Git is deleted from every cluster', async () => {
    head = await git.commit('fleet', {
      'apps/cache/cache.yaml': null,
      'apps/cache/fleet.yaml': null,
    });
    await api.post('/api/v1/gitrepos/demo/sync').expect(202);
    await eventually(
      'demo/cache gone',
      gitrepo,
      (r) => r.status.commit === head && !r.status.bundles.includes('demo/cache'),
    );
    await api.get(`/api/v1/bundles/${encodeURIComponent('demo/cache')}`).expect(404);
    await eventually(
      'no cache deployments left',
      async () => (await api.get('/api/v1/clusters/eu-1').expect(200)).body,
      (c) => c.deployments.map((d: any) => d.bundle).join(',') === 'demo/web',
    );
  });
});

describe('GitRepos over smart HTTP and webhooks', () => {
  it('a push webhook signed with the secret syncs the repo at once; a bad signature does not', async () => {
    const repo = await git.createRepo('hooked', { 'web/cm.yaml': configMap('hooked', 'a') });
    await api
      .post('/api/v1/gitrepos')
      .send({
        name: 'hooked',
        url: repo.url,
        paths: ['web'],
        pollingInterval: '0',
        webhookSecret: 's3cret-s3cret',
        targets: [{ clusterName: 'eu-1' }],
      })
      .expect(201);
    const first = await eventually(
      'hooked synced',
      () => gitrepo('hooked'),
      (r) => r.status.commit !== null,
    );
    const next = await git.commit('hooked', { 'web/cm.yaml': configMap('hooked', 'b') });
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      after: next,
      repository: { clone_url: repo.url, html_url: repo.url },
    });
    const sign = (secret: string) =>
      `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const send = (signature: string) =>
      api
        .post('/api/v1/webhooks/git')
        .set('Content-Type', 'application/json')
        .set('X-GitHub-Event', 'push')
        .set('X-Hub-Signature-256', signature)
        .send(body);

    // Refused or accepted, the sender gets the same answer (test/e2e/webhooks.e2e.spec.ts).
    const refused = await send(sign('wrong')).expect(202);
    expect(refused.body).toEqual({ received: true });
    expect((await gitrepo('hooked')).status.commit).toBe(first.status.commit);
    const res = await send(sign('s3cret-s3cret')).expect(202);
    expect(res.body).toEqual({ received: true });
    await readyAt('hooked/web', next, ['eu-1']);
  });

  it('unreachable repos and bad URLs are reported, not crashed on', async () => {
    await api
      .post('/api/v1/gitrepos')
      .send({ name: 'gone', url: 'http://127.0.0.1:9/nothing.git', pollingInterval: '0' })
      .expect(201);
    const repo = await eventually(
      'gone has an error',
      () => gitrepo('gone'),
      (r) => r.status.error !== null,
    );
    expect(repo.status.error).toMatch(/127\.0\.0\.1:9|unreachable|ECONNREFUSED/i);
    for (const body of [
      { name: 'x1', url: 'ftp://example.com/repo.git' },
      { name: 'x2', url: 'not a url' },
      { name: 'x3', url: 'https://user:pw@example.com/r.git' },
      { name: 'x4', url: 'https://example.com/r.git', paths: ['../etc'] },
      {
        name: 'x5',
        url: 'https://example.com/r.git',
        targets: [{ clusterSelector: 'env in prod' }],
      },
      { name: 'x6', url: 'https://example.com/r.git', pollingInterval: 'often' },
    ]) {
      const res = await api.post('/api/v1/gitrepos').send(body).expect(400);
      expect(res.body.message).toEqual(expect.any(String));
    }
    await api
      .post('/api/v1/gitrepos')
      .send({ name: 'gone', url: 'https://example.com/r.git' })
      .expect(409);
    const listed = (await api.get('/api/v1/gitrepos').expect(200)).body;
    expect(JSON.stringify(listed)).not.toContain('s3cret');
  });
});

describe('dependsOn', () => {
  it('a bundle reaches a cluster only after its dependencies are Ready there, and shows why it waits', async () => {
    const repo = await git.createRepo('deps', {
      'base/fleet.yaml': `customizations:
  - name: slow-us
    clusterSelector: {matchLabels: {region: us}}
    patches:
      - target: {kind: Deployment, name: base}
        merge: {metadata: {annotations: {sim.flotilla.dev/outcome: never-ready}}}
`,
      'base/base.yaml': deployment('base').replace('200ms', '1s'),
      'app/fleet.yaml': 'dependsOn:\n  - name: base\n',
      'app/app.yaml': configMap('app', 'x'),
    });
    await api
      .post('/api/v1/gitrepos')
      .send({
        name: 'deps',
        url: repo.url,
        pollingInterval: '0',
        targets: [{ clusterSelector: '' }],
      })
      .expect(201);
    let violations = 0;
    const probe = async () => {
      const [base, app] = await Promise.all([bundle('deps/base'), bundle('deps/app')]);
      for (const d of app.deployments) {
        const b = base.deployments.find((x: any) => x.cluster === d.cluster);
        if (d.desiredRevision && b?.state !== 'Ready') violations += 1;
      }
      return app;
    };
    const app = await eventually(
      'deps/app Ready on eu-1, waiting elsewhere',
      probe,
      (a) => a.deployments.some((d: any) => d.cluster === 'eu-1' && d.state === 'Ready'),
      { intervalMs: 20 },
    );
    expect(violations).toBe(0);
    const held = app.deployments.filter((d: any) => d.cluster !== 'eu-1');
    expect(held.map((d: any) => [d.cluster, d.state, d.message])).toEqual([
      ['eu-2', 'OutOfSync', 'waiting for deps/base to be Ready on this cluster'],
      ['us-1', 'OutOfSync', 'waiting for deps/base to be Ready on this cluster'],
    ]);
    const deps = await eventually(
      'deps summary counts the held deployments',
      () => gitrepo('deps'),
      (r) => r.status.summary.byState.OutOfSync === 2,
    );
    expect(deps.status.summary.byState).toMatchObject({ OutOfSync: 2, NotReady: 2 });
  });
});

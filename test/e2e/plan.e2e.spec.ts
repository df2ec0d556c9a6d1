import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agents/agent/agent.js';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import { type GitServer, eventually, startGitServer } from '../../libs/testing/index.js';
import { runCli } from '../support/cli.js';
import { fleetClient } from '../support/grpc.js';
import { issueRoleTokens, startTestHub, type TestHub, waitForBundleReady } from '../support/hub.js';

// Plans: what a commit would change on which clusters, computed exactly as a sync renders,
// deploying nothing (REST, CLI, gRPC).

const cm = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {v: "${value}"}\n`;
const SECRET =
  'apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\ndata: {password: aHVudGVyMg==}\n';
/** Three variants (eu, us, ap), each patching the ConfigMap with its own region. */
const fleet = (eu: string, euTarget = 'shop') =>
  [
    'customizations:',
    ...[
      ['eu', eu, euTarget],
      ['us', 'us', 'shop'],
      ['ap', 'ap', 'shop'],
    ].flatMap(([name, region, target]) => [
      `  - name: ${name}`,
      `    clusterSelector: {matchLabels: {region: ${name}}}`,
      '    patches:',
      `      - target: {kind: ConfigMap, name: ${target}}`,
      `        merge: {data: {region: ${region}}}`,
    ]),
    'rolloutStrategy:',
    '  stages:',
    '    - name: canary',
    '      clusterSelector: {matchLabels: {ring: canary}}',
    '    - name: rest',
    '',
  ].join('\n');

let hub: TestHub;
let git: GitServer;
let api: ReturnType<TestHub['api']>;
let db: pg.Client;
const agents: RunningAgent[] = [];
const drivers = new Map<string, SimulatedCluster>();
const tokens: Record<string, string> = {};
let deployed: string;
let changeOneVariant: string;
const flotilla = (...args: string[]) =>
  runCli([...args, '--server', hub.httpUrl], { FLOTILLA_TOKEN: tokens.operator });

/** Everything that says what clusters run: desired state, targets, stored revisions, agents. */
async function desiredState() {
  const q = async (sql: string) => (await db.query(sql)).rows as unknown[];
  return {
    deployments: await q(
      'SELECT bundle, cluster, desired_revision, desired_commit FROM deployments ORDER BY 1, 2',
    ),
    targets: await q('SELECT bundle, cluster, revision, commit FROM bundle_targets ORDER BY 1, 2'),
    revisions: await q('SELECT id FROM bundle_revisions ORDER BY 1'),
    renders: await q('SELECT bundle, commit, variant_key FROM variant_renders ORDER BY 1, 2, 3'),
    bundles: await q('SELECT name, commit, error FROM bundles ORDER BY 1'),
    gitrepo: await q('SELECT commit FROM gitrepos'),
    agents: Object.fromEntries(
      [...drivers].map(([name, d]) => [
        name,
        d.liveKeys().map((k) => [k, (d.liveObject(k) as { data?: unknown }).data]),
      ]),
    ),
  };
}

beforeAll(async () => {
  hub = await startTestHub({ heartbeatInterval: '300ms' });
  api = hub.api();
  git = await startGitServer();
  db = new pg.Client({ connectionString: hub.config.databaseUrl });
  await db.connect();
  await issueRoleTokens(api, tokens);
  const clusters = {
    'c-eu': { region: 'eu', ring: 'canary' },
    'c-us': { region: 'us' },
    'c-ap': { region: 'ap' },
  };
  for (const [name, labels] of Object.entries(clusters)) {
    const res = await api.post('/api/v1/clusters').send({ name, labels }).expect(201);
    const driver = new SimulatedCluster();
    drivers.set(name, driver);
    agents.push(
      await startAgent({
        hubUrl: hub.httpUrl,
        token: res.body.token,
        driver,
        stateDir: mkdtempSync(join(tmpdir(), `flotilla-${name}-`)),
        heartbeatIntervalMs: 300,
        logger: pino({ level: 'silent' }),
      }),
    );
  }
  await git.createRepo('shop', {
    'apps/shop/fleet.yaml': fleet('eu'),
    'apps/shop/cm.yaml': cm('shop', '1'),
    'apps/shop/secret.yaml': SECRET,
    'apps/base/cm.yaml': cm('base', '1'),
  });
  await api
    .post('/api/v1/gitrepos')
    .send({
      name: 'shop',
      url: `${git.url}/shop.git`,
      paths: ['apps'],
      pollingInterval: '0',
      targets: [{ clusterName: 'c-eu' }, { clusterName: 'c-us' }, { clusterName: 'c-ap' }],
    })
    .expect(201);
  await waitForBundleReady(api, 'shop/shop', 3);
  deployed = (await api.get('/api/v1/gitrepos/shop').expect(200)).body.status.commit;
  // The candidate: only the eu variant changes (its region value), and the Secret's password.
  changeOneVariant = await git.commit(
    'shop',
    {
      'apps/shop/fleet.yaml': fleet('eu-west'),
      'apps/shop/secret.yaml': SECRET.replace('aHVudGVyMg==', 'c2VjcmV0'),
    },
    'eu moves west',
    { branch: 'feature' },
  );
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await db?.end();
  await git?.stop();
  await hub?.stop();
});

describe('POST /api/v1/gitrepos/{name}/plan', () => {
  it('a commit that changes one variant of three lists exactly its clusters and objects, and deploys nothing', async () => {
    const before = await desiredState();
    const res = await hub
      .api(tokens.operator)
      .post('/api/v1/gitrepos/shop/plan')
      .send({ revision: changeOneVariant })
      .expect(200);
    const plan = res.body;
    expect(plan).toMatchObject({
      gitrepo: 'shop',
      commit: changeOneVariant,
      deployedCommit: deployed,
      revision: changeOneVariant,
      trigger: 'api',
      problems: [],
    });
    expect(plan.bundles.map((b: { name: string; change: string }) => [b.name, b.change])).toEqual([
      ['shop/base', 'unchanged'],
      ['shop/shop', 'changed'],
    ]);
    const shop = plan.bundles[1];
    // The Secret changes on every cluster (the same in every variant); the ConfigMap on c-eu only.
    const changes = shop.variants.flatMap(
      (v: {
        customizations: string[];
        changes: { clusters: string[]; changed: { kind: string; name: string; diff: string }[] }[];
      }) =>
        v.changes.map((c) => ({
          variant: v.customizations.join(','),
          clusters: c.clusters,
          changed: c.changed.map((o) => `${o.kind}/${o.name}`),
        })),
    );
    changes.sort((x: { variant: string }, y: { variant: string }) =>
      x.variant < y.variant ? -1 : 1,
    );
    expect(changes).toEqual([
      { variant: 'ap', clusters: ['c-ap'], changed: ['Secret/creds'] },
      { variant: 'eu', clusters: ['c-eu'], changed: ['ConfigMap/shop', 'Secret/creds'] },
      { variant: 'us', clusters: ['c-us'], changed: ['Secret/creds'] },
    ]);
    const eu = shop.variants.find(
      (v: { customizations: string[] }) => v.customizations[0] === 'eu',
    );
    const euCm = eu.changes[0].changed.find((o: { kind: string }) => o.kind === 'ConfigMap');
    expect(euCm.diff).toContain('-  region: eu\n+  region: eu-west');
    const euSecret = eu.changes[0].changed.find((o: { kind: string }) => o.kind === 'Secret');
    expect(euSecret.diff).toContain('+  password: <masked:after>');
    expect(JSON.stringify(plan)).not.toContain('aHVudGVyMg==');
    expect(JSON.stringify(plan)).not.toContain('c2VjcmV0');
    expect(shop.blastRadius).toMatchObject({
      clusters: 3,
      objects: { added: 0, changed: 2, removed: 0 },
      stages: [
        { name: 'canary', clusters: ['c-eu'], objectChanges: 2 },
        { name: 'rest', clusters: ['c-ap', 'c-us'], objectChanges: 2 },
      ],
      held: [],
    });
    expect(plan.summary.text).toBe('+0 ~2 -0 objects on 3 clusters in 2 stages');
    expect(await desiredState()).toEqual(before);
  });

  it('a broken commit shows the render error and deploys nothing', async () => {
    const broken = await git.commit(
      'shop',
      { 'apps/shop/fleet.yaml': fleet('eu', 'missing') },
      'eu patches an object that does not exist',
      { branch: 'broken' },
    );
    const before = await desiredState();
    const plan = (
      await hub
        .api(tokens.operator)
        .post('/api/v1/gitrepos/shop/plan')
        .send({ branch: 'broken' })
        .expect(200)
    ).body;
    expect(plan).toMatchObject({ commit: broken, branch: 'broken' });
    const shop = plan.bundles.find((b: { name: string }) => b.name === 'shop/shop');
    expect(shop.error).toMatch(/variant .*eu.*matches no object/s);
    const eu = shop.variants.find(
      (v: { customizations: string[] }) => v.customizations[0] === 'eu',
    );
    expect(eu).toMatchObject({ revision: null, changes: [] });
    expect(eu.error).toMatch(/matches no object/);
    expect(plan.summary.bundles.errors).toBe(1);
    expect(await desiredState()).toEqual(before);
  });

  it('without revision or branch, plans the head of the GitRepo branch: nothing new yet', async () => {
    const plan = (await hub.api(tokens.operator).post('/api/v1/gitrepos/shop/plan').expect(200))
      .body;
    expect(plan).toMatchObject({ commit: deployed, branch: 'main' });
    expect(plan.summary.text).toBe('+0 ~0 -0 objects on 0 clusters in 0 stages');
    expect(plan.bundles.every((b: { change: string }) => b.change === 'unchanged')).toBe(true);
  });

  it('the stored plan is read back by id and by commit, with the viewer role', async () => {
    const made = (
      await hub
        .api(tokens.operator)
        .post('/api/v1/gitrepos/shop/plan')
        .send({ revision: changeOneVariant })
        .expect(200)
    ).body;
    const viewer = hub.api(tokens.viewer);
    expect((await viewer.get(`/api/v1/plans/${made.id}`).expect(200)).body).toEqual(made);
    expect((await viewer.get(`/api/v1/plans/${changeOneVariant}`).expect(200)).body.id).toBe(
      made.id,
    );
    await viewer.get('/api/v1/plans/00000000-0000-0000-0000-000000000000').expect(404);
    await viewer.get('/api/v1/plans/not-a-plan').expect(404);
  });

  it.each([
    ['a viewer may not plan', 'viewer', {}, 403],
    ['revision and branch together', 'operator', { revision: 'a'.repeat(40), branch: 'x' }, 400],
    ['a revision that is not a sha', 'operator', { revision: 'main' }, 400],
    ['an unknown field', 'operator', { commit: 'x' }, 400],
    ['an unknown branch', 'operator', { branch: 'nope' }, 404],
    ['an unknown commit', 'operator', { revision: 'b'.repeat(40) }, 404],
  ])('%s', async (_name, role, body, status) => {
    const res = await hub.api(tokens[role]).post('/api/v1/gitrepos/shop/plan').send(body);
    expect(res.status).toBe(status);
  });

  it('an unknown GitRepo is a 404', async () => {
    await hub.api(tokens.operator).post('/api/v1/gitrepos/nope/plan').send({}).expect(404);
  });
});

describe('pull request webhooks', () => {
  it('a pull request opened against the followed branch gets a plan by commit, and nothing is deployed', async () => {
    const before = await desiredState();
    const payload = {
      action: 'opened',
      number: 5,
      pull_request: {
        number: 5,
        head: { ref: 'feature', sha: changeOneVariant },
        base: { ref: 'main', sha: deployed },
      },
      repository: { clone_url: `${git.url}/shop.git` },
    };
    await hub
      .api(null)
      .post('/api/v1/webhooks/git')
      .set('x-github-event', 'pull_request')
      .set('x-github-delivery', 'pr-5-opened')
      .send(payload)
      .expect(202);
    const plan = await eventually(
      'a plan of the pull request head made by the webhook',
      async () => (await hub.api(tokens.viewer).get(`/api/v1/plans/${changeOneVariant}`)).body,
      (p) => p.trigger === 'webhook:github',
    );
    expect(plan).toMatchObject({
      commit: changeOneVariant,
      summary: { text: '+0 ~2 -0 objects on 3 clusters in 2 stages' },
    });
    expect(await desiredState()).toEqual(before);
    expect((await api.get('/api/v1/gitrepos/shop').expect(200)).body.status.commit).toBe(deployed);
  });
});

describe('flotilla plan and gRPC PlanGitRepo', () => {
  it('the CLI prints the terse view, and -o json the whole plan', async () => {
    const text = await flotilla('plan', 'shop', '--revision', changeOneVariant);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('+0 ~2 -0 objects on 3 clusters in 2 stages');
    expect(text.stdout).toMatch(/shop\/shop\s+changed\s+\+0 ~2 -0\s+3\s+canary:1 rest:2/);
    expect(text.stdout).toContain('~ v1 ConfigMap shop');
    const json = await flotilla('plan', 'shop', '--branch', 'feature', '-o', 'json');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      commit: changeOneVariant,
      branch: 'feature',
      summary: { text: '+0 ~2 -0 objects on 3 clusters in 2 stages' },
    });
    const diff = await flotilla('plan', 'shop', '--revision', changeOneVariant, '--diff');
    expect(diff.stdout).toContain('+  region: eu-west');
  });

  it('gRPC plans as an operator and reads plans as a viewer', async () => {
    const operator = fleetClient(hub.grpcAddress!, tokens.operator);
    const viewer = fleetClient(hub.grpcAddress!, tokens.viewer);
    try {
      const plan = await operator.call<{
        id: string;
        summary: { text: string; bundlesChanged: number };
        bundles: { name: string; change: string; clusters: number }[];
        json: string;
      }>('PlanGitRepo', { name: 'shop', revision: changeOneVariant });
      expect(plan.summary).toMatchObject({
        text: '+0 ~2 -0 objects on 3 clusters in 2 stages',
        bundlesChanged: 1,
      });
      expect(plan.bundles).toContainEqual(
        expect.objectContaining({ name: 'shop/shop', change: 'changed', clusters: 3 }),
      );
      expect(JSON.parse(plan.json).bundles).toHaveLength(2);
      const read = await viewer.call<{ id: string }>('GetPlan', { id: plan.id });
      expect(read.id).toBe(plan.id);
      await expect(viewer.call('PlanGitRepo', { name: 'shop' })).rejects.toMatchObject({
        code: 7, // PERMISSION_DENIED
      });
    } finally {
      operator.client.close();
      viewer.client.close();
    }
  });
});

// Runs last: it edits c-us behind its agent's back.
describe('drift as a diff (simulated driver)', () => {
  it('an out-of-band edit shows as a field diff through REST, the CLI and gRPC, until corrected', async () => {
    const us = drivers.get('c-us')!;
    const key = us.liveKeys().find((k) => /\/ConfigMap\/[^/]*\/shop$/.test(k))!;
    us.editLiveObject(key, (o) => {
      o.data = { ...(o.data as Record<string, string>), region: 'edited' };
    });
    const cluster = await eventually(
      'c-us reports shop/shop Modified',
      async () => (await api.get('/api/v1/clusters/c-us').expect(200)).body,
      (c) =>
        c.deployments.some(
          (d: { bundle: string; state: string }) =>
            d.bundle === 'shop/shop' && d.state === 'Modified',
        ),
    );
    const shop = cluster.deployments.find((d: { bundle: string }) => d.bundle === 'shop/shop');
    expect(shop.resources).toContainEqual(
      expect.objectContaining({
        kind: 'ConfigMap',
        name: 'shop',
        state: 'Modified',
        drift: [{ path: 'data.region', desired: '"us"', live: '"edited"' }],
      }),
    );
    const cli = await flotilla('cluster', 'drift', 'c-us', '--bundle', 'shop/shop');
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('data.region:\n-  "us"\n+  "edited"\n');
    const none = await flotilla('cluster', 'drift', 'c-eu');
    expect(none.stdout).toBe('No drift on cluster c-eu.\n');
    const fleet = fleetClient(hub.grpcAddress!, tokens.viewer);
    try {
      expect(await fleet.call('GetClusterDrift', { cluster: 'c-us' })).toEqual({
        cluster: 'c-us',
        objects: [
          expect.objectContaining({
            bundle: 'shop/shop',
            kind: 'ConfigMap',
            name: 'shop',
            fields: [
              { path: 'data.region', desired: '"us"', live: '"edited"', liveMissing: false },
            ],
          }),
        ],
      });
      expect(await fleet.call('GetClusterDrift', { cluster: 'c-eu' })).toEqual({
        cluster: 'c-eu',
        objects: [],
      });
    } finally {
      fleet.client.close();
    }
    // Corrected by hand: the drift disappears.
    us.editLiveObject(key, (o) => {
      o.data = { ...(o.data as Record<string, string>), region: 'us' };
    });
    await eventually(
      'c-us reports shop/shop Ready again, without drift',
      async () => (await api.get('/api/v1/clusters/c-us').expect(200)).body,
      (c) =>
        c.deployments.some(
          (d: { bundle: string; state: string; resources: { drift?: unknown }[] }) =>
            d.bundle === 'shop/shop' &&
            d.state === 'Ready' &&
            d.resources.every((r) => r.drift === undefined),
        ),
    );
    expect((await flotilla('cluster', 'drift', 'c-us')).stdout).toBe('No drift on cluster c-us.\n');
  });
});

import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agents/agent/agent.js';
import { type GitServer, eventually, startGitServer } from '../../libs/testing/index.js';
import { startSimulatedAgent } from '../support/agents.js';
import { runCli } from '../support/cli.js';
import { fleetClient } from '../support/grpc.js';
import { issueRoleTokens, startTestHub, type TestHub, waitForBundleReady } from '../support/hub.js';

// See what will be applied: the rendered objects per cluster and variant (REST, CLI, gRPC),
// and GitRepos changed in place (PATCH, `repo update`, UpdateGitRepo).

const cm = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {v: "${value}"}\n`;
const FLEET = [
  'customizations:',
  '  - name: eu',
  '    clusterSelector: {matchLabels: {region: eu}}',
  '    patches:',
  '      - target: {kind: ConfigMap, name: shop}',
  '        merge: {data: {region: eu}}',
  '',
].join('\n');

let hub: TestHub;
let git: GitServer;
let api: ReturnType<TestHub['api']>;
const agents: RunningAgent[] = [];
const tokens: Record<string, string> = {};
let repoUrl: string;
const flotilla = (...args: string[]) =>
  runCli([...args, '--server', hub.httpUrl], { FLOTILLA_TOKEN: hub.adminToken });

const manifestsUrl = (bundle: string) => `/api/v1/bundles/${encodeURIComponent(bundle)}/manifests`;
async function gitrepo(name: string) {
  return (await api.get(`/api/v1/gitrepos/${name}`).expect(200)).body;
}

beforeAll(async () => {
  hub = await startTestHub({ heartbeatInterval: '300ms' });
  api = hub.api();
  git = await startGitServer();
  await issueRoleTokens(api, tokens);
  await api
    .post('/api/v1/clusters')
    .send({ name: 'c-dev', labels: { env: 'dev' } }) // never targeted, never connected
    .expect(201);
  agents.push(
    await startSimulatedAgent(hub, 'c-eu', { env: 'prod', region: 'eu' }),
    await startSimulatedAgent(hub, 'c-us', { env: 'prod', region: 'us' }),
  );
  const repo = await git.createRepo('shop', {
    'apps/shop/fleet.yaml': FLEET,
    'apps/shop/cm.yaml': cm('shop', '1'),
    'apps/extra/cm.yaml': cm('extra', '1'),
    'other/tools/cm.yaml': cm('tools', '1'),
  });
  repoUrl = repo.url;
  await api
    .post('/api/v1/gitrepos')
    .send({
      name: 'shop',
      url: repoUrl,
      paths: ['apps'],
      pollingInterval: '0',
      targets: [{ clusterSelector: 'env=prod' }],
    })
    .expect(201);
  await waitForBundleReady(api, 'shop/shop', 2);
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await git?.stop();
  await hub?.stop();
});

describe('GET /api/v1/bundles/{name}/manifests', () => {
  it('gives each cluster its own render; a cluster no customization matches gets the base', async () => {
    const eu = (await api.get(manifestsUrl('shop/shop')).query({ cluster: 'c-eu' }).expect(200))
      .body;
    const us = (await api.get(manifestsUrl('shop/shop')).query({ cluster: 'c-us' }).expect(200))
      .body;
    expect(eu).toMatchObject({ bundle: 'shop/shop', cluster: 'c-eu' });
    expect(eu.objects).toEqual([
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'shop' },
        data: { v: '1', region: 'eu' },
      },
    ]);
    expect(us.objects).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shop' }, data: { v: '1' } },
    ]);
    expect(eu.revision).not.toBe(us.revision);
    expect(eu.appliedRevision).toBe(eu.revision);
    expect(eu.commit).toBe((await gitrepo('shop')).status.commit);
  });

  it('by variant: the keys are on the bundle, with each variant clusters', async () => {
    const b = (await api.get(`/api/v1/bundles/${encodeURIComponent('shop/shop')}`).expect(200))
      .body;
    expect(b.variants).toHaveLength(2);
    const eu = b.variants.find((v: { clusters: string[] }) => v.clusters.includes('c-eu'));
    expect(eu.clusters).toEqual(['c-eu']);
    const res = (await api.get(manifestsUrl('shop/shop')).query({ variant: eu.key }).expect(200))
      .body;
    expect(res).toMatchObject({ variant: eu.key, revision: eu.revision, clusters: ['c-eu'] });
    expect(res.objects[0].data.region).toBe('eu');
  });

  it.each([
    [
      'neither cluster nor variant',
      'shop/shop',
      {},
      400,
      /exactly one of \?cluster=NAME or \?variant=KEY/,
    ],
    ['both', 'shop/shop', { cluster: 'c-eu', variant: 'x' }, 400, /exactly one/],
    ['an empty cluster', 'shop/shop', { cluster: '' }, 400, /cluster must not be empty/],
    ['an unknown bundle', 'shop/nope', { cluster: 'c-eu' }, 404, /bundle "shop\/nope" not found/],
    ['an unknown cluster', 'shop/shop', { cluster: 'zz' }, 404, /cluster "zz" not found/],
    [
      'a cluster the bundle does not go to',
      'shop/shop',
      { cluster: 'c-dev' },
      404,
      /bundle "shop\/shop" is not deployed to cluster "c-dev"/,
    ],
    [
      'an unknown variant',
      'shop/shop',
      { variant: 'nope' },
      404,
      /has no variant "nope".*variants: /,
    ],
  ])('%s is a clear error', async (_name, bundle, query, status, message) => {
    const res = await api.get(manifestsUrl(bundle)).query(query).expect(status);
    expect(res.body.message).toMatch(message);
  });

  it('a viewer may read manifests', async () => {
    await hub
      .api(tokens.viewer)
      .get(manifestsUrl('shop/shop'))
      .query({ cluster: 'c-us' })
      .expect(200);
  });
});

describe('PATCH /api/v1/gitrepos/{name}', () => {
  it('changes only the given fields, and the next sync follows them', async () => {
    const before = await gitrepo('shop');
    const res = await api
      .patch('/api/v1/gitrepos/shop')
      .send({ paths: ['apps', 'other'] })
      .expect(200);
    expect(res.body).toMatchObject({
      name: 'shop',
      url: before.url,
      branch: 'main',
      paths: ['apps', 'other'],
      pollingInterval: '0s',
      targets: before.targets,
      generation: before.generation + 1,
    });
    // Two paths: names are relative to the repository root now.
    await eventually(
      'shop has the bundles of both paths',
      () => gitrepo('shop'),
      (r) =>
        r.status.bundles.join(',') === 'shop/apps/extra,shop/apps/shop,shop/other/tools' &&
        r.status.error === null,
    );
  });

  it.each([
    ['a bad polling interval', { pollingInterval: 'soon' }, 400, /pollingInterval/],
    ['a path leaving the repository', { paths: ['../x'] }, 400, /must stay inside the repository/],
    ['an unknown field', { branches: ['x'] }, 400, /branches/],
    ['a different name', { name: 'other' }, 400, /cannot be renamed/],
    ['a bad target', { targets: [{ clusterGroup: 'Bad Name' }] }, 400, /targets\[0\]/],
  ])('%s is a 400 that changes nothing', async (_name, body, status, message) => {
    const before = await gitrepo('shop');
    const res = await api.patch('/api/v1/gitrepos/shop').send(body).expect(status);
    expect(res.body.message).toMatch(message);
    expect((await gitrepo('shop')).generation).toBe(before.generation);
  });

  it('an unknown GitRepo is a 404; a stale generation a 409', async () => {
    await api.patch('/api/v1/gitrepos/nope').send({ branch: 'x' }).expect(404);
    const { generation } = await gitrepo('shop');
    const stale = await api
      .patch('/api/v1/gitrepos/shop')
      .send({ pollingInterval: '1h', generation: generation - 1 })
      .expect(409);
    expect(stale.body.message).toMatch(/changed since it was read/);
    await api.patch('/api/v1/gitrepos/shop').send({ pollingInterval: '0', generation }).expect(200);
  });

  it('an operator may change paths and targets, not the URL; a viewer nothing', async () => {
    await hub
      .api(tokens.viewer)
      .patch('/api/v1/gitrepos/shop')
      .send({ pollingInterval: '0' })
      .expect(403);
    const denied = await hub
      .api(tokens.operator)
      .patch('/api/v1/gitrepos/shop')
      .send({ url: 'https://example.com/other.git' })
      .expect(403);
    expect(denied.body.message).toMatch(/url .*needs the admin role/);
    await hub
      .api(tokens.operator)
      .patch('/api/v1/gitrepos/shop')
      .send({ paths: ['apps'] })
      .expect(200);
    // Back to one path: the tests after this one read shop/shop again.
    await eventually(
      'shop has the bundles of one path again',
      () => gitrepo('shop'),
      (r) => r.status.bundles.join(',') === 'shop/extra,shop/shop' && r.status.error === null,
    );
  });
});

describe('the CLI', () => {
  it('bundle manifests -o yaml prints what a cluster gets', async () => {
    const res = await flotilla(
      'bundle',
      'manifests',
      'shop/shop',
      '--cluster',
      'c-eu',
      '-o',
      'yaml',
    );
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const docs = parseAllDocuments(res.stdout).map((d) => d.toJS());
    expect(docs).toEqual([
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'shop' },
        data: { v: '1', region: 'eu' },
      },
    ]);
    const missing = await flotilla('bundle', 'manifests', 'shop/shop', '--cluster', 'c-dev');
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(
      'error: bundle "shop/shop" is not deployed to cluster "c-dev"',
    );
  });

  it('bundle list and get show the bundles', async () => {
    // The paths of the tests before moved shop/shop's ConfigMap to shop/apps/shop and back: it
    // is Ready again on both clusters once the agents have applied the last change.
    const readyRow = /^shop\/shop\s+shop\s+yaml\s+[0-9a-f]{8}\s+2\/2\s*$/m;
    const list = await eventually(
      'bundle list shows shop/shop Ready on both clusters',
      () => flotilla('bundle', 'list', '--gitrepo', 'shop'),
      (res) => readyRow.test(res.stdout),
    );
    expect(list.stdout).toMatch(readyRow);
    const get = await flotilla('bundle', 'get', 'shop/shop');
    expect(get.stdout).toMatch(/^Kind:\s+yaml$/m);
    expect(get.stdout).toMatch(/^c-eu\s+Ready\s+[0-9a-f]{8}/m);
  });

  it('repo update changes one field and keeps the others', async () => {
    const res = await flotilla('repo', 'update', 'shop', '--path', 'other', '-o', 'json');
    expect(res.stderr).toBe('');
    const updated = JSON.parse(res.stdout);
    expect(updated).toMatchObject({ paths: ['other'], branch: 'main', pollingInterval: '0s' });
    await eventually(
      'shop syncs to the new path',
      () => gitrepo('shop'),
      (r) => r.status.bundles.join(',') === 'shop/tools',
    );
    const bad = await flotilla('repo', 'update', 'shop', '--polling-interval', 'soon');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: pollingInterval/);
    expect((await flotilla('repo', 'update', 'shop', '--path', 'apps', '-o', 'json')).code).toBe(0);
  });
});

describe('gRPC', () => {
  it('GetBundleManifests returns the objects a cluster gets, as JSON', async () => {
    const fleet = fleetClient(hub.grpcAddress!, tokens.viewer);
    try {
      const res = await eventually(
        'shop/shop back on c-eu',
        () => fleet.call<any>('GetBundleManifests', { bundle: 'shop/shop', cluster: 'c-eu' }),
        (r) => r.objects.length === 1,
      );
      expect(res).toMatchObject({ bundle: 'shop/shop', cluster: 'c-eu', variant: '' });
      expect(JSON.parse(res.objects[0]).data.region).toBe('eu');
      await expect(
        fleet.call('GetBundleManifests', { bundle: 'shop/shop', cluster: 'c-dev' }),
      ).rejects.toMatchObject({ code: 5 }); // NOT_FOUND
      await expect(fleet.call('GetBundleManifests', { bundle: 'shop/shop' })).rejects.toMatchObject(
        { code: 3 }, // INVALID_ARGUMENT
      );
    } finally {
      fleet.client.close();
    }
  });

  it('UpdateGitRepo changes the fields of its mask; a viewer may not', async () => {
    const operator = fleetClient(hub.grpcAddress!, tokens.operator);
    const viewer = fleetClient(hub.grpcAddress!, tokens.viewer);
    try {
      const res = await operator.call<any>('UpdateGitRepo', {
        name: 'shop',
        updateMask: ['polling_interval', 'revision'],
        pollingInterval: '30s',
      });
      expect(res).toMatchObject({
        name: 'shop',
        pollingInterval: '30s',
        branch: 'main',
        revision: '',
        paths: ['apps'],
        targets: [{ clusterSelector: 'env=prod', clusterGroup: '', clusterName: '' }],
      });
      expect(res.status.bundles).toContain('shop/shop');
      await expect(
        operator.call('UpdateGitRepo', { name: 'shop', updateMask: ['colour'] }),
      ).rejects.toMatchObject({
        code: 3,
        details: expect.stringMatching(/unknown field "colour"/),
      });
      await expect(
        operator.call('UpdateGitRepo', { name: 'shop', url: 'https://example.com/x.git' }),
      ).rejects.toMatchObject({ code: 7 }); // PERMISSION_DENIED: url is the admin's
      await expect(
        viewer.call('UpdateGitRepo', { name: 'shop', pollingInterval: '0' }),
      ).rejects.toMatchObject({ code: 7 });
    } finally {
      operator.client.close();
      viewer.client.close();
    }
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agents/agent/agent.js';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import { type GitServer, eventually, startGitServer } from '../../libs/testing/index.js';
import { startTestHub, type TestHub } from '../support/hub.js';

// Nothing disappears by accident: a sync never takes bundles away by mistake, and every
// problem is told on the GitRepo or the bundle. Each test uses its own object names (one
// simulated cluster refuses an object that another bundle applied).

const cm = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {v: "${value}"}\n`;

const clusters = {
  'c-eu': { env: 'prod', region: 'eu' },
  'c-us': { env: 'prod', region: 'us' },
};

let hub: TestHub;
let git: GitServer;
let api: ReturnType<TestHub['api']>;
const agents: RunningAgent[] = [];

async function gitrepo(name: string) {
  return (await api.get(`/api/v1/gitrepos/${name}`).expect(200)).body;
}
async function bundle(name: string) {
  return (await api.get(`/api/v1/bundles/${encodeURIComponent(name)}`).expect(200)).body;
}
async function addRepo(name: string, files: Record<string, string>, spec: Record<string, unknown>) {
  const repo = await git.createRepo(name, files);
  await api
    .post('/api/v1/gitrepos')
    .send({
      name,
      url: repo.url,
      pollingInterval: '0',
      targets: [{ clusterSelector: 'env=prod' }],
      ...spec,
    })
    .expect(201);
  return repo;
}
/** Every deployment of the bundle is Ready at `commit` on `on`. */
function readyAt(name: string, commit: string, on: string[]) {
  return eventually(
    `${name} Ready at ${commit.slice(0, 8)} on ${on.join(',')}`,
    () => bundle(name),
    (b) =>
      b.commit === commit &&
      b.deployments.map((d: { cluster: string }) => d.cluster).join(',') === on.join(',') &&
      b.deployments.every(
        (d: { state: string; appliedRevision: string; desiredRevision: string }) =>
          d.state === 'Ready' && d.appliedRevision === d.desiredRevision,
      ),
  );
}
async function synced(name: string) {
  return eventually(
    `${name} synced`,
    () => gitrepo(name),
    (r) => r.status.commit !== null,
  );
}
async function sync(name: string) {
  await api.post(`/api/v1/gitrepos/${name}/sync`).expect(202);
}

beforeAll(async () => {
  hub = await startTestHub({ heartbeatInterval: '300ms' });
  api = hub.api();
  git = await startGitServer();
  for (const [name, labels] of Object.entries(clusters)) {
    const res = await api.post('/api/v1/clusters').send({ name, labels }).expect(201);
    agents.push(
      await startAgent({
        hubUrl: hub.httpUrl,
        token: res.body.token,
        driver: new SimulatedCluster(),
        stateDir: mkdtempSync(join(tmpdir(), `flotilla-${name}-`)),
        heartbeatIntervalMs: 300,
        logger: pino({ level: 'silent' }),
      }),
    );
  }
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await git?.stop();
  await hub?.stop();
});

describe('a sync never removes bundles by accident', () => {
  it('a misspelled path is an error on the GitRepo and removes nothing', async () => {
    const repo = await addRepo('typo', { 'apps/web/cm.yaml': cm('web', '1') }, { paths: ['apps'] });
    const head = (await synced('typo')).status.commit;
    await readyAt('typo/web', head, ['c-eu', 'c-us']);

    await api
      .put('/api/v1/gitrepos/typo')
      .send({
        name: 'typo',
        url: repo.url,
        paths: ['aps'],
        pollingInterval: '0',
        targets: [{ clusterSelector: 'env=prod' }],
      })
      .expect(200);
    const failed = await eventually(
      'typo has an error about its path',
      () => gitrepo('typo'),
      (r) => r.status.error !== null,
    );
    expect(failed.status.error).toMatch(/path "aps"/);
    expect(failed.status.error).toMatch(/removes? nothing|kept|keep/i);
    expect(failed.status.bundles).toEqual(['typo/web']);
    const web = await bundle('typo/web');
    expect(web.deployments.map((d: { state: string }) => d.state)).toEqual(['Ready', 'Ready']);
  });

  it('a commit that empties a path keeps its last good bundles and says why', async () => {
    await addRepo(
      'emptied',
      { 'apps/web/cm.yaml': cm('emptied-web', '1'), 'apps/api/cm.yaml': cm('emptied-api', '1') },
      { paths: ['apps'] },
    );
    const head = (await synced('emptied')).status.commit;
    await readyAt('emptied/web', head, ['c-eu', 'c-us']);

    const next = await git.commit('emptied', {
      'apps/web/cm.yaml': null,
      'apps/api/cm.yaml': null,
      'apps/README.md': '# moved elsewhere\n',
    });
    await sync('emptied');
    const failed = await eventually(
      'emptied has an error',
      () => gitrepo('emptied'),
      (r) => r.status.error !== null,
    );
    expect(failed.status.error).toMatch(/path "apps".*no bundles/);
    expect(failed.status.error).toContain(next.slice(0, 8));
    expect(failed.status.bundles).toEqual(['emptied/api', 'emptied/web']);
    expect((await bundle('emptied/web')).deployments).toHaveLength(2);

    // Removing one bundle of the path is an ordinary change.
    const third = await git.commit('emptied', { 'apps/api/cm.yaml': cm('emptied-api', '2') });
    await sync('emptied');
    const ok = await eventually(
      'emptied at the third commit without error',
      () => gitrepo('emptied'),
      (r) => r.status.commit === third && r.status.error === null,
    );
    expect(ok.status.bundles).toEqual(['emptied/api']);
  });

  it('bundles of the same directory name under two paths do not collide', async () => {
    await addRepo(
      'multi',
      {
        'single-cluster/helm/cm.yaml': cm('single', '1'),
        'multi-cluster/helm/cm.yaml': cm('multi', '1'),
      },
      { paths: ['single-cluster', 'multi-cluster'] },
    );
    const repo = await synced('multi');
    expect(repo.status.bundles).toEqual(['multi/multi-cluster/helm', 'multi/single-cluster/helm']);
    expect(repo.status.bundleErrors).toEqual([]);
    await readyAt('multi/single-cluster/helm', repo.status.commit, ['c-eu', 'c-us']);
    await readyAt('multi/multi-cluster/helm', repo.status.commit, ['c-eu', 'c-us']);
  });
});

describe('failures are told where they are', () => {
  it('one failing variant does not hold back the others; its error names it and its clusters', async () => {
    const fleet = (target: string) =>
      [
        'customizations:',
        '  - name: eu',
        '    clusterSelector: {matchLabels: {region: eu}}',
        '    patches:',
        `      - target: {kind: ConfigMap, name: ${target}}`,
        '        merge: {data: {region: eu}}',
        '',
      ].join('\n');
    await addRepo(
      'variants',
      { 'app/fleet.yaml': fleet('app'), 'app/cm.yaml': cm('app', '1') },
      { paths: ['app'] },
    );
    const first = (await synced('variants')).status.commit;
    await readyAt('variants/app', first, ['c-eu', 'c-us']);
    const before = await bundle('variants/app');
    const euBefore = before.deployments.find((d: { cluster: string }) => d.cluster === 'c-eu');

    // The eu variant's patch now matches nothing; the base variant renders fine.
    const second = await git.commit('variants', {
      'app/fleet.yaml': fleet('missing'),
      'app/cm.yaml': cm('app', '2'),
    });
    await sync('variants');
    const b = await eventually(
      'variants/app at the second commit with an error',
      () => bundle('variants/app'),
      (x) => x.commit === second && x.error !== null,
    );
    expect(b.error).toMatch(/variant "eu"/);
    expect(b.error).toMatch(/c-eu/);
    expect(b.error).not.toMatch(/c-us/);
    expect(b.errorCommit).toBe(second);
    await eventually(
      'c-us runs the second commit; c-eu keeps the first',
      () => bundle('variants/app'),
      (x) => {
        const eu = x.deployments.find((d: { cluster: string }) => d.cluster === 'c-eu');
        const us = x.deployments.find((d: { cluster: string }) => d.cluster === 'c-us');
        return (
          us?.commit === second &&
          us.state === 'Ready' &&
          eu?.commit === first &&
          eu.desiredRevision === euBefore.desiredRevision
        );
      },
    );
  });

  it('an object with only generateName is refused at render time with its file and index', async () => {
    await addRepo(
      'generated',
      {
        'job/job.yaml': `${cm('fine', '1')}---\napiVersion: batch/v1\nkind: Job\nmetadata: {generateName: migrate-}\nspec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: busybox}]}}}\n`,
      },
      { paths: ['job'] },
    );
    await synced('generated');
    const b = await eventually(
      'generated/job has an error',
      () => bundle('generated/job'),
      (x) => x.error !== null,
    );
    expect(b.error).toMatch(/job\/job\.yaml document 2/);
    expect(b.error).toMatch(/generateName/);
    expect(b.deployments).toEqual([]);
  });

  it('a bundle that fails before rendering is recorded with its real kind and directory', async () => {
    await addRepo(
      'kinds',
      {
        'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
        'charts/web/templates/cm.yaml': cm('web', '1'),
        'charts/web/fleet.yaml': 'defaultNamespace: [not, a, string]\n',
        'charts/site/kustomization.yaml': 'resources: [cm.yaml]\n',
        'charts/site/cm.yaml': cm('site', '1'),
        'charts/site/fleet.yaml': 'defaultNamespace: [not, a, string]\n',
      },
      { paths: ['charts'] },
    );
    await synced('kinds');
    const web = await eventually(
      'kinds/web has an error',
      () => bundle('kinds/web'),
      (x) => x.error !== null,
    );
    expect(web.kind).toBe('helm');
    expect(web.dir).toBe('charts/web');
    const site = await bundle('kinds/site');
    expect(site.kind).toBe('kustomize');
    expect(site.dir).toBe('charts/site');
  });

  it('lastSyncedAt moves on every poll; lastChangedAt only with a new commit', async () => {
    await addRepo(
      'polled',
      { 'app/cm.yaml': cm('polled', '1') },
      {
        paths: ['app'],
        pollingInterval: '1s',
      },
    );
    const first = await eventually(
      'polled synced with lastChangedAt',
      () => gitrepo('polled'),
      (r) => r.status.commit !== null && typeof r.status.lastChangedAt === 'string',
    );
    const later = await eventually(
      'polled polled again',
      () => gitrepo('polled'),
      (r) => Date.parse(r.status.lastSyncedAt) > Date.parse(first.status.lastSyncedAt),
    );
    expect(later.status.lastChangedAt).toBe(first.status.lastChangedAt);
    expect(later.status.commit).toBe(first.status.commit);
  });

  it('a GitRepo without targets says it deploys nowhere', async () => {
    await addRepo(
      'nowhere',
      { 'app/cm.yaml': cm('nowhere', '1') },
      { paths: ['app'], targets: [] },
    );
    const r = await synced('nowhere');
    expect(r.status.warnings).toEqual([
      expect.objectContaining({
        reason: 'NoTargets',
        message: expect.stringMatching(/no cluster/),
      }),
    ]);
    expect((await gitrepo('typo')).status.warnings).toEqual([]);
  });
});

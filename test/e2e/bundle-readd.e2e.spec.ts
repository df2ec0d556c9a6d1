import { afterAll, beforeAll, describe, it } from 'vitest';
import type { RunningAgent } from '../../agents/agent/agent.js';
import { type GitServer, eventually, startGitServer } from '../../libs/testing/index.js';
import { startSimulatedAgent } from '../support/agents.js';
import { startTestHub, type TestHub } from '../support/hub.js';

// A bundle that leaves Git and comes back under the same name is Ready again on every cluster
// it targets, also when its objects belonged to another bundle in between (a path change moves
// them) and the agents see the new owner's removal after the old owner's apply.

const cm = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {v: "${value}"}\n`;
const CLUSTERS = ['readd-a', 'readd-b', 'readd-c'];

let hub: TestHub;
let git: GitServer;
let api: ReturnType<TestHub['api']>;
const agents: RunningAgent[] = [];

interface Deployment {
  cluster: string;
  state: string;
  desiredRevision: string | null;
  appliedRevision: string | null;
}

async function bundle(name: string): Promise<{ status: number; deployments: Deployment[] }> {
  const res = await api.get(`/api/v1/bundles/${encodeURIComponent(name)}`);
  return { status: res.status, deployments: res.status === 200 ? res.body.deployments : [] };
}

/** Waits until `name` is Ready at its desired revision on every cluster. */
async function readyEverywhere(name: string): Promise<void> {
  await eventually(
    `${name} Ready on ${CLUSTERS.join(', ')}`,
    () => bundle(name),
    (b) =>
      b.deployments.length === CLUSTERS.length &&
      b.deployments.every(
        (d) =>
          d.state === 'Ready' &&
          d.desiredRevision !== null &&
          d.appliedRevision === d.desiredRevision,
      ),
  );
}

async function gitrepoBundles(name: string): Promise<string> {
  const res = await api.get(`/api/v1/gitrepos/${name}`).expect(200);
  return `${(res.body.status.bundles as string[]).join(',')}${res.body.status.error ? ` (error: ${res.body.status.error})` : ''}`;
}

async function syncUntil(gitrepo: string, bundles: string): Promise<void> {
  await api.post(`/api/v1/gitrepos/${gitrepo}/sync`).expect(202);
  await eventually(
    `${gitrepo} has the bundles ${bundles}`,
    () => gitrepoBundles(gitrepo),
    (b) => b === bundles,
  );
}

/** A Git repository `name` of `files` and a GitRepo of it (path `apps`) targeting every cluster. */
async function addRepo(name: string, files: Record<string, string>): Promise<void> {
  await git.createRepo(name, files);
  await api
    .post('/api/v1/gitrepos')
    .send({
      name,
      url: `${git.url}/${name}.git`,
      paths: ['apps'],
      pollingInterval: '0',
      targets: [{ clusterSelector: 'env=readd' }],
    })
    .expect(201);
}

beforeAll(async () => {
  hub = await startTestHub({ heartbeatInterval: '300ms' });
  api = hub.api();
  git = await startGitServer();
  for (const name of CLUSTERS) agents.push(await startSimulatedAgent(hub, name, { env: 'readd' }));
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await git?.stop();
  await hub?.stop();
});

describe('a bundle removed and added again', () => {
  it('removed from Git and committed back: Ready again on every cluster', async () => {
    await addRepo('gone', {
      'apps/web/cm.yaml': cm('web', '1'),
      'apps/keep/cm.yaml': cm('keep', '1'),
    });
    await readyEverywhere('gone/web');
    for (let round = 1; round <= 3; round++) {
      await git.commit('gone', { 'apps/web/cm.yaml': null }, `remove web (${round})`);
      await syncUntil('gone', 'gone/keep');
      await eventually(
        'gone/web has no deployments left',
        () => bundle('gone/web'),
        (b) => b.deployments.length === 0,
      );
      // Back with the same content (so the same revision) every other round.
      await git.commit('gone', { 'apps/web/cm.yaml': cm('web', String(round % 2)) }, 'web back');
      await syncUntil('gone', 'gone/keep,gone/web');
      await readyEverywhere('gone/web');
    }
  });

  it('removed and added back before the clusters reported the removal: Ready again', async () => {
    for (let round = 1; round <= 3; round++) {
      await git.commit('gone', { 'apps/web/cm.yaml': null }, `remove web (${round})`);
      await syncUntil('gone', 'gone/keep');
      // No wait for the removal to reach the clusters.
      await git.commit('gone', { 'apps/web/cm.yaml': cm('web', '1') }, 'web back');
      await syncUntil('gone', 'gone/keep,gone/web');
      await readyEverywhere('gone/web');
    }
  });

  it('paths one → two → one: the name comes back while its objects move between bundles', async () => {
    await addRepo('moves', {
      'apps/shop/cm.yaml': cm('shop', '1'),
      'apps/extra/cm.yaml': cm('extra', '1'),
      'other/tools/cm.yaml': cm('tools', '1'),
    });
    await readyEverywhere('moves/shop');
    for (let round = 1; round <= 3; round++) {
      // Two paths: names are relative to the repository root, so moves/shop becomes
      // moves/apps/shop, with the same ConfigMap.
      await api
        .patch('/api/v1/gitrepos/moves')
        .send({ paths: ['apps', 'other'] })
        .expect(200);
      await eventually(
        'moves has the bundles of both paths',
        () => gitrepoBundles('moves'),
        (b) => b === 'moves/apps/extra,moves/apps/shop,moves/other/tools',
      );
      await readyEverywhere('moves/apps/shop');
      await api
        .patch('/api/v1/gitrepos/moves')
        .send({ paths: ['apps'] })
        .expect(200);
      await eventually(
        'moves has the bundles of one path',
        () => gitrepoBundles('moves'),
        (b) => b === 'moves/extra,moves/shop',
      );
      await readyEverywhere('moves/shop');
    }
  });
});

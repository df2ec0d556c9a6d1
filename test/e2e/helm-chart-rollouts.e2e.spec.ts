// A new chart version under a range, at the same commit, is rolled out in stages like a commit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agents/agent/agent.js';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import {
  eventually,
  startGitServer,
  startHelmRepo,
  type GitServer,
  type HelmRepo,
} from '../../libs/testing/index.js';
import { SkippableClock } from '../../libs/testing/fake-clock.js';
import { startTestHub, type TestHub } from '../support/hub.js';

/** The hub's clock: the canary's bake time is skipped, not waited out. */
const clock = new SkippableClock();
let hub: TestHub;
let git: GitServer;
let charts: HelmRepo;
const agents: RunningAgent[] = [];
const stateDirs: string[] = [];
const clusters = ['canary-1', 'main-1', 'main-2'];

const chartFiles = {
  'templates/cm.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  chartVersion: {{ .Chart.Version | quote }}\n',
};

beforeAll(async () => {
  hub = await startTestHub({ heartbeatInterval: '300ms', clock });
  git = await startGitServer();
  charts = await startHelmRepo();
  await charts.add({ name: 'web', version: '1.0.0', files: chartFiles });
  for (const name of clusters) {
    const labels = { ring: name.startsWith('canary') ? 'canary' : 'main' };
    const { body } = await hub.api().post('/api/v1/clusters').send({ name, labels }).expect(201);
    const stateDir = mkdtempSync(join(tmpdir(), `flotilla-${name}-`));
    stateDirs.push(stateDir);
    agents.push(
      await startAgent({
        hubUrl: hub.httpUrl,
        token: body.token,
        driver: new SimulatedCluster(),
        stateDir,
        heartbeatIntervalMs: 300,
        logger: pino({ level: 'silent' }),
      }),
    );
  }
});
afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await charts?.stop();
  await git?.stop();
  await hub?.stop();
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
});

async function rollouts(): Promise<any[]> {
  return (await hub.api().get('/api/v1/rollouts').query({ bundle: 'charts/web' }).expect(200)).body
    .items;
}
/** Waits until the rollout's canary is Ready (its bake begins), then skips the 3 s bake time. */
async function bakeCanary(id: string): Promise<void> {
  await eventually(
    'the canary Ready, baking',
    async () => (await rollouts()).find((r) => r.id === id),
    (r) => r?.stages[0].clusters[0].readySince != null,
  );
  clock.advance(3000);
}
async function bundle(): Promise<any> {
  return (
    await hub
      .api()
      .get(`/api/v1/bundles/${encodeURIComponent('charts/web')}`)
      .expect(200)
  ).body;
}

describe('a chart version range under a rolloutStrategy', () => {
  it('a new upstream version at the same commit starts a new staged rollout: the canary first, the rest after it baked', async () => {
    const repo = await git.createRepo('charts', {
      'web/fleet.yaml': `helm: {repo: "${charts.url}", chart: web, version: ^1.0.0}
rolloutStrategy:
  stages:
    - name: canary
      clusterSelector: {matchLabels: {ring: canary}}
      bakeTime: 3s
    - name: rest
`,
    });
    await hub
      .api()
      .post('/api/v1/gitrepos')
      .send({
        name: 'charts',
        url: repo.url,
        pollingInterval: '0',
        targets: [{ clusterSelector: '' }],
        helmAllowHttp: true,
      })
      .expect(201);
    await bakeCanary(
      (
        await eventually(
          'the first rollout',
          async () => (await rollouts())[0],
          (r) => !!r,
        )
      ).id,
    );
    const first = await eventually(
      'the first rollout Succeeded',
      async () => (await rollouts())[0],
      (r) => r?.state === 'Succeeded',
    );
    const before = await bundle();
    expect(before.revisions).toHaveLength(1);

    await charts.add({ name: 'web', version: '1.0.1', files: chartFiles });
    await hub.api().post('/api/v1/gitrepos/charts/sync').expect(202);
    const second = await eventually(
      'a second rollout, of the same commit',
      async () => (await rollouts()).find((r) => r.id !== first.id),
      (r) => r !== undefined,
    );
    expect(second.toCommit).toBe(first.toCommit);
    // While the canary bakes, the rest still run the previous revision.
    const baking = await eventually(
      'the canary on the new revision',
      bundle,
      (b) =>
        b.deployments.find((d: any) => d.cluster === 'canary-1')?.desiredRevision !==
        before.deployments[0].desiredRevision,
    );
    const oldRevision = before.deployments[0].desiredRevision;
    for (const d of baking.deployments.filter((d: any) => d.cluster !== 'canary-1')) {
      expect(d.desiredRevision).toBe(oldRevision);
    }
    await bakeCanary(second.id);
    const done = await eventually(
      'the second rollout Succeeded',
      async () => (await rollouts()).find((r) => r.id === second.id),
      (r) => r?.state === 'Succeeded',
    );
    expect(done.stages.map((s: any) => s.name)).toEqual(['canary', 'rest']);
    const after = await bundle();
    expect(new Set(after.deployments.map((d: any) => d.desiredRevision)).size).toBe(1);
    expect(after.deployments[0].desiredRevision).not.toBe(oldRevision);
  });
});

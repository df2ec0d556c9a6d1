import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agents/agent/agent.js';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import { loadHubConfig } from '../../libs/config/config.js';
import { SkippableClock } from '../../libs/testing/fake-clock.js';
import {
  type GitServer,
  eventually,
  startGitServer,
  testNatsUrl,
} from '../../libs/testing/index.js';
import { type RunningHub, runHub } from '../../services/hub/hub.js';
import { startSimulatedAgent } from '../support/agents.js';
import { fleetClient } from '../support/grpc.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { connect } from '@nats-io/transport-node';
import {
  appDeployment,
  ringClusters,
  ringGitRepo,
  ringStrategy,
} from '../support/rollout-fixtures.js';

const strategy = ringStrategy({ canaryBake: '4s' });
/** The hub's clock (kept across its restart): the pause test skips the bake time. */
const clock = new SkippableClock();
const app = (version: string, outcome = 'ready') =>
  appDeployment(version, { outcome, readyAfter: '300ms' });
const clusters = ringClusters;
const rest = clusters.slice(1);

let hub: TestHub;
let current: RunningHub;
let git: GitServer;
const agents: RunningAgent[] = [];
const api = () => request.agent(current.httpUrl).set('authorization', `Bearer ${hub.adminToken}`);

async function bundleView() {
  return (
    await api()
      .get(`/api/v1/bundles/${encodeURIComponent('ring/app')}`)
      .expect(200)
  ).body;
}
/** The bundle, or no deployments before the resolver found it. */
async function bundleIfAny() {
  const res = await api().get(`/api/v1/bundles/${encodeURIComponent('ring/app')}`);
  return res.status === 200 ? res.body : { deployments: [] };
}
async function latestRollout() {
  const items = (await api().get('/api/v1/rollouts').query({ bundle: 'ring/app' }).expect(200)).body
    .items;
  return items[0];
}
async function rolloutFor(commit: string) {
  return eventually('a rollout of the commit', latestRollout, (r) => r?.toCommit === commit);
}
/** Watches deployments while a rollout runs: when each cluster was first told a revision. */
function watchReleases(revisionOf: (d: any) => boolean) {
  const firstTold = new Map<string, number>();
  let maxRestUpdating = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const [b, r] = await Promise.all([bundleIfAny(), latestRollout()]);
      for (const d of b.deployments)
        if (revisionOf(d) && !firstTold.has(d.cluster)) firstTold.set(d.cluster, Date.now());
      const restStage = r?.stages?.find((s: any) => s.name === 'rest');
      if (restStage) {
        maxRestUpdating = Math.max(
          maxRestUpdating,
          restStage.clusters.filter((c: any) => c.state === 'Updating').length,
        );
      }
      await new Promise((res) => setTimeout(res, 50));
    }
  })();
  return {
    firstTold,
    maxRestUpdating: () => maxRestUpdating,
    stop: async () => {
      stop = true;
      await loop;
    },
  };
}

beforeAll(async () => {
  hub = await startTestHub({ heartbeatInterval: '300ms', clock });
  current = hub;
  git = await startGitServer();
  for (const name of clusters) {
    const labels = name === 'c1' ? { ring: 'canary' } : { ring: 'main' };
    agents.push(await startSimulatedAgent(hub, name, labels));
  }
});
afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await git?.stop();
  if (current !== hub) await current.close();
  await hub?.stop();
});

describe('staged rollouts: canary (bake 4 s) → rest (maxUnavailable 2), onFailure rollback', () => {
  let head: string;
  let goodRevision: string;

  it('the first deployment follows the strategy: the canary first, the rest only after it baked, two at a time', async () => {
    const repo = await git.createRepo('ring', {
      'app/fleet.yaml': strategy,
      'app/app.yaml': app('1'),
    });
    await api().post('/api/v1/gitrepos').send(ringGitRepo(repo.url)).expect(201);
    const watch = watchReleases((d) => d.desiredRevision !== null);
    const rollout = await eventually(
      'rollout Succeeded',
      latestRollout,
      (r) => r?.state === 'Succeeded',
    );
    await watch.stop();
    head = rollout.toCommit;
    const canary = rollout.stages[0].clusters[0];
    expect(rollout.stages.map((s: any) => [s.name, s.clusters.map((c: any) => c.name)])).toEqual([
      ['canary', ['c1']],
      ['rest', rest],
    ]);
    const canaryReady = Date.parse(canary.readySince);
    for (const c of rollout.stages[1].clusters) {
      expect(Date.parse(c.releasedAt) - canaryReady).toBeGreaterThanOrEqual(4000);
      expect(watch.firstTold.get(c.name)! - canaryReady).toBeGreaterThanOrEqual(4000);
    }
    expect(watch.maxRestUpdating()).toBeLessThanOrEqual(2);
    const b = await bundleView();
    expect(b.deployments.every((d: any) => d.state === 'Ready' && d.commit === head)).toBe(true);
    goodRevision = b.deployments[0].desiredRevision;
  });

  it('a failing commit stops at the canary and rolls it back; no other cluster ever receives it', async () => {
    const good = head;
    head = await git.commit('ring', { 'app/app.yaml': app('2', 'fail') });
    const watch = watchReleases((d) => d.desiredRevision !== goodRevision);
    await api().post('/api/v1/gitrepos/ring/sync').expect(202);
    await rolloutFor(head);
    const rolledBack = await eventually(
      'RolledBack',
      latestRollout,
      (r) => r.state === 'RolledBack',
    );
    const canary = await eventually(
      'the canary back on the previous revision, Ready',
      bundleView,
      (b) =>
        b.deployments.some(
          (d: any) =>
            d.cluster === 'c1' && d.appliedRevision === goodRevision && d.state !== 'ErrApplied',
        ),
    );
    await watch.stop();
    expect([...watch.firstTold.keys()]).toEqual(['c1']);
    expect(rolledBack.stages[1].clusters.every((c: any) => c.state === 'Waiting')).toBe(true);
    expect(
      canary.deployments
        .filter((d: any) => d.desiredRevision === goodRevision)
        .map((d: any) => d.cluster),
    ).toEqual(clusters);
    // Every message names real commits, and the stages show how the rollout ended.
    const id = rolledBack.id.slice(0, 8);
    for (const d of canary.deployments.filter((d: any) => d.cluster !== 'c1')) {
      expect(d.state).toBe('OutOfSync');
      expect(d.message).toMatch(
        new RegExp(`^held at ${good.slice(0, 8)}: rollout ${id} RolledBack`),
      );
    }
    expect(rolledBack.stages.map((s: any) => s.state)).toEqual(['RolledBack', 'Cancelled']);
    expect(rolledBack.stages[0].clusters[0].reason).toMatch(
      new RegExp(`; rolled back to commit ${good.slice(0, 8)}$`),
    );
    const detail = (await api().get(`/api/v1/rollouts/${rolledBack.id}`).expect(200)).body;
    expect(detail.audit.map((a: any) => a.action)).toContain('Created');
    expect(detail.audit).toContainEqual(
      expect.objectContaining({ cluster: 'c1', reason: `released to commit ${head.slice(0, 8)}` }),
    );
    expect(detail.audit.some((a: any) => a.to === 'RolledBack')).toBe(true);
  });

  it('pause holds the rest for as long as it is paused; resume completes', async () => {
    head = await git.commit('ring', { 'app/app.yaml': app('3') });
    await api().post('/api/v1/gitrepos/ring/sync').expect(202);
    const rollout = await rolloutFor(head);
    const paused = await api()
      .post(`/api/v1/rollouts/${rollout.id}/pause`)
      .send({ reason: 'checking dashboards' })
      .expect(200);
    expect(paused.body.state).toBe('Paused');
    // Once the canary is Ready (its bake begins), longer than the bake time passes: still nothing
    // beyond the canary. (The refused pause plans the rollout again at that time.)
    await eventually(
      'the canary Ready while paused',
      latestRollout,
      (r) => r.stages[0].clusters[0].readySince != null,
    );
    clock.advance(5500);
    await api().post(`/api/v1/rollouts/${rollout.id}/pause`).expect(409);
    const held = await latestRollout();
    expect(held.state).toBe('Paused');
    expect(held.stages[1].clusters.every((c: any) => c.state === 'Waiting')).toBe(true);
    const b = await bundleView();
    expect(
      b.deployments
        .filter((d: any) => d.cluster !== 'c1')
        .every((d: any) => d.state === 'OutOfSync'),
    ).toBe(true);
    expect((await api().post(`/api/v1/rollouts/${rollout.id}/resume`).expect(200)).body.state).toBe(
      'Progressing',
    );
    await eventually('Succeeded after resume', latestRollout, (r) => r.state === 'Succeeded');
  });

  it('a hub killed while a rollout runs continues it after a restart', async () => {
    head = await git.commit('ring', { 'app/app.yaml': app('4') });
    await api().post('/api/v1/gitrepos/ring/sync').expect(202);
    await eventually(
      'the canary released',
      latestRollout,
      (r) => r.toCommit === head && r.stages[0].clusters[0].state !== 'Waiting',
    );
    await hub.close();
    current = await runHub({
      config: loadHubConfig(hub.env),
      logLevels: ['fatal', 'error'],
      clock,
    });
    const done = await eventually(
      'Succeeded after the restart',
      latestRollout,
      (r) => r.toCommit === head && r.state === 'Succeeded',
    );
    expect(
      done.stages.flatMap((s: any) => s.clusters).every((c: any) => c.state === 'Succeeded'),
    ).toBe(true);
    const b = await bundleView();
    expect(b.deployments.every((d: any) => d.commit === head && d.state === 'Ready')).toBe(true);
  });

  it('rollback on request returns the released clusters to the previous revision; every transition is an event', async () => {
    const before = (await bundleView()).deployments.find(
      (d: any) => d.cluster === 'c1',
    ).desiredRevision;
    const nc = await connect({ servers: testNatsUrl() });
    const events: any[] = [];
    const sub = nc.subscribe(`${hub.env.FLOTILLA_SUBJECT_PREFIX}.flotilla.events.rollout.>`, {
      callback: (_e, m) => {
        events.push(JSON.parse(new TextDecoder().decode(m.data)));
      },
    });
    try {
      head = await git.commit('ring', { 'app/app.yaml': app('4b') });
      await api().post('/api/v1/gitrepos/ring/sync').expect(202);
      const rollout = await eventually(
        'the canary baking',
        latestRollout,
        (r) => r.toCommit === head && r.stages[0].clusters[0].state === 'Baking',
      );
      const res = await api()
        .post(`/api/v1/rollouts/${rollout.id}/rollback`)
        .set('X-Flotilla-Actor', 'alice')
        .send({ reason: 'latency regression' })
        .expect(200);
      expect(res.body.state).toBe('RolledBack');
      await eventually('the canary back on its previous revision', bundleView, (b) =>
        b.deployments.every(
          (d: any) => d.desiredRevision === before && d.appliedRevision === before,
        ),
      );
      const detail = (await api().get(`/api/v1/rollouts/${rollout.id}`).expect(200)).body;
      expect(
        detail.audit.some(
          (a: any) => a.actor === 'api:bootstrap-admin/alice' && a.to === 'RolledBack',
        ),
      ).toBe(true);
      await expect
        .poll(() => events.filter((e) => e.id === rollout.id).map((e) => e.state))
        .toEqual(expect.arrayContaining(['Progressing', 'RolledBack']));
    } finally {
      sub.unsubscribe();
      await nc.close();
    }
  });

  it('gRPC: ListRollouts matches REST, WatchRollout streams a rollout until it finishes', async () => {
    const fleet = fleetClient(current.grpcAddress!, hub.adminToken);
    try {
      const listed = await fleet.call<any>('ListRollouts', { bundle: 'ring/app' });
      const rest = (await api().get('/api/v1/rollouts').query({ bundle: 'ring/app' }).expect(200))
        .body.items;
      expect(listed.items.map((r: any) => [r.id, r.state])).toEqual(
        rest.map((r: any) => [r.id, r.state]),
      );
      head = await git.commit('ring', { 'app/app.yaml': app('5') });
      await api().post('/api/v1/gitrepos/ring/sync').expect(202);
      const rollout = await rolloutFor(head);
      const seen: any[] = [];
      await new Promise<void>((resolve, reject) => {
        const stream = fleet.client.WatchRollout!({ id: rollout.id }, fleet.auth());
        stream.on('data', (r: any) => seen.push(r));
        stream.on('end', () => resolve());
        stream.on('error', reject);
      });
      expect(seen.at(-1).state).toBe('Succeeded');
      expect(new Set(seen.map((r) => r.state)).has('Progressing')).toBe(true);
      expect(seen.at(-1).stages[1].clusters.map((c: any) => c.state)).toEqual([
        'Succeeded',
        'Succeeded',
        'Succeeded',
        'Succeeded',
      ]);
      const got = await fleet.call<any>('GetRollout', { id: rollout.id });
      expect(got).toMatchObject({
        id: rollout.id,
        bundle: 'ring/app',
        toCommit: head,
        state: 'Succeeded',
      });
      await expect(fleet.call('PauseRollout', { id: rollout.id })).rejects.toMatchObject({
        details: expect.stringMatching(/Succeeded/),
      });
    } finally {
      fleet.client.close();
    }
  });

  it('a promote names the stage the operator saw: a stale one is refused, the current one waives the bake', async () => {
    head = await git.commit('ring', { 'app/app.yaml': app('6') });
    await api().post('/api/v1/gitrepos/ring/sync').expect(202);
    const rollout = await rolloutFor(head);
    // The canary bakes for 4 s: "rest" is not the current stage yet.
    const stale = await api()
      .post(`/api/v1/rollouts/${rollout.id}/promote`)
      .send({ stage: 'rest' })
      .expect(409);
    expect(stale.body.message).toBe('stage "rest" is not the current stage ("canary")');
    await api().post(`/api/v1/rollouts/${rollout.id}/pause`).send({ stage: 'canary' }).expect(400);
    expect((await latestRollout()).stages.map((s: any) => s.approved)).toEqual([false, false]);
    const promoted = await api()
      .post(`/api/v1/rollouts/${rollout.id}/promote`)
      .send({ stage: 'canary', reason: 'dashboards green' })
      .expect(200);
    expect(promoted.body.stages[0].approved).toBe(true);
    const done = await eventually(
      'Succeeded after the promote',
      latestRollout,
      (r) => r.state === 'Succeeded',
      { timeoutMs: 20_000 },
    );
    expect(done.stages.map((s: any) => [s.name, s.approved])).toEqual([
      ['canary', true],
      ['rest', false],
    ]);
    const audit = (await api().get(`/api/v1/rollouts/${rollout.id}`).expect(200)).body.audit;
    expect(audit.filter((a: any) => a.action === 'StageApproved')).toEqual([
      expect.objectContaining({
        stage: 'canary',
        reason: expect.stringContaining('dashboards green'),
      }),
    ]);
  });

  it('actions are validated: an unknown action is a 400, a finished rollout a 409, an unknown id a 404', async () => {
    const r = await latestRollout();
    await api().post(`/api/v1/rollouts/${r.id}/explode`).expect(400);
    await api().post(`/api/v1/rollouts/${r.id}/pause`).expect(409);
    await api().post('/api/v1/rollouts/00000000-0000-0000-0000-000000000000/pause').expect(404);
    await api().get('/api/v1/rollouts/not-a-uuid').expect(404);
  });

  it('a cluster registered while a rollout runs is not part of it: it gets the commit at once, and the audit trail says so', async () => {
    head = await git.commit('ring', { 'app/app.yaml': app('7') });
    await api().post('/api/v1/gitrepos/ring/sync').expect(202);
    const rollout = await rolloutFor(head);
    // Paused, so it is still running however long the new cluster takes to be targeted.
    await api().post(`/api/v1/rollouts/${rollout.id}/pause`).expect(200);
    const { body } = await api()
      .post('/api/v1/clusters')
      .send({ name: 'late', labels: { ring: 'main' } })
      .expect(201);
    agents.push(
      await startAgent({
        hubUrl: current.httpUrl,
        token: body.token,
        driver: new SimulatedCluster(),
        stateDir: mkdtempSync(join(tmpdir(), 'flotilla-late-')),
        heartbeatIntervalMs: 300,
        logger: pino({ level: 'silent' }),
      }),
    );
    const audit = await eventually(
      'an UntrackedClusters audit entry',
      async () => (await api().get(`/api/v1/rollouts/${rollout.id}`).expect(200)).body.audit,
      (entries: any[]) => entries.some((e) => e.action === 'UntrackedClusters'),
      { timeoutMs: 20_000 },
    );
    expect(audit.filter((e: any) => e.action === 'UntrackedClusters')).toEqual([
      expect.objectContaining({ actor: 'system', clusters: ['late'] }),
    ]);
    await eventually(
      'the new cluster Ready at the new commit while the rollout is paused',
      bundleView,
      (b) =>
        b.deployments.some(
          (d: any) => d.cluster === 'late' && d.commit === head && d.state === 'Ready',
        ),
      { timeoutMs: 20_000 },
    );
    await api().post(`/api/v1/rollouts/${rollout.id}/resume`).expect(200);
    const done = await eventually(
      'Succeeded',
      latestRollout,
      (r) => r.id === rollout.id && r.state === 'Succeeded',
      { timeoutMs: 20_000 },
    );
    expect(done.stages.flatMap((s: any) => s.clusters.map((c: any) => c.name))).not.toContain(
      'late',
    );
  }, 90_000);
});

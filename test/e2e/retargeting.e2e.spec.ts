import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../agents/agent/agent.js';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import { createSubjects } from '../../libs/contracts/index.js';
import {
  type GitServer,
  eventually,
  startGitServer,
  testNatsUrl,
} from '../../libs/testing/index.js';
import { startTestHub, type TestHub } from '../support/hub.js';

let hub: TestHub;
let git: GitServer;
let nc: NatsConnection;
let agent: RunningAgent | undefined;
/** Every gitrepo event the hub published: one per sync (Synced or SyncFailed). */
const events: { type: string; gitrepo: string }[] = [];

beforeAll(async () => {
  // A short heartbeat interval: the agent's cluster goes Offline three intervals after it stops.
  hub = await startTestHub({ heartbeatInterval: '300ms' });
  git = await startGitServer();
  nc = await connect({ servers: testNatsUrl() });
  nc.subscribe(createSubjects(hub.config.subjectPrefix).allEvents('gitrepo'), {
    callback: (err, msg) => {
      if (!err) events.push(msg.json());
    },
  });
});
afterAll(async () => {
  await agent?.stop();
  await nc?.close();
  await git?.stop();
  await hub?.stop();
});

function syncsOf(gitrepo: string, type: 'Synced' | 'SyncFailed'): number {
  return events.filter((e) => e.gitrepo === gitrepo && e.type === type).length;
}

async function deployedClusters(bundle: string): Promise<string[]> {
  const res = await hub.api().get(`/api/v1/bundles/${encodeURIComponent(bundle)}`);
  if (res.status !== 200) return [];
  return (res.body.deployments as { cluster: string }[]).map((d) => d.cluster).sort();
}

describe('retargeting', () => {
  it('an Online/Offline flap re-resolves no GitRepo; a label change retargets, without fetching a repo that never synced', async () => {
    // A cluster that exists before anything else, without an event (as after a hub restart).
    const db = new pg.Client({ connectionString: hub.config.databaseUrl });
    await db.connect();
    try {
      await db.query(`INSERT INTO clusters (name, labels) VALUES ('other-1', '{"env":"dev"}')`);
    } finally {
      await db.end();
    }
    const repo = await git.createRepo('flap', {
      'apps/web/cm.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {a: "1"}\n',
    });
    const api = hub.api();
    await api
      .post('/api/v1/gitrepos')
      .send({
        name: 'flap',
        url: repo.url,
        paths: ['apps'],
        pollingInterval: '0',
        targets: [{ clusterSelector: 'env=prod' }],
      })
      .expect(201);
    // A GitRepo that never synced: its URL leads nowhere.
    await api
      .post('/api/v1/gitrepos')
      .send({
        name: 'broken',
        url: `file://${join(mkdtempSync(join(tmpdir(), 'flotilla-missing-')), 'nothing')}`,
        pollingInterval: '0',
        targets: [{ clusterSelector: 'env=prod' }],
      })
      .expect(201);
    await eventually(
      'flap synced and broken failed',
      () => Promise.resolve([syncsOf('flap', 'Synced'), syncsOf('broken', 'SyncFailed')]),
      ([synced, failed]) => synced === 1 && failed === 1,
    );

    // A registration retargets: 'flap' is resolved again, 'broken' is not fetched again.
    const { body } = await api
      .post('/api/v1/clusters')
      .send({ name: 'flap-1', labels: { env: 'prod' } })
      .expect(201);
    await eventually(
      'flap retargeted to flap-1',
      async () => ({
        synced: syncsOf('flap', 'Synced'),
        clusters: await deployedClusters('flap/web'),
      }),
      (s) => s.synced === 2 && s.clusters.includes('flap-1'),
    );

    // The flap: flap-1's agent connects (Online), stops, and its lease lapses (Offline).
    agent = await startAgent({
      hubUrl: hub.httpUrl,
      token: body.token,
      driver: new SimulatedCluster(),
      stateDir: mkdtempSync(join(tmpdir(), 'flotilla-agent-')),
      logger: pino({ level: 'silent' }),
    });
    const cluster = async () => (await api.get('/api/v1/clusters/flap-1').expect(200)).body;
    await eventually('flap-1 Online', cluster, (c) => c.state === 'Online');
    await agent.stop();
    agent = undefined;
    await eventually('flap-1 Offline', cluster, (c) => c.state === 'Offline');

    // A label change retargets once.
    await api
      .patch('/api/v1/clusters/other-1')
      .send({ labels: { env: 'prod' } })
      .expect(200);
    await eventually(
      'flap retargeted to other-1',
      async () => ({
        synced: syncsOf('flap', 'Synced'),
        clusters: await deployedClusters('flap/web'),
      }),
      (s) => s.synced >= 3 && s.clusters.includes('other-1'),
    );
    expect(syncsOf('flap', 'Synced')).toBe(3);
    expect(syncsOf('broken', 'SyncFailed')).toBe(1);
  });

  it('a group whose selector changes retargets the GitRepos that target it', async () => {
    const api = hub.api();
    await api
      .post('/api/v1/cluster-groups')
      .send({ name: 'chosen', selector: 'env=nowhere' })
      .expect(201);
    const repo = await git.createRepo('grp', {
      'apps/web/cm.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: grp}\ndata: {a: "1"}\n',
    });
    await api
      .post('/api/v1/gitrepos')
      .send({
        name: 'grp',
        url: repo.url,
        paths: ['apps'],
        pollingInterval: '0',
        targets: [{ clusterGroup: 'chosen' }],
      })
      .expect(201);
    // The group's creation may also retarget grp once it has a commit: one sync or two.
    await eventually(
      'grp synced',
      () => Promise.resolve(syncsOf('grp', 'Synced')),
      (n) => n >= 1,
    );
    expect(await deployedClusters('grp/web')).toEqual([]);
    await api.put('/api/v1/cluster-groups/chosen').send({ selector: 'env=prod' }).expect(200);
    await eventually(
      'grp retargeted to the group',
      () => deployedClusters('grp/web'),
      (clusters) => clusters.length > 0,
    );
    // The env=prod clusters of the test above.
    expect(await deployedClusters('grp/web')).toEqual(['flap-1', 'other-1']);
  });
});

import request from 'supertest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../agents/agent/agent.js';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import { eventually } from '../../libs/testing/index.js';
import { fleetClient } from '../support/grpc.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const INTERVAL_MS = 300;
let hub: TestHub;
/** Agents the current test started; stopped after it, pass or fail. */
const agents: RunningAgent[] = [];

beforeAll(async () => {
  hub = await startTestHub({ heartbeatInterval: `${INTERVAL_MS}ms` });
});
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
});
afterAll(async () => {
  await hub?.stop();
});

async function clusterOf(name: string) {
  return (await hub.api().get(`/api/v1/clusters/${name}`).expect(200)).body;
}

async function agentFor(token: string): Promise<RunningAgent> {
  const agent = await startAgent({
    hubUrl: hub.httpUrl,
    token,
    driver: new SimulatedCluster(),
    stateDir: mkdtempSync(join(tmpdir(), 'flotilla-agent-')),
    logger: pino({ level: 'silent' }),
  });
  agents.push(agent);
  return agent;
}

describe('agent liveness', () => {
  it('a cluster is Pending until its agent connects, then Online, and Offline after its death', async () => {
    const { body } = await hub
      .api()
      .post('/api/v1/clusters')
      .send({ name: 'live-1', labels: { env: 'dev' } })
      .expect(201);
    expect((await clusterOf('live-1')).state).toBe('Pending');

    const fleet = fleetClient(hub.grpcAddress!, hub.adminToken);
    const events: { type: string; cluster?: { name: string; state: string } }[] = [];
    const stream = fleet.client.WatchFleetStatus!({}, fleet.auth());
    stream.on('data', (e: any) => events.push(e));
    stream.on('error', () => undefined);
    await expect.poll(() => events.length).toBeGreaterThanOrEqual(1);

    const started = Date.now();
    const agent = await agentFor(body.token);
    expect(agent.cluster).toBe('live-1');
    const online = await eventually(
      'live-1 Online',
      () => clusterOf('live-1'),
      (c) => c.state === 'Online',
    );
    expect(online.agentVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(online.kubernetesVersion).toBe('v1.31.0+flotilla-sim');
    expect(new Date(online.lastSeen).getTime()).toBeGreaterThanOrEqual(started - 1000);

    // Heartbeats keep it Online well past one lease.
    const leaseMs = 3 * INTERVAL_MS;
    await new Promise((r) => setTimeout(r, leaseMs * 2));
    expect((await clusterOf('live-1')).state).toBe('Online');

    const { lastSeen } = await clusterOf('live-1');
    await agent.stop();
    const offline = await eventually(
      'live-1 Offline',
      () => clusterOf('live-1'),
      (c) => c.state === 'Offline',
    );
    // When the lease lapses (three intervals after the last heartbeat) is timed in
    // heartbeat-ingest.medium.spec.ts; here: the cluster keeps when it was last seen.
    expect(new Date(offline.lastSeen).getTime()).toBeGreaterThanOrEqual(
      new Date(lastSeen).getTime(),
    );

    await expect
      .poll(() =>
        events
          .filter((e) => e.cluster?.name === 'live-1')
          .map((e) => `${e.type}:${e.cluster!.state}`),
      )
      .toEqual(['StateChanged:Online', 'StateChanged:Offline']);
    stream.cancel();
    fleet.client.close();
  });

  it('an agent that comes back makes its cluster Online again, and fleet counts follow', async () => {
    const { body } = await hub.api().post('/api/v1/clusters').send({ name: 'live-2' }).expect(201);
    const first = await agentFor(body.token);
    await eventually(
      'live-2 Online',
      () => clusterOf('live-2'),
      (c) => c.state === 'Online',
    );
    await first.stop();
    await eventually(
      'live-2 Offline',
      () => clusterOf('live-2'),
      (c) => c.state === 'Offline',
    );
    const second = await agentFor(body.token);
    await eventually(
      'live-2 Online again',
      () => clusterOf('live-2'),
      (c) => c.state === 'Online',
    );
    const group = await hub
      .api()
      .post('/api/v1/cluster-groups')
      .send({ name: 'all', selector: '' })
      .expect(201);
    expect(group.body.summary).toEqual({ total: 2, online: 1, offline: 1, pending: 0 });
    await second.stop();
  });

  it('a hub restart keeps Offline detection: leases granted before it are timed after it', async () => {
    const { body } = await hub.api().post('/api/v1/clusters').send({ name: 'live-3' }).expect(201);
    const agent = await agentFor(body.token);
    await eventually(
      'live-3 Online',
      () => clusterOf('live-3'),
      (c) => c.state === 'Online',
    );
    // The hub goes down, the agent dies while it is down, and a new hub process starts on the
    // same database: it only knows the lease from PostgreSQL, and must still time it out.
    const { runHub } = await import('../../services/hub/hub.js');
    const { loadHubConfig } = await import('../../libs/config/config.js');
    await hub.close();
    await agent.stop();
    const restarted = await runHub({
      config: loadHubConfig(hub.env),
      logLevels: ['fatal', 'error'],
    });
    try {
      const api = request.agent(restarted.httpUrl).set('authorization', `Bearer ${hub.adminToken}`);
      await eventually(
        'live-3 Offline after the restart',
        async () => (await api.get('/api/v1/clusters/live-3').expect(200)).body,
        (c) => c.state === 'Offline',
      );
    } finally {
      await restarted.close();
    }
  });
});

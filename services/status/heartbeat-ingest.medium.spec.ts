import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ClusterEventSchema,
  createSubjects,
  type ClusterEvent,
  type Subjects,
} from '../../libs/contracts/index.js';
import { ClusterRepository } from '../../libs/db/index.js';
import { eventually, testNatsUrl, testSubjectPrefix } from '../../libs/testing/index.js';
import { HeartbeatIngestService } from './heartbeat-ingest.service.js';
import { useStatusTestbed } from './testbed.testing.js';

const bed = useStatusTestbed();
let clusters: ClusterRepository;

beforeAll(() => {
  clusters = new ClusterRepository(bed.ds);
});

/** The status service's liveness part, with the hub's heartbeat interval `intervalMs`. */
async function startLiveness(intervalMs: number): Promise<{
  subjects: Subjects;
  events: ClusterEvent[];
  registry: Registry;
  service: HeartbeatIngestService;
}> {
  const subjects = createSubjects(testSubjectPrefix());
  const events: ClusterEvent[] = [];
  const sub = bed.nc.subscribe(subjects.allEvents('cluster'), {
    callback: (err, msg) => {
      if (!err) events.push(ClusterEventSchema.parse(msg.json()));
    },
  });
  const registry = new Registry();
  const service = new HeartbeatIngestService(bed.nc, subjects, registry, clusters, {
    heartbeatIntervalMs: intervalMs,
  });
  await service.onApplicationBootstrap();
  await bed.nc.flush();
  bed.cleanups.push(async () => {
    sub.unsubscribe();
    await service.onModuleDestroy();
  });
  return { subjects, events, registry, service };
}

async function heldSoFar(registry: Registry): Promise<number> {
  return (await registry.getSingleMetric('flotilla_heartbeats_held_total')!.get()).values[0]!.value;
}

function heartbeat(cluster: string, intervalMs: number): string {
  return JSON.stringify({
    cluster,
    agentVersion: '0.1.0',
    kubernetesVersion: 'v1.31.0',
    intervalMs,
    sentAt: new Date().toISOString(),
  });
}

/** The state changes of one cluster (the tests share a database, so each looks at its own). */
function transitionsOf(events: ClusterEvent[], cluster: string): string[] {
  return events
    .filter((e) => e.cluster.name === cluster)
    .map((e) => `${e.cluster.name}:${e.cluster.state}`);
}

async function clusterRow(name: string) {
  const cluster = await clusters.get(name);
  return cluster;
}

/**
 * Heartbeats from another process, every `everyMs`: they keep coming while this process (the
 * hub) is stalled.
 */
function heartbeatsFromAnotherProcess(subject: string, cluster: string, everyMs: number): void {
  const script = `
    import { connect } from '@nats-io/transport-node';
    const nc = await connect({ servers: process.env.NATS_URL });
    const beat = () => nc.publish(process.env.SUBJECT, JSON.stringify({
      cluster: process.env.CLUSTER, agentVersion: '0.1.0', kubernetesVersion: 'v1.31.0',
      intervalMs: Number(process.env.EVERY), sentAt: new Date().toISOString() }));
    beat();
    setInterval(beat, Number(process.env.EVERY));
  `;
  const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: {
      ...process.env,
      NATS_URL: testNatsUrl(),
      SUBJECT: subject,
      CLUSTER: cluster,
      EVERY: String(everyMs),
    },
    stdio: 'ignore',
  });
  bed.cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  });
}

describe('cluster liveness', () => {
  it('times a lease with the hub interval, not the one the agent names: an agent claiming 1 h goes Offline three hub intervals after its last heartbeat', async () => {
    const { subjects, events } = await startLiveness(200);
    await clusters.create('claims-an-hour', {});
    bed.nc.publish(subjects.heartbeat('claims-an-hour'), heartbeat('claims-an-hour', 3_600_000));
    const online = await eventually(
      'Online',
      () => clusterRow('claims-an-hour'),
      (c) => c.state === 'Online',
    );
    expect(online.leaseExpiresAt!.getTime() - online.lastSeen!.getTime()).toBe(600);
    await eventually(
      'Offline after the hub-timed lease',
      () => clusterRow('claims-an-hour'),
      (c) => c.state === 'Offline',
    );
    // The event follows the row's change over NATS: wait for it, then check nothing else came.
    await eventually(
      'the Offline event',
      () => transitionsOf(events, 'claims-an-hour'),
      (t) => t.length >= 2,
    );
    expect(transitionsOf(events, 'claims-an-hour')).toEqual([
      'claims-an-hour:Online',
      'claims-an-hour:Offline',
    ]);
  });

  it('writes about every other renewal, and the last heartbeat before an agent stops always: Offline three intervals after it', async () => {
    const intervalMs = 1000;
    const { subjects, events, registry } = await startLiveness(intervalMs);
    await clusters.create('renews', {});
    let lastSentAt = 0;
    // Written: the first (Pending → Online), then those renewing a lease with one interval (the
    // margin) left: the 3rd and the 5th. The 2nd, 4th and 6th are held back; the 6th, the last,
    // is written only as the lease the 5th stored runs low.
    for (let i = 0; i < 6; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, intervalMs));
      lastSentAt = Date.now();
      bed.nc.publish(subjects.heartbeat('renews'), heartbeat('renews', intervalMs));
    }
    const offline = await eventually(
      'Offline after the last heartbeat',
      () => clusterRow('renews'),
      (c) => c.state === 'Offline',
    );
    const offlineSeenAt = Date.now();
    // The last heartbeat was stored (it renewed a lease stored with more than the margin left,
    // so it had been held back), with the lease it granted.
    expect(offline.lastSeen!.getTime()).toBeGreaterThanOrEqual(lastSentAt);
    expect(offline.leaseExpiresAt!.getTime() - offline.lastSeen!.getTime()).toBe(3 * intervalMs);
    expect(offlineSeenAt).toBeGreaterThanOrEqual(offline.leaseExpiresAt!.getTime());
    expect(await heldSoFar(registry)).toBeGreaterThan(0);
    await eventually(
      'the Offline event',
      () => transitionsOf(events, 'renews'),
      (t) => t.length >= 2,
    );
    expect(transitionsOf(events, 'renews')).toEqual(['renews:Online', 'renews:Offline']);
  });

  it('a replica that stops stores the heartbeats it held back', async () => {
    const intervalMs = 1000;
    const { subjects, registry, service } = await startLiveness(intervalMs);
    await clusters.create('leaves', {});
    bed.nc.publish(subjects.heartbeat('leaves'), heartbeat('leaves', intervalMs));
    const first = await eventually(
      'Online',
      () => clusterRow('leaves'),
      (c) => c.state === 'Online',
    );
    // Renews a lease stored with three intervals left: held back, not written.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const sentAt = Date.now();
    bed.nc.publish(subjects.heartbeat('leaves'), heartbeat('leaves', intervalMs));
    await eventually(
      'the renewal held back',
      () => heldSoFar(registry),
      (n) => n >= 1,
    );
    expect((await clusterRow('leaves')).lastSeen).toEqual(first.lastSeen);

    await service.onModuleDestroy();
    const stored = await clusterRow('leaves');
    expect(stored.lastSeen!.getTime()).toBeGreaterThanOrEqual(sentAt);
    expect(stored.leaseExpiresAt!.getTime()).toBeGreaterThan(first.leaseExpiresAt!.getTime());
  });

  it('a paused database does not make the hub mark Offline a cluster whose heartbeats it received meanwhile', async () => {
    const intervalMs = 300;
    const { subjects, events } = await startLiveness(intervalMs);
    await clusters.create('steady', {});
    const beats = setInterval(
      () => bed.nc.publish(subjects.heartbeat('steady'), heartbeat('steady', intervalMs)),
      100,
    );
    bed.cleanups.push(() => Promise.resolve(clearInterval(beats)));
    await eventually(
      'Online',
      () => clusterRow('steady'),
      (c) => c.state === 'Online',
    );

    // The database stalls for ten hub intervals (three make a lease): no write gets through.
    const blocker = new pg.Client({ connectionString: bed.url });
    await blocker.connect();
    bed.cleanups.push(() => blocker.end());
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE clusters IN ACCESS EXCLUSIVE MODE');
    const pausedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 10 * intervalMs));
    await blocker.query('COMMIT');
    const resumedAt = Date.now();

    // Everything the hub decided during the pause has reached the database once heartbeats of
    // two leases after it have.
    await eventually(
      'heartbeats written well after the pause',
      () => clusterRow('steady'),
      (c) => c.lastSeen !== null && c.lastSeen.getTime() > resumedAt + 6 * intervalMs,
    );
    expect((await clusterRow('steady')).state).toBe('Online');
    expect(transitionsOf(events, 'steady')).toEqual(['steady:Online']);
    expect(resumedAt - pausedAt).toBeGreaterThanOrEqual(10 * intervalMs);
  });

  it('a blocked event loop does not make the hub mark Offline a cluster whose heartbeats were waiting to be read', async () => {
    const intervalMs = 300;
    const { subjects, events } = await startLiveness(intervalMs);
    await clusters.create('patient', {});
    heartbeatsFromAnotherProcess(subjects.heartbeat('patient'), 'patient', 100);
    await eventually(
      'Online',
      () => clusterRow('patient'),
      (c) => c.state === 'Online',
    );

    // The hub's event loop is blocked for ten intervals; the agent keeps heartbeating.
    const blockedUntil = Date.now() + 10 * intervalMs;
    while (Date.now() < blockedUntil) {
      // busy: nothing else in this process runs
    }

    await eventually(
      'heartbeats written well after the stall',
      () => clusterRow('patient'),
      (c) => c.lastSeen !== null && c.lastSeen.getTime() > blockedUntil + 6 * intervalMs,
    );
    expect((await clusterRow('patient')).state).toBe('Online');
    expect(transitionsOf(events, 'patient')).toEqual(['patient:Online']);
  });

  it('a cluster whose agent died still goes Offline after a stall, one interval after the hub observes again', async () => {
    const intervalMs = 300;
    const { subjects } = await startLiveness(intervalMs);
    await clusters.create('gone', {});
    bed.nc.publish(subjects.heartbeat('gone'), heartbeat('gone', intervalMs));
    await eventually(
      'Online',
      () => clusterRow('gone'),
      (c) => c.state === 'Online',
    );
    const blockedUntil = Date.now() + 10 * intervalMs;
    while (Date.now() < blockedUntil) {
      // busy
    }
    await eventually(
      'Offline',
      () => clusterRow('gone'),
      (c) => c.state === 'Offline',
    );
  });
});

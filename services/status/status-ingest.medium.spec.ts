import 'reflect-metadata';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSubjects, type Subjects } from '../../libs/contracts/index.js';
import { BundleRepository, ClusterRepository, DeploymentRepository } from '../../libs/db/index.js';
import { STATUS_CONSUMER, ensureStatusStream, statusStreamName } from '../../libs/nats/index.js';
import { eventually, testSubjectPrefix } from '../../libs/testing/index.js';
import type { ResolvedHubConfig } from '../shared/infrastructure.module.js';
import { ReadinessService } from '../shared/readiness.service.js';
import { StatusIngestService } from './status-ingest.service.js';
import { useStatusTestbed } from './testbed.testing.js';

// The status stream and its consumer going away (deleted by hand, a NATS server that lost its
// store) or JetStream not answering under load: status reports keep being written.
const bed = useStatusTestbed();
let jsm: JetStreamManager;
const rev = '4'.repeat(64);

beforeAll(async () => {
  jsm = await jetstreamManager(bed.nc);
  await new BundleRepository(bed.ds).storeRevision(rev, Buffer.from('[]'));
});

/** The status service; `timeouts` lists JetStream API requests its next checks see time out. */
class IngestWithFlakyJetStream extends StatusIngestService {
  timeouts: ('stream info' | 'consumer info')[] = [];

  protected override async jetStreamManager(): Promise<JetStreamManager> {
    const manager = await super.jetStreamManager();
    const failing = this.timeouts.shift();
    const timeout = () => Promise.reject(new errors.TimeoutError());
    if (failing === 'stream info') manager.streams.info = timeout;
    if (failing === 'consumer info') manager.consumers.info = timeout;
    return manager;
  }
}

interface Hub {
  subjects: Subjects;
  stream: string;
  service: IngestWithFlakyJetStream;
  registry: Registry;
}

async function startHub(): Promise<Hub> {
  const prefix = testSubjectPrefix();
  const subjects = createSubjects(prefix);
  const stream = statusStreamName(prefix);
  const registry = new Registry();
  const service = new IngestWithFlakyJetStream(
    bed.nc,
    subjects,
    { subjectPrefix: prefix, natsReplicas: 1 } as ResolvedHubConfig,
    registry,
    new DeploymentRepository(bed.ds),
    new ReadinessService(bed.nc, bed.ds),
  );
  bed.cleanups.push(() => jsm.streams.delete(stream).catch(() => undefined));
  await service.onApplicationBootstrap();
  bed.cleanups.push(() => service.onModuleDestroy());
  return { subjects, stream, service, registry };
}

/** A cluster with `bundle` desired on it, nothing reported yet. */
async function deployment(cluster: string, bundle: string): Promise<void> {
  await new ClusterRepository(bed.ds).create(cluster, {});
  await bed.ds.query(
    `INSERT INTO deployments (bundle, cluster, desired_revision, desired_commit)
     VALUES ($1, $2, $3, 'c1')`,
    [bundle, cluster, rev],
  );
}

/** What the agent of `cluster` does: a report through JetStream (acked by the stream). */
async function report(hub: Hub, cluster: string, bundle: string, state: string): Promise<void> {
  await jetstream(bed.nc).publish(
    hub.subjects.status(cluster),
    JSON.stringify({
      cluster,
      bundle,
      revision: rev,
      state,
      message: '',
      resources: [],
      observedAt: new Date().toISOString(),
    }),
  );
}

async function stateOf(cluster: string, bundle: string): Promise<string | undefined> {
  const rows: { state: string }[] = await bed.ds.query(
    'SELECT state FROM deployments WHERE cluster = $1 AND bundle = $2',
    [cluster, bundle],
  );
  return rows[0]?.state;
}

async function written(cluster: string, bundle: string, state: string): Promise<void> {
  await eventually(
    `${cluster}/${bundle} written as ${state}`,
    () => stateOf(cluster, bundle),
    (s) => s === state,
  );
}

async function recreations(hub: Hub): Promise<number> {
  const metric = await hub.registry
    .getSingleMetric('flotilla_status_stream_recreated_total')
    ?.get();
  return metric?.values[0]?.value ?? 0;
}

describe('status ingest when the status stream or its consumer goes away', () => {
  it('a deleted consumer is re-created and reports sent after it are written', async () => {
    const hub = await startHub();
    await deployment('consumer-gone', 'app/web');
    await report(hub, 'consumer-gone', 'app/web', 'WaitApplied');
    await written('consumer-gone', 'app/web', 'WaitApplied');

    await jsm.consumers.delete(hub.stream, STATUS_CONSUMER);
    await report(hub, 'consumer-gone', 'app/web', 'Ready');

    await written('consumer-gone', 'app/web', 'Ready');
    expect(await recreations(hub)).toBe(1);
    // The report was taken off the work queue once written.
    await eventually(
      'the stream emptied',
      () => jsm.streams.info(hub.stream),
      (i) => i.state.messages === 0,
    );
  });

  it('a deleted stream is re-created by the hub and new reports are written', async () => {
    const hub = await startHub();
    await deployment('stream-gone', 'app/web');
    await report(hub, 'stream-gone', 'app/web', 'WaitApplied');
    await written('stream-gone', 'app/web', 'WaitApplied');

    await jsm.streams.delete(hub.stream);
    // Agents retry a report the stream did not take: once it is back, it is taken.
    await eventually(
      'the stream and its consumer back',
      () => jsm.consumers.info(hub.stream, STATUS_CONSUMER),
      (c) => c.name === STATUS_CONSUMER,
    );
    await report(hub, 'stream-gone', 'app/web', 'Ready');

    await written('stream-gone', 'app/web', 'Ready');
    expect(await recreations(hub)).toBeGreaterThanOrEqual(1);
  });

  it('a stream deleted and re-created by someone else (another hub replica) is consumed again', async () => {
    const hub = await startHub();
    await deployment('stream-replaced', 'app/web');
    await report(hub, 'stream-replaced', 'app/web', 'WaitApplied');
    await written('stream-replaced', 'app/web', 'WaitApplied');

    await jsm.streams.delete(hub.stream);
    const created = await ensureStatusStream(jsm, hub.stream, hub.subjects.allStatus());
    expect(created).toEqual({ stream: true, consumer: true });
    await report(hub, 'stream-replaced', 'app/web', 'Ready');

    await written('stream-replaced', 'app/web', 'Ready');
  });
});

describe('status ingest when JetStream does not answer', () => {
  it('a timed-out stream or consumer check re-creates nothing, and ingest goes on', async () => {
    const hub = await startHub();
    await deployment('slow-jetstream', 'app/web');
    const before = {
      stream: (await jsm.streams.info(hub.stream)).created,
      consumer: (await jsm.consumers.info(hub.stream, STATUS_CONSUMER)).created,
    };
    await report(hub, 'slow-jetstream', 'app/web', 'WaitApplied');
    await written('slow-jetstream', 'app/web', 'WaitApplied');

    // The next checks time out: first asking for the stream, then for the consumer.
    hub.service.timeouts.push('stream info', 'consumer info');
    await eventually(
      'both timed-out checks made',
      () => hub.service.timeouts.length,
      (n) => n === 0,
    );
    await report(hub, 'slow-jetstream', 'app/web', 'Ready');

    await written('slow-jetstream', 'app/web', 'Ready');
    expect(await recreations(hub)).toBe(0);
    expect((await jsm.streams.info(hub.stream)).created).toBe(before.stream);
    expect((await jsm.consumers.info(hub.stream, STATUS_CONSUMER)).created).toBe(before.consumer);
  });
});

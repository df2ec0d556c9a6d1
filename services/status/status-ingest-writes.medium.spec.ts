import 'reflect-metadata';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createSubjects,
  deploymentChangesOf,
  type StatusBatch,
  type StatusReport,
  type Subjects,
} from '../../libs/contracts/index.js';
import { BundleRepository, ClusterRepository, DeploymentRepository } from '../../libs/db/index.js';
import { ensureStatusStream, STATUS_CONSUMER, statusStreamName } from '../../libs/nats/index.js';
import { eventually, testSubjectPrefix } from '../../libs/testing/index.js';
import type { ResolvedHubConfig } from '../shared/infrastructure.module.js';
import { ReadinessService } from '../shared/readiness.service.js';
import { StatusIngestService } from './status-ingest.service.js';
import { useStatusTestbed } from './testbed.testing.js';

// Agents' status reports from the JetStream stream into PostgreSQL: a backlog of reports,
// stale and new mixed, written in batches (several at once), leaves every deployment at its
// newest report, and the DeploymentsChanged events end at the state written.
const bed = useStatusTestbed();
const rev = '5'.repeat(64);
const CLUSTERS = ['c0', 'c1', 'c2', 'c3'];
const BUNDLES = ['app/a', 'app/b'];
/** When every deployment's stored report was observed. */
const STORED_AT = Date.parse('2026-01-01T00:00:00Z');

beforeAll(async () => {
  const clusters = new ClusterRepository(bed.ds);
  for (const c of CLUSTERS) await clusters.create(c, {});
  await new BundleRepository(bed.ds).storeRevision(rev, Buffer.from('[]'));
});

/** Every deployment Ready with message `stored`, reported at STORED_AT. */
async function resetDeployments(): Promise<void> {
  await bed.ds.query('DELETE FROM deployments');
  await bed.ds.query(
    `INSERT INTO deployments (bundle, cluster, desired_revision, desired_commit, applied_revision,
                              state, message, reported_at)
     SELECT b, c, $1, 'c1', $1, 'Ready', 'stored', $2
       FROM unnest($3::text[]) AS b, unnest($4::text[]) AS c`,
    [rev, new Date(STORED_AT), BUNDLES, CLUSTERS],
  );
}

async function stored(): Promise<Map<string, { state: string; message: string; at: number }>> {
  const rows: { bundle: string; cluster: string; state: string; message: string; at: Date }[] =
    await bed.ds.query(
      'SELECT bundle, cluster, state, message, reported_at AS at FROM deployments ORDER BY 1, 2',
    );
  return new Map(
    rows.map((r) => [
      `${r.bundle} ${r.cluster}`,
      { state: r.state, message: r.message, at: r.at.getTime() },
    ]),
  );
}

const report = (
  cluster: string,
  bundle: string,
  state: StatusReport['state'],
  at: number,
  message: string,
): StatusReport => ({
  cluster,
  bundle,
  revision: rev,
  state,
  message,
  resources: [],
  observedAt: new Date(at).toISOString(),
});

/**
 * Publishes `messages` to the status stream before the service runs (a backlog), then starts
 * the service; returns the last event state seen per deployment and a wait for the backlog
 * to be written and acked.
 */
async function ingest(messages: StatusBatch[]): Promise<{
  lastEvent: Map<string, string>;
  drained: () => Promise<void>;
  registry: Registry;
}> {
  const prefix = testSubjectPrefix();
  const subjects: Subjects = createSubjects(prefix);
  const jsm = await jetstreamManager(bed.nc);
  const stream = statusStreamName(prefix);
  await ensureStatusStream(jsm, stream, subjects.allStatus());
  bed.cleanups.push(() => jsm.streams.delete(stream));
  const js = jetstream(bed.nc);
  for (const m of messages) await js.publish(subjects.status(m.cluster), JSON.stringify(m));

  const lastEvent = new Map<string, string>();
  const sub = bed.nc.subscribe(subjects.allEvents('deployment'), {
    callback: (err, msg) => {
      if (err) return;
      for (const c of deploymentChangesOf(msg.json())) {
        lastEvent.set(`${c.bundle} ${c.cluster}`, c.state);
      }
    },
  });
  bed.cleanups.push(() => Promise.resolve(sub.unsubscribe()));
  const registry = new Registry();
  const service = new StatusIngestService(
    bed.nc,
    subjects,
    { subjectPrefix: prefix, natsReplicas: 1 } as ResolvedHubConfig,
    registry,
    new DeploymentRepository(bed.ds),
    new ReadinessService(bed.nc, bed.ds),
  );
  await service.onApplicationBootstrap();
  bed.cleanups.push(() => service.onModuleDestroy());
  const drained = async () => {
    await eventually(
      'the backlog written and acked',
      async () => {
        const info = await jsm.consumers.info(stream, STATUS_CONSUMER);
        return info.num_pending + info.num_ack_pending;
      },
      (n) => n === 0,
    );
    await bed.nc.flush();
  };
  return { lastEvent, drained, registry };
}

describe('StatusIngestService', () => {
  it('writes only the new reports of a batch that mixes stale and new ones', async () => {
    await resetDeployments();
    const messages: StatusBatch[] = CLUSTERS.map((cluster) => ({
      cluster,
      reports: [
        // Older than what PostgreSQL holds: ignored.
        report(cluster, 'app/a', 'NotReady', STORED_AT - 1000, 'stale'),
        report(cluster, 'app/b', 'Modified', STORED_AT + 1000, 'new'),
      ],
    }));
    // c0's app/a: a newer report first, then an older one (still newer than the stored one).
    messages.push(
      { cluster: 'c0', reports: [report('c0', 'app/a', 'ErrApplied', STORED_AT + 5000, 'newest')] },
      { cluster: 'c0', reports: [report('c0', 'app/a', 'NotReady', STORED_AT + 2000, 'older')] },
    );
    const { lastEvent, drained } = await ingest(messages);
    await drained();

    const rows = await stored();
    for (const cluster of CLUSTERS) {
      expect(rows.get(`app/b ${cluster}`)).toEqual({
        state: 'Modified',
        message: 'new',
        at: STORED_AT + 1000,
      });
      expect(lastEvent.get(`app/b ${cluster}`)).toBe('Modified');
    }
    for (const cluster of ['c1', 'c2', 'c3']) {
      expect(rows.get(`app/a ${cluster}`)).toEqual({
        state: 'Ready',
        message: 'stored',
        at: STORED_AT,
      });
      expect(lastEvent.has(`app/a ${cluster}`)).toBe(false);
    }
    expect(rows.get('app/a c0')).toEqual({
      state: 'ErrApplied',
      message: 'newest',
      at: STORED_AT + 5000,
    });
    expect(lastEvent.get('app/a c0')).toBe('ErrApplied');
  });

  it('a backlog larger than one write leaves every deployment at its newest report', async () => {
    await resetDeployments();
    // 800 rounds of every deployment's report (6,400 reports, more than one write holds), each
    // round newer than the one before; every 7th round is stale (older than the stored report).
    const ROUNDS = 800;
    const messages: StatusBatch[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const stale = round % 7 === 3;
      const at = stale ? STORED_AT - 1000 - round : STORED_AT + 1000 + round;
      const state: StatusReport['state'] = stale
        ? 'ErrApplied'
        : round % 2 === 0
          ? 'Modified'
          : 'Ready';
      for (const cluster of CLUSTERS) {
        messages.push({
          cluster,
          reports: BUNDLES.map((b) => report(cluster, b, state, at, `round ${round}`)),
        });
      }
    }
    const { lastEvent, drained } = await ingest(messages);
    await drained();

    const last = ROUNDS - 1;
    const rows = await stored();
    for (const bundle of BUNDLES) {
      for (const cluster of CLUSTERS) {
        expect(rows.get(`${bundle} ${cluster}`)).toEqual({
          state: 'Ready',
          message: `round ${last}`,
          at: STORED_AT + 1000 + last,
        });
        expect(lastEvent.get(`${bundle} ${cluster}`)).toBe('Ready');
      }
    }
  });

  it('a report PostgreSQL cannot store does not hold back the rest of its batch', async () => {
    await resetDeployments();
    const at = STORED_AT + 1000;
    // Every deployment reports Modified in one write; two reports hold what PostgreSQL refuses:
    // c1's app/a a NUL in its message (stored without message and resources), c2's app/b a lone
    // surrogate in its revision (refused however written: dropped).
    const messages: StatusBatch[] = CLUSTERS.map((cluster) => ({
      cluster,
      reports: BUNDLES.map((b) => ({
        ...report(cluster, b, 'Modified', at, `fine ${cluster}`),
        ...(cluster === 'c1' && b === 'app/a' ? { message: 'bad \u0000 message' } : {}),
        ...(cluster === 'c2' && b === 'app/b' ? { revision: 'bad \ud800 revision' } : {}),
      })),
    }));
    const { lastEvent, drained, registry } = await ingest(messages);
    await drained();

    const rows = await stored();
    for (const bundle of BUNDLES) {
      for (const cluster of CLUSTERS) {
        const key = `${bundle} ${cluster}`;
        if (key === 'app/a c1') {
          expect(rows.get(key)).toMatchObject({ state: 'Modified', at });
          expect(rows.get(key)?.message).toMatch(
            /^PostgreSQL refused the report: .*unsupported Unicode escape sequence.*; stored without its message and resources$/,
          );
          expect(lastEvent.get(key)).toBe('Modified');
        } else if (key === 'app/b c2') {
          expect(rows.get(key)).toEqual({ state: 'Ready', message: 'stored', at: STORED_AT });
          expect(lastEvent.has(key)).toBe(false);
        } else {
          expect(rows.get(key)).toEqual({ state: 'Modified', message: `fine ${cluster}`, at });
          expect(lastEvent.get(key)).toBe('Modified');
        }
      }
    }
    const rejected = await registry
      .getSingleMetric('flotilla_status_reports_rejected_total')
      ?.get();
    expect(rejected?.values[0]?.value).toBe(2);
  });
});

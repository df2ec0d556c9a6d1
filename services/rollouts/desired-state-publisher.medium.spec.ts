import { performance } from 'node:perf_hooks';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DesiredMessageSchema,
  PayloadSigner,
  PayloadVerifier,
  SIGNATURE_HEADER,
  changesOf,
  createSubjects,
  generateSigningKeyPair,
} from '../../libs/contracts/index.js';
import {
  AgentSequenceRepository,
  BundleRepository,
  ClusterRepository,
  DeploymentRepository,
} from '../../libs/db/index.js';
import {
  eventually,
  testNatsUrl,
  testSubjectPrefix,
  useMigratedDatabase,
} from '../../libs/testing/index.js';
import { FakeClock } from '../../libs/testing/fake-clock.js';
import { DesiredStatePublisher, RESEND_POLICY, SYNC_HOLD } from './desired-state-publisher.js';

// Re-sends of desired state agents do not acknowledge, on the real PostgreSQL and NATS, with the
// publisher's ticks driven by hand on a fake clock (a tick every 5 s of it, as the timer does).

const TICK_MS = 5000;
const db = useMigratedDatabase();
const subjects = createSubjects(testSubjectPrefix());
const r1 = 'a'.repeat(64);
let hubNc: NatsConnection;
let observer: NatsConnection;
let registry: Registry;
let clock: FakeClock;
let deployments: DeploymentRepository;
let publisher: DesiredStatePublisher;
const keys = generateSigningKeyPair();

async function metric(name: string): Promise<number> {
  const text = await registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? 0);
}
/** Desired-state changes the publisher queued into flushes so far (counted as a flush starts). */
async function flushed(): Promise<number> {
  const text = await registry.metrics();
  return text
    .split('\n')
    .filter((l) => l.startsWith('flotilla_desired_state_messages_total{'))
    .reduce((sum, l) => sum + Number(l.split(' ')[1]), 0);
}
const upsert = (cluster: string, bundle: string) => ({
  kind: 'Upsert' as const,
  cluster,
  bundle,
  revision: r1,
  commit: 'c1',
});

/** What an agent sees on the desired subjects of `clusters`: each message, checked as an agent does. */
function watchDesired(clusters: string[]) {
  const verifier = new PayloadVerifier(keys.publicKeyPem);
  const got: { cluster: string; seq: number; verified: boolean; bundles: string[] }[] = [];
  const subs = clusters.map((cluster) =>
    observer.subscribe(subjects.desired(cluster), {
      callback: (_err, msg) => {
        const message = DesiredMessageSchema.parse(msg.json());
        got.push({
          cluster: message.cluster === cluster ? cluster : `wrong: ${message.cluster}`,
          seq: message.seq,
          verified: verifier.verify(msg.data, msg.headers?.get(SIGNATURE_HEADER)),
          bundles: changesOf(message).map((c) => c.bundle),
        });
      },
    }),
  );
  return { got, stop: () => subs.forEach((s) => s.unsubscribe()) };
}
const resentMetric = () => metric('flotilla_desired_state_resent_total');

/** An Online cluster with `bundles` desired at r1 an hour ago, never reported. */
async function silentCluster(name: string, bundles: string[]): Promise<void> {
  await new ClusterRepository(db.ds).create(name, {});
  await db.ds.query(`UPDATE clusters SET state = 'Online' WHERE name = $1`, [name]);
  await db.ds.query(
    `INSERT INTO deployments (bundle, cluster, desired_revision, desired_commit, desired_at)
     SELECT b, $1, $2, 'c1', now() - interval '1 hour' FROM unnest($3::text[]) AS b`,
    [name, r1, bundles],
  );
}

/** Moves the clock one tick on and runs the tick; returns how many it re-sent. */
async function tick(): Promise<number> {
  await clock.advance(TICK_MS);
  const n = await publisher.resendDue();
  await publisher.flush();
  return n;
}

beforeAll(async () => {
  hubNc = await connect({ servers: testNatsUrl() });
  observer = await connect({ servers: testNatsUrl() });
  registry = new Registry();
  clock = new FakeClock(1_000_000);
  deployments = new DeploymentRepository(db.ds);
  const bundles = new BundleRepository(db.ds);
  await bundles.storeRevision(r1, Buffer.from('[]'));
  publisher = new DesiredStatePublisher(
    hubNc,
    subjects,
    registry,
    new PayloadSigner(keys.privateKeyPem),
    deployments,
    bundles,
    new AgentSequenceRepository(db.ds),
    clock,
  );
});

afterAll(async () => {
  await publisher?.stop();
  await Promise.all([hubNc, observer].map((nc) => nc?.close()));
});

describe('re-sending desired state an agent does not acknowledge', () => {
  it('a cluster that never acknowledges gets re-sends at growing intervals, then converges when its agent comes back', async () => {
    await silentCluster('silent', ['demo/web']);
    const received: number[] = [];
    const sub = observer.subscribe(subjects.desired('silent'), {
      callback: (_err, msg) => {
        for (const c of changesOf(DesiredMessageSchema.parse(msg.json()))) {
          if (c.kind === 'Upsert' && c.bundle === 'demo/web') received.push(msg.data.length);
        }
      },
    });
    await observer.flush();
    try {
      // Ten minutes of the hub's clock with the agent silent.
      const span = 10 * 60_000;
      const sentAt: number[] = [];
      for (let t = 0; t < span; t += TICK_MS) {
        if ((await tick()) > 0) sentAt.push(clock.now());
      }
      // Every re-send went out, counted by the metric and seen on the agent's subject.
      await hubNc.flush();
      await eventually(
        'every re-send received',
        () => Promise.resolve(received.length),
        (n) => n === sentAt.length,
      );
      expect(await resentMetric()).toBe(sentAt.length);
      // Re-sending every 5 s would have sent 120 times; backing off to at most a minute apart
      // (at least half of it with jitter), far fewer.
      const everyTick = span / TICK_MS;
      expect(sentAt.length).toBeGreaterThanOrEqual(span / RESEND_POLICY.maxMs);
      expect(sentAt.length).toBeLessThan(everyTick / 3);
      const gaps = sentAt.slice(1).map((at, i) => at - sentAt[i]!);
      expect(gaps.at(-1)!).toBeGreaterThanOrEqual(3 * gaps[0]!);
      expect(Math.max(...gaps)).toBeLessThanOrEqual(RESEND_POLICY.maxMs + TICK_MS);

      // The agent comes back: it applies what the next re-send carries and reports it.
      const agent = observer.subscribe(subjects.desired('silent'), {
        callback: (_err, msg) => {
          for (const c of changesOf(DesiredMessageSchema.parse(msg.json()))) {
            if (c.kind !== 'Upsert') continue;
            void deployments.recordReports([
              {
                cluster: 'silent',
                bundle: c.bundle,
                revision: c.revision,
                state: 'Ready',
                message: '',
                resources: [],
                observedAt: new Date(),
              },
            ]);
          }
        },
      });
      await observer.flush();
      try {
        let ticks = 0;
        await eventually(
          'silent/demo/web Ready at r1',
          async () => {
            if (ticks++ < (2 * RESEND_POLICY.maxMs) / TICK_MS) await tick();
            return deployments.list({ cluster: 'silent' });
          },
          (rows) => rows[0]?.state === 'Ready' && rows[0].appliedRevision === r1,
        );
      } finally {
        agent.unsubscribe();
      }
      // Acknowledged: nothing more is re-sent.
      const before = await resentMetric();
      for (let i = 0; i < 30; i++) await tick();
      expect(await resentMetric()).toBe(before);
      // Re-sends are not fan-outs of a delivery pass: the latency histogram saw none.
      expect(await metric('flotilla_desired_state_fanout_seconds_count')).toBe(0);
    } finally {
      sub.unsubscribe();
    }
  });

  it('a backlog larger than the budget gets at most the budget each tick, each deployment in turn', async () => {
    const bundles = Array.from(
      { length: 4 * RESEND_POLICY.perTick },
      (_, i) => `bulk/b${String(i).padStart(5, '0')}`,
    );
    await silentCluster('bulk', bundles);
    const resent = new Map<string, number>();
    const sub = observer.subscribe(subjects.desired('bulk'), {
      callback: (_err, msg) => {
        for (const c of changesOf(DesiredMessageSchema.parse(msg.json()))) {
          resent.set(c.bundle, (resent.get(c.bundle) ?? 0) + 1);
        }
      },
    });
    await observer.flush();
    try {
      const perTick: number[] = [];
      for (let i = 0; i < 4; i++) perTick.push(await tick());
      expect(perTick).toEqual([500, 500, 500, 500]);
      await hubNc.flush();
      await eventually(
        'each bulk deployment re-sent once',
        () => Promise.resolve(resent),
        (m) => m.size === bundles.length,
      );
      expect([...resent.values()].every((n) => n === 1)).toBe(true);
    } finally {
      sub.unsubscribe();
    }
  });

  it('changes of delivery passes are sent once per cluster, and the fan-out latency of each bundle observed once', async () => {
    await new ClusterRepository(db.ds).create('fan-1', {});
    await new ClusterRepository(db.ds).create('fan-2', {});
    const got: string[] = [];
    const subs = ['fan-1', 'fan-2'].map((cluster) =>
      observer.subscribe(subjects.desired(cluster), {
        callback: (_err, msg) => {
          for (const c of changesOf(DesiredMessageSchema.parse(msg.json()))) {
            got.push(`${cluster} ${c.bundle}`);
          }
        },
      }),
    );
    await observer.flush();
    try {
      const before = await metric('flotilla_desired_state_fanout_seconds_count');
      const upsert = (cluster: string, bundle: string) => ({
        kind: 'Upsert' as const,
        cluster,
        bundle,
        revision: r1,
        commit: 'c1',
      });
      // Two passes running together, as a commit touching two bundles makes them.
      const asked = performance.now();
      await publisher.during(async () => {
        await publisher.during(() =>
          publisher.publish([upsert('fan-1', 'fan/a'), upsert('fan-2', 'fan/a')], asked),
        );
        await publisher.publish([upsert('fan-1', 'fan/b')], asked);
      });
      await publisher.flush();
      await hubNc.flush();
      await eventually(
        'three changes received',
        () => Promise.resolve(got),
        (g) => g.length === 3,
      );
      expect(got.sort()).toEqual(['fan-1 fan/a', 'fan-1 fan/b', 'fan-2 fan/a']);
      expect(await metric('flotilla_desired_state_fanout_seconds_count')).toBe(before + 2);
      expect(await metric('flotilla_desired_state_fanout_seconds_sum')).toBeGreaterThan(0);
    } finally {
      for (const sub of subs) sub.unsubscribe();
    }
  });
});

describe("a sync's bundles reach each agent in one message", () => {
  it('what the passes of a held sync write is sent when it is released: one signed message per cluster, each bundle in it', async () => {
    // More clusters than one chunk of signatures and publishes.
    const clusters = Array.from({ length: 300 }, (_, i) => `sync-${String(i).padStart(3, '0')}`);
    const seen = watchDesired(clusters);
    await observer.flush();
    try {
      const before = await flushed();
      publisher.hold('sync-1');
      for (const bundle of ['sync/a', 'sync/b', 'sync/c']) {
        await publisher.during(() =>
          publisher.publish(
            clusters.map((c) => upsert(c, bundle)),
            performance.now(),
          ),
        );
      }
      // Every pass ended, but the sync has not announced its end: nothing went out.
      expect(await flushed()).toBe(before);
      publisher.release('sync-1');
      await publisher.flush();
      await hubNc.flush();
      await eventually(
        'a message for every cluster',
        () => Promise.resolve(seen.got.length),
        (n) => n >= clusters.length,
      );
      expect(await flushed()).toBe(before + 3 * clusters.length);
      expect(seen.got.length).toBe(clusters.length);
      expect(new Set(seen.got.map((m) => m.cluster))).toEqual(new Set(clusters));
      expect(seen.got.every((m) => m.verified)).toBe(true);
      expect(seen.got.every((m) => m.bundles.join() === 'sync/a,sync/b,sync/c')).toBe(true);

      // The next message of a cluster is numbered above the last one.
      const last = new Map(seen.got.map((m) => [m.cluster, m.seq]));
      await publisher.publish([upsert('sync-000', 'sync/d')], performance.now());
      await publisher.flush();
      await hubNc.flush();
      await eventually(
        'the next message',
        () => Promise.resolve(seen.got.length),
        (n) => n === clusters.length + 1,
      );
      expect(seen.got.at(-1)!.seq).toBeGreaterThan(last.get('sync-000')!);
    } finally {
      seen.stop();
    }
  });

  it('syncs that overlap one another (many GitRepos) hold a change SYNC_HOLD.maxMs at most in all', async () => {
    const seen = watchDesired(['overlap-1']);
    await observer.flush();
    try {
      const before = await flushed();
      publisher.hold('overlap-0');
      await publisher.during(() => publisher.publish([upsert('overlap-1', 'overlap/a')]));
      // A new sync every SYNC_HOLD.quietMs / 2, each announced once: some sync always holds.
      const step = SYNC_HOLD.quietMs / 2;
      let elapsed = 0;
      let n = 1;
      while (elapsed + step < SYNC_HOLD.maxMs) {
        publisher.hold(`overlap-${n++}`);
        await clock.advance(step);
        elapsed += step;
        expect(await flushed()).toBe(before);
      }
      publisher.hold(`overlap-${n++}`);
      await clock.advance(SYNC_HOLD.maxMs - elapsed);
      // Sent by the publisher itself (publisher.flush() would send whatever holds it).
      await eventually('the outbox sent', flushed, (count) => count === before + 1);
      await hubNc.flush();
      await eventually(
        'the held change',
        () => Promise.resolve(seen.got.length),
        (count) => count === 1,
      );
      expect(seen.got[0]!.bundles).toEqual(['overlap/a']);
    } finally {
      seen.stop();
    }
  });

  it('a sync that goes quiet, or holds too long, stops holding; an ended sync does not hold again', async () => {
    const seen = watchDesired(['quiet-1']);
    await observer.flush();
    try {
      const before = await flushed();
      publisher.hold('quiet');
      await publisher.during(() => publisher.publish([upsert('quiet-1', 'quiet/a')]));
      await clock.advance(SYNC_HOLD.quietMs - 1);
      expect(await flushed()).toBe(before);
      await clock.advance(1);
      await publisher.flush();
      expect(await flushed()).toBe(before + 1);

      // Announced again after it stopped holding: sent as soon as the pass ends.
      publisher.hold('quiet');
      await publisher.during(() => publisher.publish([upsert('quiet-1', 'quiet/b')]));
      await publisher.flush();
      expect(await flushed()).toBe(before + 2);

      // Announcements that keep coming hold at most SYNC_HOLD.maxMs.
      publisher.hold('long');
      await publisher.during(() => publisher.publish([upsert('quiet-1', 'quiet/c')]));
      for (let t = 0; t + SYNC_HOLD.quietMs / 2 < SYNC_HOLD.maxMs; t += SYNC_HOLD.quietMs / 2) {
        expect(await flushed()).toBe(before + 2);
        await clock.advance(SYNC_HOLD.quietMs / 2);
        publisher.hold('long');
      }
      await clock.advance(SYNC_HOLD.quietMs / 2);
      await publisher.flush();
      expect(await flushed()).toBe(before + 3);
      await hubNc.flush();
      await eventually(
        'three messages',
        () => Promise.resolve(seen.got.length),
        (n) => n === 3,
      );
      expect(seen.got.map((m) => m.bundles.join())).toEqual(['quiet/a', 'quiet/b', 'quiet/c']);
    } finally {
      seen.stop();
    }
  });
});

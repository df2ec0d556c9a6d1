// Baselines of the same run: what PostgreSQL and NATS do with no Flotilla code in the way.
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { inBatches } from './fleet.js';
import { withClient } from './infra.js';

/** Rows per statement, as the status service flushes (its FLUSH_SIZE). */
const UPSERT_BATCH = 1000;

const sampleResources = (bundle: string) =>
  JSON.stringify([
    { apiVersion: 'v1', kind: 'ConfigMap', name: `${bundle}-config`, state: 'Ready', message: '' },
    { apiVersion: 'apps/v1', kind: 'Deployment', name: bundle, state: 'Ready', message: '' },
  ]);

/**
 * Upserts `rows` rows into a scratch copy of `deployments` (its columns, defaults, indexes and
 * storage parameters such as fillfactor, and its rows: the same table shape and row count the
 * hub writes to, so the reports are updates as for the hub), `UPSERT_BATCH` rows per
 * `INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE`, one statement at a time. Rows/second.
 */
export async function rawUpsertPerSecond(dbUrl: string, rows: number): Promise<number> {
  return withClient(dbUrl, async (c) => {
    const rel = await c.query<{ reloptions: string[] | null }>(
      `SELECT reloptions FROM pg_class WHERE oid = 'deployments'::regclass`,
    );
    const options = rel.rows[0]?.reloptions ?? [];
    await c.query(
      `CREATE TABLE bench_raw_upsert (LIKE deployments INCLUDING ALL)` +
        (options.length > 0 ? ` WITH (${options.join(', ')})` : ''),
    );
    await c.query('INSERT INTO bench_raw_upsert SELECT * FROM deployments');
    const keyRows = await c.query<{ bundle: string; cluster: string }>(
      'SELECT bundle, cluster FROM bench_raw_upsert ORDER BY bundle, cluster',
    );
    const keys: [string, string][] = keyRows.rows.map((r) => [r.bundle, r.cluster]);
    if (keys.length === 0) throw new Error('raw upsert: deployments is empty');
    const revision = randomBytes(32).toString('hex');
    const started = performance.now();
    // Like the hub's batches, one statement never names a deployment twice.
    const batchSize = Math.min(UPSERT_BATCH, keys.length);
    for (let done = 0; done < rows; done += batchSize) {
      const n = Math.min(batchSize, rows - done);
      const batch = Array.from({ length: n }, (_, i) => keys[(done + i) % keys.length]!);
      const now = new Date().toISOString();
      await c.query(
        `INSERT INTO bench_raw_upsert AS d
              (bundle, cluster, applied_revision, state, message, resources, reported_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                $6::jsonb[], $7::timestamptz[])
         ON CONFLICT (bundle, cluster) DO UPDATE
            SET applied_revision = EXCLUDED.applied_revision, state = EXCLUDED.state,
                message = EXCLUDED.message, resources = EXCLUDED.resources,
                reported_at = EXCLUDED.reported_at
          WHERE d.reported_at IS NULL OR d.reported_at <= EXCLUDED.reported_at`,
        [
          batch.map((k) => k[0]),
          batch.map((k) => k[1]),
          batch.map(() => revision),
          batch.map((_, i) => (i % 2 === 0 ? 'WaitApplied' : 'Ready')),
          batch.map(() => ''),
          batch.map((k) => sampleResources(k[0])),
          batch.map(() => now),
        ],
      );
    }
    const seconds = (performance.now() - started) / 1000;
    await c.query('DROP TABLE bench_raw_upsert');
    return rows / seconds;
  });
}

/**
 * Publishes `perSubscriber` messages of `size` bytes to each of `subscribers` subscribers, each
 * on its own NATS connection (as agents are), from one publisher connection; returns messages
 * delivered per second, from the first publish to the last message received.
 */
export async function rawFanoutPerSecond(
  natsUrl: string,
  prefix: string,
  subscribers: number,
  perSubscriber: number,
  size: number,
): Promise<number> {
  const total = subscribers * perSubscriber;
  const connections: NatsConnection[] = [];
  let received = 0;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let last = 0;
  try {
    await inBatches(
      Array.from({ length: subscribers }, (_, i) => i),
      50,
      async (i) => {
        const nc = await connect({ servers: natsUrl.split(','), name: `flotilla-bench-raw/${i}` });
        connections.push(nc);
        nc.subscribe(`${prefix}.raw.${i}`, {
          callback: () => {
            last = performance.now();
            if (++received === total) resolveDone();
          },
        });
        await nc.flush();
      },
    );
    const pub = await connect({ servers: natsUrl.split(','), name: 'flotilla-bench-raw/pub' });
    connections.push(pub);
    const payload = new Uint8Array(size).fill(0x61);
    const started = performance.now();
    for (let round = 0; round < perSubscriber; round++) {
      for (let i = 0; i < subscribers; i++) pub.publish(`${prefix}.raw.${i}`, payload);
      await pub.flush();
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise<void>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`raw fanout: ${received} of ${total} messages received`)),
          60_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    return total / ((last - started) / 1000);
  } finally {
    await Promise.allSettled(connections.map((nc) => nc.close()));
  }
}

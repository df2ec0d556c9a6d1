import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/index.js';
import { openDatabase } from '../data-source.js';
import { BundleRepository } from './bundle.repository.js';
import { ClusterRepository } from './cluster.repository.js';
import { DeploymentRepository, type ReportRow } from './deployment.repository.js';

// Status reports written in batches (DeploymentRepository.recordReports), at the sizes the
// status service flushes under a burst.
let db: TestDatabase;
let ds: DataSource;
let deployments: DeploymentRepository;
const rev = '3'.repeat(64);
const CLUSTERS = 250;
const BUNDLES = ['app/a', 'app/b', 'app/c', 'app/d'];
const clusterName = (i: number) => `c${String(i).padStart(3, '0')}`;

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await openDatabase(db.url);
  deployments = new DeploymentRepository(ds);
  const clusters = new ClusterRepository(ds);
  for (let i = 0; i < CLUSTERS; i++) await clusters.create(clusterName(i), {});
  await new BundleRepository(ds).storeRevision(rev, Buffer.from('[]'));
  await ds.query(
    `INSERT INTO deployments (bundle, cluster, desired_revision, desired_commit)
     SELECT b, c.name, $1, 'c1' FROM unnest($2::text[]) AS b, clusters c`,
    [rev, BUNDLES],
  );
});
afterAll(async () => {
  await ds?.destroy();
  await db?.drop();
});

const report = (
  bundle: string,
  cluster: string,
  state: ReportRow['state'],
  at: number,
  extra: Partial<ReportRow> = {},
): ReportRow => ({
  cluster,
  bundle,
  revision: rev,
  state,
  message: '',
  resources: [],
  observedAt: new Date(at),
  ...extra,
});

async function stored(bundle: string, cluster: string) {
  const rows: {
    state: string;
    message: string;
    resources: unknown;
    applied_revision: string | null;
    reported_at: Date;
  }[] = await ds.query(
    `SELECT state, message, resources, applied_revision, reported_at FROM deployments
      WHERE bundle = $1 AND cluster = $2`,
    [bundle, cluster],
  );
  return rows[0];
}

describe('DeploymentRepository.recordReports in large batches', () => {
  it('writes the newest report of every deployment of a 2,000-report batch, in any order', async () => {
    const batch: ReportRow[] = [];
    for (let i = 0; i < CLUSTERS; i++) {
      for (const bundle of BUNDLES) {
        // Newest first for even clusters, oldest first for odd ones.
        const pair = [
          report(bundle, clusterName(i), 'Ready', 20_000 + i),
          report(bundle, clusterName(i), 'Modified', 10_000 + i),
        ];
        batch.push(...(i % 2 === 0 ? pair : pair.reverse()));
      }
    }
    const changed = await deployments.recordReports(batch);
    expect(changed).toHaveLength(CLUSTERS * BUNDLES.length);
    expect(new Set(changed.map((c) => c.state))).toEqual(new Set(['Ready']));
    expect(new Set(changed.map((c) => `${c.bundle} ${c.cluster}`)).size).toBe(changed.length);
    const counts: { state: string; n: string }[] = await ds.query(
      'SELECT state, count(*) AS n FROM deployments GROUP BY state',
    );
    expect(counts).toEqual([{ state: 'Ready', n: String(CLUSTERS * BUNDLES.length) }]);
  });

  it('never goes back: older reports in a later batch change nothing and are not returned', async () => {
    const batch = [
      report('app/a', 'c000', 'ErrApplied', 15_000),
      report('app/b', 'c001', 'NotReady', 30_000),
    ];
    const changed = await deployments.recordReports(batch);
    expect(changed).toEqual([{ bundle: 'app/b', cluster: 'c001', state: 'NotReady' }]);
    expect((await stored('app/a', 'c000'))?.state).toBe('Ready');
    expect((await stored('app/b', 'c001'))?.state).toBe('NotReady');
  });

  it('of two reports observed at the same time, the later one in the batch wins', async () => {
    const changed = await deployments.recordReports([
      report('app/c', 'c002', 'Modified', 40_000),
      report('app/c', 'c002', 'Ready', 40_000, { message: 'second' }),
    ]);
    expect(changed).toEqual([{ bundle: 'app/c', cluster: 'c002', state: 'Ready' }]);
    expect((await stored('app/c', 'c002'))?.message).toBe('second');
  });

  it('stores messages and resources exactly, whatever characters they hold', async () => {
    const message = 'quote " backslash \\ newline \n tab \t unicode é ✓ \u2028 {"json": [1]}';
    const resources = [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'a"b\\c', state: 'Modified', message },
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ns', name: 'x', state: 'Ready' },
    ];
    await deployments.recordReports([
      report('app/d', 'c003', 'Modified', 50_000, { message, resources, revision: null }),
    ]);
    const row = await stored('app/d', 'c003');
    expect(row).toMatchObject({ state: 'Modified', message, resources, applied_revision: null });
    expect(row?.reported_at.getTime()).toBe(50_000);
  });

  it('reports about deployments that do not exist write nothing', async () => {
    expect(await deployments.recordReports([report('app/zzz', 'c000', 'Ready', 60_000)])).toEqual(
      [],
    );
  });
});

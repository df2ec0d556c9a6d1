import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../secrets/index.js';
import { createTestDatabase, gitRepoSpec, type TestDatabase } from '../../testing/index.js';
import { openDatabase } from '../data-source.js';
import { BundleRepository } from './bundle.repository.js';
import { ClusterRepository } from './cluster.repository.js';
import { DeploymentRepository } from './deployment.repository.js';
import { GitRepoRepository } from './gitrepo.repository.js';

let db: TestDatabase;
let ds: DataSource;
let deployments: DeploymentRepository;
let bundles: BundleRepository;
const r1 = '1'.repeat(64);
const r2 = '2'.repeat(64);

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await openDatabase(db.url);
  deployments = new DeploymentRepository(ds);
  bundles = new BundleRepository(ds);
  const clusters = new ClusterRepository(ds);
  for (const name of ['a', 'b', 'c']) await clusters.create(name, {});
  await new GitRepoRepository(ds, new SecretBox(randomBytes(32))).create(
    'demo',
    gitRepoSpec({ url: 'file:///x' }),
  );
  await bundles.storeRevision(r1, Buffer.from('[1]'));
  await bundles.storeRevision(r2, Buffer.from('[2]'));
  await bundles.storeRevision(r1, Buffer.from('[1]'));
});
afterAll(async () => {
  await ds?.destroy();
  await db?.drop();
});

const report = (cluster: string, revision: string | null, state: any, at: number) => ({
  cluster,
  bundle: 'demo/web',
  revision,
  state,
  message: '',
  resources: [],
  observedAt: new Date(at),
});

describe('DeploymentRepository', () => {
  it('identical content is stored once', async () => {
    const rows: { n: string }[] = await ds.query('SELECT count(*) AS n FROM bundle_revisions');
    expect(Number(rows[0]!.n)).toBe(2);
    expect((await bundles.revisionContent(r1))?.toString()).toBe('[1]');
  });

  it('delivers targets as Upserts once, then moves and removes', async () => {
    await deployments.replaceTargets('demo/web', [
      { cluster: 'a', revision: r1, commit: 'c1' },
      { cluster: 'b', revision: r1, commit: 'c1' },
      { cluster: 'ghost', revision: r1, commit: 'c1' },
    ]);
    const first = await deployments.deliverTargets('demo/web');
    expect(first.map((c) => `${c.kind}:${c.cluster}`).sort()).toEqual(['Upsert:a', 'Upsert:b']);
    expect(await deployments.deliverTargets('demo/web')).toEqual([]);

    await deployments.replaceTargets('demo/web', [{ cluster: 'a', revision: r2, commit: 'c2' }]);
    const second = await deployments.deliverTargets('demo/web');
    expect(second).toEqual([
      { kind: 'Upsert', bundle: 'demo/web', cluster: 'a', revision: r2, commit: 'c2' },
      { kind: 'Remove', bundle: 'demo/web', cluster: 'b' },
    ]);
    expect(await deployments.desiredForCluster('b')).toEqual([
      { kind: 'Remove', bundle: 'demo/web', cluster: 'b' },
    ]);
  });

  it.each([
    ['a cluster may fetch the revision desired on it', 'a', r2, true],
    ['not the revision it was told to run before', 'a', r1, false],
    ['not a revision desired on another cluster', 'c', r2, false],
    ['nothing of a bundle being removed from it', 'b', r1, false],
  ])('%s', async (_name, cluster, revision, desired) => {
    expect(await deployments.isDesiredOn(cluster, revision)).toBe(desired);
  });

  it('records reports, ignores older ones, and deletes a removed deployment on Removed', async () => {
    const changed = await deployments.recordReports([
      report('a', r2, 'WaitApplied', 1000),
      report('a', r2, 'Ready', 2000),
      report('b', null, 'Removed', 1000),
    ]);
    expect(changed.map((c) => `${c.cluster}:${c.state}`).sort()).toEqual(['a:Ready', 'b:Removed']);
    expect(await deployments.recordReports([report('a', r2, 'NotReady', 1500)])).toEqual([]);
    const rows = await deployments.list();
    expect(rows.map((r) => [r.cluster, r.state, r.appliedRevision])).toEqual([['a', 'Ready', r2]]);
    expect(await deployments.desiredForCluster('b')).toEqual([]);
  });
});

describe('delivery leases', () => {
  it('one holder at a time; a lapsed or released lease passes to another', async () => {
    expect(await deployments.acquireLease('demo/web', 'a', 10_000)).toBe(true);
    expect(await deployments.acquireLease('demo/web', 'b', 10_000)).toBe(false);
    expect(await deployments.acquireLease('demo/web', 'a', 10_000)).toBe(true);
    await deployments.releaseLeases('a');
    expect(await deployments.acquireLease('demo/web', 'b', 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(await deployments.acquireLease('demo/web', 'a', 10_000)).toBe(true);
  });
});

describe('a delivery pass in one transaction', () => {
  it("holds and deliveries written with the pass's manager are undone together when it fails", async () => {
    await bundles.save({
      name: 'demo/tx',
      gitrepo: 'demo',
      dir: 'tx',
      kind: 'raw',
      commit: 'c1',
      options: { correctDrift: false, keepResources: false, forceConflicts: false },
      rolloutStrategy: null,
      dependsOn: [],
      error: null,
      errorCommit: null,
    });
    await deployments.replaceTargets('demo/tx', [
      { cluster: 'a', revision: r1, commit: 'c1' },
      { cluster: 'b', revision: r1, commit: 'c1' },
    ]);
    await deployments.setHolds(
      'demo/tx',
      new Map([
        ['a', 'held'],
        ['b', 'held'],
      ]),
    );
    const state = async () => ({
      holds: await ds.query(
        `SELECT cluster, hold_reason FROM bundle_targets WHERE bundle = 'demo/tx' ORDER BY cluster`,
      ),
      desired: await ds.query(
        `SELECT cluster FROM deployments WHERE bundle = 'demo/tx' AND desired_revision IS NOT NULL`,
      ),
    });
    const before = await state();
    await expect(
      ds.transaction(async (m) => {
        await deployments.clearHolds('demo/tx', m);
        expect(await deployments.deliverTargets('demo/tx', [], m)).toHaveLength(2);
        throw new Error('the pass failed after its writes');
      }),
    ).rejects.toThrow('the pass failed');
    expect(await state()).toEqual(before);
    expect(before).toEqual({
      holds: [
        { cluster: 'a', hold_reason: 'held' },
        { cluster: 'b', hold_reason: 'held' },
      ],
      desired: [],
    });
  });
});

describe('orphaned targets', () => {
  it('are those of bundles that no longer exist', async () => {
    await deployments.replaceTargets('demo/gone', [{ cluster: 'a', revision: r1, commit: 'c1' }]);
    const orphans = await deployments.orphanedTargetBundles();
    expect(orphans).toContain('demo/gone');
    expect(orphans).not.toContain('demo/tx');
    await deployments.clearTargets(['demo/gone']);
    expect(await deployments.orphanedTargetBundles()).not.toContain('demo/gone');
  });
});

describe('unacknowledged desired state', () => {
  it("reads online clusters' stale deployments a page at a time, in (bundle, cluster) order", async () => {
    const clusters = new ClusterRepository(ds);
    for (const name of ['u1', 'u2', 'u3', 'off']) await clusters.create(name, {});
    await ds.query(`UPDATE clusters SET state = 'Online' WHERE name IN ('u1', 'u2', 'u3')`);
    const hourAgo = new Date(Date.now() - 3_600_000);
    const rows: [string, string, string | null, Date, Date | null][] = [
      // bundle, cluster, applied revision, desired at, reported at
      ['unack/x', 'u1', null, hourAgo, null], // never reported
      ['unack/x', 'u2', r2, hourAgo, new Date(hourAgo.getTime() + 60_000)], // reported another
      ['unack/x', 'u3', null, hourAgo, new Date()], // just reported: not yet
      ['unack/x', 'off', null, hourAgo, null], // its cluster is not Online
      ['unack/y', 'u1', r1, hourAgo, hourAgo], // acknowledged
      ['unack/y', 'u2', null, new Date(), null], // just sent
    ];
    for (const [bundle, cluster, applied, desiredAt, reportedAt] of rows) {
      await ds.query(
        `INSERT INTO deployments (bundle, cluster, desired_revision, desired_commit, applied_revision, desired_at, reported_at)
         VALUES ($1, $2, $3, 'c1', $4, $5, $6)`,
        [bundle, cluster, r1, applied, desiredAt, reportedAt],
      );
    }
    const first = await deployments.unacknowledged(5000, 1);
    expect(first).toEqual([
      {
        change: { kind: 'Upsert', bundle: 'unack/x', cluster: 'u1', revision: r1, commit: 'c1' },
        since: hourAgo.getTime(),
      },
    ]);
    const second = await deployments.unacknowledged(5000, 1, { bundle: 'unack/x', cluster: 'u1' });
    expect(second).toEqual([
      {
        change: { kind: 'Upsert', bundle: 'unack/x', cluster: 'u2', revision: r1, commit: 'c1' },
        since: hourAgo.getTime() + 60_000,
      },
    ]);
    expect(await deployments.unacknowledged(5000, 1, { bundle: 'unack/x', cluster: 'u2' })).toEqual(
      [],
    );
    expect((await deployments.unacknowledged(5000, 100)).map((u) => u.change.cluster)).toEqual([
      'u1',
      'u2',
    ]);
  });
});

describe('a filtered list among many other deployments and targets', () => {
  const clusterNames = ['f1', 'f2', 'f3', 'f4'];
  const bundleNames = [1, 2, 3, 4, 5, 6].map((i) => `many/b${i}`);

  beforeAll(async () => {
    const clusters = new ClusterRepository(ds);
    for (const name of clusterNames) await clusters.create(name, {});
    for (const [i, bundle] of bundleNames.entries()) {
      await deployments.replaceTargets(
        bundle,
        clusterNames.map((cluster) => ({ cluster, revision: r1, commit: 'c1' })),
      );
      // Some bundles delivered (deployments), the others targets only (not delivered yet).
      if (i % 2 === 0 || i === 3) await deployments.deliverTargets(bundle);
      // Some delivered ones then lose targets: deployments without targets, desired or removing.
      if (i % 3 === 0) {
        await deployments.replaceTargets(bundle, [
          { cluster: 'f1', revision: r2, commit: 'c2' },
          { cluster: 'f2', revision: r1, commit: 'c1' },
        ]);
      }
      if (i === 0) await deployments.deliverTargets(bundle);
    }
    await deployments.recordReports(
      clusterNames.map((cluster, n) => ({
        cluster,
        bundle: 'many/b3',
        revision: r1,
        state: 'Ready' as const,
        message: '',
        resources: [{ kind: 'ConfigMap', name: `cm-${cluster}` }] as never,
        observedAt: new Date(1000 + n),
      })),
    );
  });

  it.each<[string, { cluster?: string; bundles?: string[]; resources?: boolean }]>([
    ['of one cluster', { cluster: 'f2' }],
    ['of some bundles', { bundles: ['many/b2', 'many/b3', 'many/b4'] }],
    ['of one cluster and some bundles', { cluster: 'f3', bundles: ['many/b1', 'many/b3', 'x/y'] }],
    ['of one cluster without resources', { cluster: 'f3', resources: false }],
    ['of a bundle on no cluster', { bundles: ['many/none'] }],
  ])('lists the same rows %s as the whole list filtered', async (_name, filter) => {
    const whole = await deployments.list({ resources: filter.resources ?? true });
    const expected = whole.filter(
      (r) =>
        (filter.cluster === undefined || r.cluster === filter.cluster) &&
        (filter.bundles === undefined || filter.bundles.includes(r.bundle)),
    );
    expect(whole.length).toBeGreaterThan(expected.length);
    expect(await deployments.list(filter)).toEqual(expected);
  });

  it('a filtered list holds targets not delivered yet and deployments whose target is gone', async () => {
    const rows = await deployments.list({ cluster: 'f3' });
    expect(rows.map((r) => [r.bundle, r.state, r.desiredRevision, r.targetRevision])).toEqual([
      ['many/b2', 'Pending', null, r1],
      ['many/b3', 'Ready', r1, r1],
      ['many/b4', 'Pending', r1, null],
      ['many/b5', 'Pending', r1, r1],
      ['many/b6', 'Pending', null, r1],
    ]);
  });
});

describe('targets name their variant', () => {
  it('stores the variant of each target, and a new variant of the same revision replaces it', async () => {
    await deployments.replaceTargets('variants/web', [
      { cluster: 'a', revision: r1, commit: 'c1', variantKey: 'base' },
      { cluster: 'b', revision: r1, commit: 'c1', variantKey: 'dev' },
      { cluster: 'c', revision: r1, commit: 'c1' },
    ]);
    await deployments.replaceTargets('variants/web', [
      { cluster: 'a', revision: r1, commit: 'c1', variantKey: 'base' },
      { cluster: 'b', revision: r1, commit: 'c1', variantKey: 'staging' },
      { cluster: 'c', revision: r1, commit: 'c1' },
    ]);
    expect(await deployments.targetsOf('variants/web')).toEqual([
      { cluster: 'a', revision: r1, commit: 'c1', variantKey: 'base' },
      { cluster: 'b', revision: r1, commit: 'c1', variantKey: 'staging' },
      { cluster: 'c', revision: r1, commit: 'c1', variantKey: null },
    ]);
  });
});

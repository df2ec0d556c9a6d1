// The fleet, GitRepo and bundle summaries are counted in PostgreSQL (GROUP BY), and the
// non-ready list is paged there: each must agree with the state users see for every deployment
// (`effectiveDeploymentState`, as the API shows it per deployment).
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { effectiveDeploymentState, stateSeverity } from '../../status/deployment-state.js';
import { createTestDatabase, type TestDatabase } from '../../testing/index.js';
import { openDatabase } from '../data-source.js';
import { BundleRepository } from './bundle.repository.js';
import { ClusterRepository } from './cluster.repository.js';
import { DeploymentRepository } from './deployment.repository.js';

const r1 = '1'.repeat(64);
const r2 = '2'.repeat(64);

interface Case {
  /** What the row is. */
  what: string;
  bundle: string;
  cluster: string;
  clusterState: 'Pending' | 'Online' | 'Offline';
  /** The target (what Git asks), if any. */
  target?: string;
  /** The deployment row, if any. */
  deployment?: { desired: string | null; applied: string | null; state: string };
  /** The state users see; undefined when the row is left out (a removal in progress). */
  expected?: string;
}

// One cluster per case, so that each case's row is on its own.
const cases: Case[] = [
  {
    what: 'applied and Ready',
    bundle: 'x/one',
    cluster: 'c01',
    clusterState: 'Online',
    target: r1,
    deployment: { desired: r1, applied: r1, state: 'Ready' },
    expected: 'Ready',
  },
  {
    what: 'Ready on an Offline cluster',
    bundle: 'x/one',
    cluster: 'c02',
    clusterState: 'Offline',
    target: r1,
    deployment: { desired: r1, applied: r1, state: 'Ready' },
    expected: 'Offline',
  },
  {
    what: 'held back from the target by a rollout',
    bundle: 'x/one',
    cluster: 'c03',
    clusterState: 'Online',
    target: r2,
    deployment: { desired: r1, applied: r1, state: 'Ready' },
    expected: 'OutOfSync',
  },
  {
    what: 'target not delivered yet',
    bundle: 'x/one',
    cluster: 'c04',
    clusterState: 'Online',
    target: r1,
    expected: 'OutOfSync',
  },
  {
    what: 'older revision applied',
    bundle: 'x/one',
    cluster: 'c05',
    clusterState: 'Online',
    target: r2,
    deployment: { desired: r2, applied: r1, state: 'Ready' },
    expected: 'Pending',
  },
  {
    what: 'reported ErrApplied',
    bundle: 'x/one',
    cluster: 'c06',
    clusterState: 'Online',
    target: r1,
    deployment: { desired: r1, applied: r1, state: 'ErrApplied' },
    expected: 'ErrApplied',
  },
  {
    what: 'reported WaitApplied',
    bundle: 'x/one',
    cluster: 'c07',
    clusterState: 'Online',
    target: r1,
    deployment: { desired: r1, applied: r1, state: 'WaitApplied' },
    expected: 'WaitApplied',
  },
  {
    what: 'reported Modified',
    bundle: 'x/two',
    cluster: 'c08',
    clusterState: 'Online',
    target: r1,
    deployment: { desired: r1, applied: r1, state: 'Modified' },
    expected: 'Modified',
  },
  {
    what: 'reported NotReady',
    bundle: 'x/two',
    cluster: 'c09',
    clusterState: 'Online',
    target: r1,
    deployment: { desired: r1, applied: r1, state: 'NotReady' },
    expected: 'NotReady',
  },
  {
    what: 'a state the hub does not know',
    bundle: 'x/two',
    cluster: 'c10',
    clusterState: 'Online',
    target: r1,
    deployment: { desired: r1, applied: r1, state: 'Bogus' },
    expected: 'Pending',
  },
  {
    what: 'no report yet on a cluster that never connected',
    bundle: 'x/two',
    cluster: 'c11',
    clusterState: 'Pending',
    target: r1,
    deployment: { desired: r1, applied: null, state: 'Pending' },
    expected: 'Pending',
  },
  {
    what: 'no longer targeted, still desired and Ready',
    bundle: 'x/two',
    cluster: 'c12',
    clusterState: 'Online',
    deployment: { desired: r1, applied: r1, state: 'Ready' },
    expected: 'Ready',
  },
  {
    what: 'being removed (left out)',
    bundle: 'x/two',
    cluster: 'c13',
    clusterState: 'Online',
    deployment: { desired: null, applied: r1, state: 'Ready' },
  },
  {
    what: 'being removed while targeted again (left out until delivered)',
    bundle: 'x/two',
    cluster: 'c14',
    clusterState: 'Online',
    target: r1,
    deployment: { desired: null, applied: r1, state: 'Ready' },
  },
  {
    what: 'another bundle, Ready',
    bundle: 'y/three',
    cluster: 'c01',
    clusterState: 'Online',
    target: r1,
    deployment: { desired: r1, applied: r1, state: 'Ready' },
    expected: 'Ready',
  },
];

let db: TestDatabase;
let ds: DataSource;
let deployments: DeploymentRepository;

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await openDatabase(db.url);
  deployments = new DeploymentRepository(ds);
  const clusters = new ClusterRepository(ds);
  const bundles = new BundleRepository(ds);
  await bundles.storeRevision(r1, Buffer.from('[1]'));
  await bundles.storeRevision(r2, Buffer.from('[2]'));
  for (const c of new Map(cases.map((c) => [c.cluster, c.clusterState]))) {
    await clusters.create(c[0], {});
    await ds.query('UPDATE clusters SET state = $2 WHERE name = $1', c);
  }
  for (const c of cases) {
    if (c.target !== undefined) {
      await ds.query(
        `INSERT INTO bundle_targets (bundle, cluster, revision, commit) VALUES ($1, $2, $3, 'c')`,
        [c.bundle, c.cluster, c.target],
      );
    }
    if (c.deployment !== undefined) {
      await ds.query(
        `INSERT INTO deployments (bundle, cluster, desired_revision, desired_commit,
                                  applied_revision, state, message, resources)
         VALUES ($1, $2, $3, 'c', $4, $5, $6, '[{"kind": "ConfigMap"}]')`,
        [
          c.bundle,
          c.cluster,
          c.deployment.desired,
          c.deployment.applied,
          c.deployment.state,
          `reported by ${c.cluster}`,
        ],
      );
    }
  }
});
afterAll(async () => {
  await ds?.destroy();
  await db?.drop();
});

/** Counts by state of the cases that are shown, of the given bundles (all when undefined). */
function expectedCounts(bundles?: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of cases) {
    if (c.expected === undefined || (bundles !== undefined && !bundles.includes(c.bundle)))
      continue;
    counts[c.expected] = (counts[c.expected] ?? 0) + 1;
  }
  return counts;
}

describe('deployment counts and the non-ready list in SQL', () => {
  it.each(cases.filter((c) => c.expected !== undefined))(
    'the state users see agrees with the per-deployment view: $what',
    async (c) => {
      const [row] = (await deployments.list({ bundles: [c.bundle] })).filter(
        (r) => r.cluster === c.cluster,
      );
      const perRow = effectiveDeploymentState({
        clusterState: row!.clusterState,
        desiredRevision: row!.desiredRevision,
        reportedRevision: row!.appliedRevision,
        reportedState: row!.state,
        heldBackFrom: row!.targetRevision,
      });
      expect(perRow).toBe(c.expected);
      const counted = await deployments.countByBundleAndState([c.bundle]);
      expect(counted.get(c.bundle)?.[c.expected!]).toBe(expectedCounts([c.bundle])[c.expected!]);
    },
  );

  it('counts the whole fleet by state, leaving removals in progress out', async () => {
    expect(await deployments.countByState()).toEqual(expectedCounts());
  });

  it('counts the named bundles together, or each on its own', async () => {
    expect(await deployments.countByState(['x/two', 'y/three'])).toEqual(
      expectedCounts(['x/two', 'y/three']),
    );
    expect(await deployments.countByState([])).toEqual({});
    expect(await deployments.countByState(['nope/none'])).toEqual({});
    const each = await deployments.countByBundleAndState(['x/one', 'x/two', 'nope/none']);
    expect(Object.fromEntries(each)).toEqual({
      'x/one': expectedCounts(['x/one']),
      'x/two': expectedCounts(['x/two']),
    });
    // Every bundle at once (one GROUP BY: what the API's summary cache reads).
    expect(Object.fromEntries(await deployments.countByBundleAndState())).toEqual({
      'x/one': expectedCounts(['x/one']),
      'x/two': expectedCounts(['x/two']),
      'y/three': expectedCounts(['y/three']),
    });
  });

  it('lists the non-ready deployments worst first, then by cluster and bundle, in pages', async () => {
    const rank = (s: string) => stateSeverity.indexOf(s as (typeof stateSeverity)[number]);
    const expected = cases
      .filter((c) => c.expected !== undefined && c.expected !== 'Ready')
      .sort(
        (a, b) =>
          rank(a.expected!) - rank(b.expected!) ||
          a.cluster.localeCompare(b.cluster) ||
          a.bundle.localeCompare(b.bundle),
      )
      .map((c) => `${c.expected} ${c.cluster} ${c.bundle}`);
    const all = await deployments.nonReady();
    const shown = (rows: typeof all) =>
      rows.map((r) =>
        [
          effectiveDeploymentState({
            clusterState: r.clusterState,
            desiredRevision: r.desiredRevision,
            reportedRevision: r.appliedRevision,
            reportedState: r.state,
            heldBackFrom: r.targetRevision,
          }),
          r.cluster,
          r.bundle,
        ].join(' '),
      );
    expect(shown(all)).toEqual(expected);
    // What the API needs for its messages comes along; the resources stay in PostgreSQL.
    const errApplied = all.find((r) => r.cluster === 'c06')!;
    expect(errApplied).toMatchObject({ message: 'reported by c06', resources: [] });
    expect(shown(await deployments.nonReady(2, 3))).toEqual(expected.slice(2, 5));
    expect(await deployments.nonReady(expected.length, 10)).toEqual([]);
  });

  it('brings along the Modified resources of a Modified deployment, with their drift, in order', async () => {
    const drifted = [
      {
        kind: 'Deployment',
        name: 'web',
        state: 'Modified',
        drift: [{ path: 'spec.replicas', desired: '3', live: '5' }],
      },
      { kind: 'Service', name: 'api', state: 'Modified' },
    ];
    await ds.query(`UPDATE deployments SET resources = $1::jsonb WHERE cluster = 'c08'`, [
      JSON.stringify([{ kind: 'ConfigMap', name: 'ok', state: 'Ready' }, ...drifted]),
    ]);
    await ds.query(`UPDATE deployments SET resources = $1::jsonb WHERE cluster = 'c06'`, [
      JSON.stringify([{ kind: 'ConfigMap', name: 'x', state: 'Modified' }]),
    ]);
    const all = await deployments.nonReady();
    expect(all.find((r) => r.cluster === 'c08')!.resources).toEqual(drifted);
    // Only Modified deployments bring resources along.
    expect(all.find((r) => r.cluster === 'c06')!.resources).toEqual([]);
  });
});

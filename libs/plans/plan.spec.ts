import { describe, expect, it } from 'vitest';
import type { KubeObject, RolloutStrategy } from '../bundles/index.js';
import { RolloutStrategySchema } from '../bundles/index.js';
import { type BundlePlanInput, DEFAULT_PLAN_LIMITS, planBundle, planBundles } from './plan.js';

const cm = (name: string, value: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'web' },
  data: { value },
});

/** Revisions: r1 = {a:1, b:1}; r2 = {a:2, b:1} (a changed); r3 = {a:1, b:1, c:1} (c added). */
const contents = new Map<string, KubeObject[]>([
  ['r1', [cm('a', '1'), cm('b', '1')]],
  ['r2', [cm('a', '2'), cm('b', '1')]],
  ['r3', [cm('a', '1'), cm('b', '1'), cm('c', '1')]],
]);

const labels = (ring: string) => ({ labels: { ring }, groups: [] as string[] });

function input(over: Partial<BundlePlanInput>): BundlePlanInput {
  return {
    name: 'demo/web',
    existed: true,
    removed: false,
    error: null,
    variants: [],
    current: new Map(),
    strategy: null,
    paused: false,
    dependencyHolds: new Map(),
    clusters: new Map([
      ['c1', labels('canary')],
      ['c2', labels('main')],
      ['c3', labels('main')],
      ['c4', labels('other')],
    ]),
    ...over,
  };
}

const strategy: RolloutStrategy = RolloutStrategySchema.parse({
  stages: [
    { name: 'canary', clusterSelector: { matchLabels: { ring: 'canary' } } },
    { name: 'main', clusterSelector: { matchLabels: { ring: 'main' } } },
  ],
});

const threeVariants = (euRevision: string) => [
  { key: 'eu', customizations: ['eu'], clusters: ['c1'], revision: euRevision },
  { key: 'us', customizations: ['us'], clusters: ['c2'], revision: 'r1' },
  { key: 'ap', customizations: ['ap'], clusters: ['c3'], revision: 'r1' },
];
const allOnR1 = new Map([
  ['c1', 'r1'],
  ['c2', 'r1'],
  ['c3', 'r1'],
]);

describe('planBundle', () => {
  it.each([
    {
      name: 'a bundle whose clusters already run the candidate is unchanged',
      input: input({ variants: threeVariants('r1'), current: allOnR1 }),
      change: 'unchanged',
      touched: [],
      counts: { added: 0, changed: 0, removed: 0 },
    },
    {
      name: 'a change in one of three variants touches exactly that variant’s clusters',
      input: input({ variants: threeVariants('r2'), current: allOnR1 }),
      change: 'changed',
      touched: ['c1'],
      counts: { added: 0, changed: 1, removed: 0 },
    },
    {
      name: 'a bundle the hub does not know is added on every targeted cluster',
      input: input({
        existed: false,
        variants: [{ key: 'v', customizations: [], clusters: ['c1', 'c2'], revision: 'r1' }],
      }),
      change: 'added',
      touched: ['c1', 'c2'],
      counts: { added: 2, changed: 0, removed: 0 },
    },
    {
      name: 'a removed bundle leaves every cluster with all its objects',
      input: input({ removed: true, current: allOnR1 }),
      change: 'removed',
      touched: ['c1', 'c2', 'c3'],
      counts: { added: 0, changed: 0, removed: 2 },
    },
    {
      name: 'a cluster no longer targeted loses the bundle',
      input: input({
        variants: [{ key: 'v', customizations: [], clusters: ['c1', 'c2'], revision: 'r1' }],
        current: allOnR1,
      }),
      change: 'changed',
      touched: ['c3'],
      counts: { added: 0, changed: 0, removed: 2 },
    },
    {
      name: 'a variant that fails to render keeps its clusters as they are',
      input: input({
        variants: [
          { key: 'eu', customizations: [], clusters: ['c1'], error: 'bad template' },
          { key: 'us', customizations: [], clusters: ['c2', 'c3'], revision: 'r3' },
        ],
        current: allOnR1,
        error: 'variant eu: bad template',
      }),
      change: 'changed',
      touched: ['c2', 'c3'],
      counts: { added: 1, changed: 0, removed: 0 },
    },
    {
      name: 'a bundle that fails as a whole changes no cluster',
      input: input({ variants: [], current: allOnR1, error: 'fleet.yaml: bad' }),
      change: 'unchanged',
      touched: [],
      counts: { added: 0, changed: 0, removed: 0 },
    },
  ])('$name', ({ input: i, change, touched, counts }) => {
    const plan = planBundle(i, contents);
    expect(plan.change).toBe(change);
    const names = [...plan.variants.flatMap((v) => v.changes), ...plan.leaving]
      .flatMap((c) => c.clusters)
      .sort();
    expect(names).toEqual(touched);
    expect(plan.blastRadius.clusters).toBe(touched.length);
    expect(plan.blastRadius.objects).toEqual(counts);
  });

  it('the changed variant lists its clusters, what they run now and the object diff', () => {
    const plan = planBundle(input({ variants: threeVariants('r2'), current: allOnR1 }), contents);
    const eu = plan.variants.find((v) => v.key === 'eu');
    expect(eu?.changes).toEqual([
      expect.objectContaining({
        fromRevision: 'r1',
        toRevision: 'r2',
        clusters: ['c1'],
        added: [],
        removed: [],
        changed: [
          expect.objectContaining({ name: 'a', diff: expect.stringContaining('+  value: "2"') }),
        ],
      }),
    ]);
    expect(plan.variants.find((v) => v.key === 'us')?.changes).toEqual([]);
  });

  it.each([
    {
      name: 'touched clusters go into the stages they match, in order',
      over: { strategy },
      stages: [
        { name: 'canary', clusters: ['c1'], objectChanges: 1 },
        { name: 'main', clusters: ['c2', 'c3'], objectChanges: 2 },
      ],
      held: [],
    },
    {
      name: 'a cluster that matches no stage is held',
      over: {
        strategy,
        variants: [{ key: 'v', customizations: [], clusters: ['c1', 'c4'], revision: 'r2' }],
        current: new Map([
          ['c1', 'r1'],
          ['c4', 'r1'],
        ]),
      },
      stages: [{ name: 'canary', clusters: ['c1'], objectChanges: 1 }],
      held: [{ cluster: 'c4', reason: 'matches no stage of the rolloutStrategy' }],
    },
    {
      name: 'without a strategy every touched cluster is in one stage',
      over: {},
      stages: [{ name: 'all', clusters: ['c1', 'c2', 'c3'], objectChanges: 3 }],
      held: [],
    },
    {
      name: 'a paused bundle holds every touched cluster',
      over: { paused: true },
      stages: [{ name: 'all', clusters: ['c1', 'c2', 'c3'], objectChanges: 3 }],
      held: ['c1', 'c2', 'c3'].map((cluster) => ({
        cluster,
        reason: 'bundle is paused (fleet.yaml paused: true)',
      })),
    },
    {
      name: 'dependsOn holds the clusters where a dependency is not Ready',
      over: { dependencyHolds: new Map([['c2', 'waiting for demo/base to be Ready']]) },
      stages: [{ name: 'all', clusters: ['c1', 'c2', 'c3'], objectChanges: 3 }],
      held: [{ cluster: 'c2', reason: 'waiting for demo/base to be Ready' }],
    },
  ])('blast radius: $name', ({ over, stages, held }) => {
    const plan = planBundle(
      input({
        variants: [{ key: 'v', customizations: [], clusters: ['c1', 'c2', 'c3'], revision: 'r2' }],
        current: allOnR1,
        ...over,
      }),
      contents,
    );
    expect(
      plan.blastRadius.stages.map(({ name, clusters, objectChanges }) => ({
        name,
        clusters,
        objectChanges,
      })),
    ).toEqual(stages);
    expect(plan.blastRadius.held).toEqual(held);
  });
});

describe('planBundles', () => {
  it('sums bundles into a terse summary', () => {
    const { summary, bundles } = planBundles(
      [
        input({ name: 'demo/web', variants: threeVariants('r2'), current: allOnR1, strategy }),
        input({
          name: 'demo/api',
          existed: false,
          variants: [{ key: 'v', customizations: [], clusters: ['c1', 'c4'], revision: 'r3' }],
        }),
        input({ name: 'demo/old', removed: true, current: new Map([['c2', 'r1']]) }),
        input({ name: 'demo/same', variants: threeVariants('r1'), current: allOnR1 }),
      ],
      contents,
    );
    expect(bundles.map((b) => [b.name, b.change])).toEqual([
      ['demo/api', 'added'],
      ['demo/old', 'removed'],
      ['demo/same', 'unchanged'],
      ['demo/web', 'changed'],
    ]);
    expect(summary.bundles).toEqual({ unchanged: 1, changed: 1, added: 1, removed: 1, errors: 0 });
    expect(summary.text).toBe('+3 ~1 -2 objects on 3 clusters in 1 stage');
    expect(summary.truncated).toBe(false);
  });

  it('is the same whatever order its inputs come in', () => {
    const a = input({ name: 'x/a', variants: threeVariants('r2'), current: allOnR1 });
    const b = input({ name: 'x/b', existed: false, variants: threeVariants('r3') });
    expect(JSON.stringify(planBundles([a, b], contents))).toBe(
      JSON.stringify(planBundles([b, a], contents)),
    );
  });

  it.each([
    {
      name: 'lists are cut to maxNames, counts stay complete',
      limits: { ...DEFAULT_PLAN_LIMITS, maxNames: 1 },
      check: (p: ReturnType<typeof planBundles>) => {
        const ch = p.bundles[0]?.variants[0]?.changes[0];
        expect(ch?.clusters).toEqual(['c1']);
        expect(ch?.clusterCount).toBe(3);
        expect(p.summary.clusters).toBe(3);
      },
    },
    {
      name: 'diffs past the plan-wide budget become null',
      limits: { ...DEFAULT_PLAN_LIMITS, maxDiffChars: 10 },
      check: (p: ReturnType<typeof planBundles>) => {
        expect(p.bundles[0]?.variants[0]?.changes[0]?.changed[0]?.diff).toBeNull();
        expect(p.bundles[0]?.variants[0]?.changes[0]?.counts.changed).toBe(1);
      },
    },
  ])('bounded: $name', ({ limits, check }) => {
    const p = planBundles(
      [
        input({
          variants: [
            { key: 'v', customizations: [], clusters: ['c1', 'c2', 'c3'], revision: 'r2' },
          ],
          current: allOnR1,
        }),
      ],
      contents,
      limits,
    );
    expect(p.summary.truncated).toBe(true);
    check(p);
  });
});

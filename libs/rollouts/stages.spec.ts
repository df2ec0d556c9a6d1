import { describe, expect, it } from 'vitest';
import { cluster, names, strategyOf } from './fleet-harness.js';
import {
  assignStages,
  autoPartitionSizeOf,
  maxFailuresOf,
  maxUnavailableOf,
  scaledCount,
} from './stages.js';

describe('counts and percentages', () => {
  it.each([
    {
      name: 'maxUnavailable 25% of 10 rounds up to 3',
      fn: maxUnavailableOf,
      value: '25%',
      total: 10,
      expected: 3,
    },
    {
      name: 'maxUnavailable 10% of 5 rounds up to 1',
      fn: maxUnavailableOf,
      value: '10%',
      total: 5,
      expected: 1,
    },
    {
      name: 'maxUnavailable 0 still lets 1 cluster update',
      fn: maxUnavailableOf,
      value: 0,
      total: 5,
      expected: 1,
    },
    {
      name: 'maxUnavailable 0% still lets 1 cluster update',
      fn: maxUnavailableOf,
      value: '0%',
      total: 5,
      expected: 1,
    },
    {
      name: 'maxUnavailable unset takes the whole stage',
      fn: maxUnavailableOf,
      value: undefined,
      total: 7,
      expected: 7,
    },
    {
      name: 'maxUnavailable larger than the stage is the number given',
      fn: maxUnavailableOf,
      value: 9,
      total: 3,
      expected: 9,
    },
    {
      name: 'maxFailures 25% of 10 rounds down to 2',
      fn: maxFailuresOf,
      value: '25%',
      total: 10,
      expected: 2,
    },
    {
      name: 'maxFailures 10% of 5 rounds down to 0',
      fn: maxFailuresOf,
      value: '10%',
      total: 5,
      expected: 0,
    },
    {
      name: 'maxFailures unset tolerates none',
      fn: maxFailuresOf,
      value: undefined,
      total: 100,
      expected: 0,
    },
    { name: 'maxFailures 3 tolerates 3', fn: maxFailuresOf, value: 3, total: 10, expected: 3 },
    {
      name: 'autoPartitionSize 25% of 10 rounds up to 3',
      fn: autoPartitionSizeOf,
      value: '25%',
      total: 10,
      expected: 3,
    },
    {
      name: 'autoPartitionSize unset is 25%',
      fn: autoPartitionSizeOf,
      value: undefined,
      total: 8,
      expected: 2,
    },
    {
      name: 'autoPartitionSize 0 still makes partitions of 1',
      fn: autoPartitionSizeOf,
      value: 0,
      total: 4,
      expected: 1,
    },
    {
      name: 'autoPartitionSize 25% of 1 cluster is 1',
      fn: autoPartitionSizeOf,
      value: '25%',
      total: 1,
      expected: 1,
    },
  ])('$name', ({ fn, value, total, expected }) => {
    expect(fn(value, total)).toBe(expected);
  });

  it.each([
    { name: 'a number with a fraction', value: 1.5 },
    { name: 'a negative number', value: -1 },
    { name: 'a percentage without digits', value: '%' },
    { name: 'a bare word', value: 'half' },
  ])('scaledCount rejects $name', ({ value }) => {
    expect(() => scaledCount(value, 10, 'up')).toThrow(/invalid/);
  });
});

describe('automatic partitions', () => {
  it.each([
    {
      name: 'autoPartitionSize 25% of 8 clusters makes 4 partitions of 2',
      size: '25%',
      n: 8,
      sizes: [2, 2, 2, 2],
    },
    { name: 'autoPartitionSize unset behaves as 25%', size: undefined, n: 8, sizes: [2, 2, 2, 2] },
    {
      name: 'autoPartitionSize 25% of 10 clusters makes partitions of 3, the last smaller',
      size: '25%',
      n: 10,
      sizes: [3, 3, 3, 1],
    },
    {
      name: 'autoPartitionSize of 2 clusters cuts 5 clusters into 2, 2, 1',
      size: 2,
      n: 5,
      sizes: [2, 2, 1],
    },
    {
      name: 'autoPartitionSize 100% makes one partition of all clusters',
      size: '100%',
      n: 6,
      sizes: [6],
    },
    {
      name: 'autoPartitionSize larger than the fleet makes one partition',
      size: 50,
      n: 6,
      sizes: [6],
    },
    { name: 'no clusters make no partitions', size: '25%', n: 0, sizes: [] },
  ])('$name', ({ size, n, sizes }) => {
    const strategy = strategyOf(size === undefined ? {} : { autoPartitionSize: size });
    const { stages, unmatched } = assignStages(
      strategy,
      names(n).map((c) => cluster(c)),
    );
    expect(stages.map((s) => s.clusters.length)).toEqual(sizes);
    expect(stages.map((s) => s.name)).toEqual(sizes.map((_, i) => `partition-${i + 1}`));
    expect(unmatched).toEqual([]);
  });

  it('partitions follow cluster names, not the order clusters are given in', () => {
    const clusters = ['d', 'b', 'a', 'c'].map((c) => cluster(c));
    const { stages } = assignStages(strategyOf({ autoPartitionSize: 2 }), clusters);
    expect(stages.map((s) => s.clusters)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });
});

describe('explicit stages', () => {
  const fleet = [
    cluster('eu-1', { ring: 'canary', region: 'eu' }),
    cluster('eu-2', { region: 'eu' }),
    cluster('us-1', { ring: 'canary', region: 'us' }, { groups: ['americas'] }),
    cluster('us-2', { region: 'us' }, { groups: ['americas'] }),
    cluster('ap-1', { region: 'ap' }),
  ];

  it.each([
    {
      name: 'each cluster goes to the first stage whose selector matches it',
      stages: [
        { name: 'canary', clusterSelector: { matchLabels: { ring: 'canary' } } },
        { name: 'eu', clusterSelector: { matchLabels: { region: 'eu' } } },
        { name: 'rest' },
      ],
      expected: { canary: ['eu-1', 'us-1'], eu: ['eu-2'], rest: ['ap-1', 'us-2'] },
      unmatched: [],
    },
    {
      name: 'a stage without a selector takes every cluster not yet taken',
      stages: [{ name: 'first', clusters: ['us-2'] }, { name: 'rest' }],
      expected: { first: ['us-2'], rest: ['ap-1', 'eu-1', 'eu-2', 'us-1'] },
      unmatched: [],
    },
    {
      name: 'a clusterGroup stage takes the members of the group',
      stages: [{ name: 'americas', clusterGroup: 'americas' }, { name: 'rest' }],
      expected: { americas: ['us-1', 'us-2'], rest: ['ap-1', 'eu-1', 'eu-2'] },
      unmatched: [],
    },
    {
      name: 'clusters that match no stage are unmatched, never silently dropped',
      stages: [
        { name: 'canary', clusterSelector: { matchLabels: { ring: 'canary' } } },
        { name: 'eu', clusterSelector: { matchLabels: { region: 'eu' } } },
      ],
      expected: { canary: ['eu-1', 'us-1'], eu: ['eu-2'] },
      unmatched: ['ap-1', 'us-2'],
    },
    {
      name: 'a stage after a catch-all stage gets nothing',
      stages: [
        { name: 'all' },
        { name: 'late', clusterSelector: { matchLabels: { region: 'eu' } } },
      ],
      expected: { all: ['ap-1', 'eu-1', 'eu-2', 'us-1', 'us-2'], late: [] },
      unmatched: [],
    },
  ])('$name', ({ stages, expected, unmatched }) => {
    const result = assignStages(strategyOf({ stages }), fleet);
    expect(Object.fromEntries(result.stages.map((s) => [s.name, s.clusters]))).toEqual(expected);
    expect(result.unmatched).toEqual(unmatched);
  });

  it.each([
    {
      name: 'unmatched clusters are named in a warning',
      stages: [{ name: 'eu', clusterSelector: { matchLabels: { region: 'eu' } } }],
      warning: /3 cluster\(s\) match no stage and will not be updated: ap-1, us-1, us-2/,
    },
    {
      name: 'a stage that selects nobody is warned about',
      stages: [
        { name: 'mars', clusterSelector: { matchLabels: { region: 'mars' } } },
        { name: 'rest' },
      ],
      warning: /stage "mars" has no clusters/,
    },
    {
      name: 'a stage naming a cluster the bundle does not target is warned about',
      stages: [{ name: 'first', clusters: ['eu-1', 'gone'] }, { name: 'rest' }],
      warning: /stage "first" names cluster "gone", which the bundle does not target/,
    },
  ])('$name', ({ stages, warning }) => {
    const { warnings } = assignStages(strategyOf({ stages }), fleet);
    expect(warnings.join('\n')).toMatch(warning);
  });

  it('resolves bake time and approval per stage', () => {
    const { stages } = assignStages(
      strategyOf({
        stages: [
          {
            name: 'canary',
            clusters: ['eu-1'],
            bakeTime: '1m30s',
            requireApproval: true,
            maxUnavailable: 1,
          },
          { name: 'rest' },
        ],
      }),
      fleet,
    );
    expect(stages.map(({ clusters: _, ...s }) => s)).toEqual([
      { name: 'canary', bakeTime: 90_000, requireApproval: true, maxUnavailable: 1 },
      { name: 'rest', bakeTime: 0, requireApproval: false, maxUnavailable: undefined },
    ]);
  });
});

// Fleet's rolloutStrategy (partitions, strategy-wide maxUnavailable) mapped onto stages.
describe("Fleet's rolloutStrategy form", () => {
  const fleet = [
    cluster('canary-1', { ring: 'canary' }),
    cluster('eu-1', { region: 'eu' }),
    cluster('eu-2', { region: 'eu' }),
    cluster('us-1', { region: 'us' }),
  ];

  it('each partition is a stage in order and clusters no partition takes roll out last', () => {
    const { stages, unmatched } = assignStages(
      strategyOf({
        partitions: [
          { name: 'canary', clusterSelector: { matchLabels: { ring: 'canary' } } },
          { clusterSelector: { matchLabels: { region: 'eu' } } },
        ],
      }),
      fleet,
    );
    expect(stages.map((s) => [s.name, s.clusters])).toEqual([
      ['canary', ['canary-1']],
      ['partition-2', ['eu-1', 'eu-2']],
      ['rest', ['us-1']],
    ]);
    expect(unmatched).toEqual([]);
  });

  it.each([
    ['a partition without its own maxUnavailable takes the strategy-wide one', {}, 'eu', '50%'],
    ['a partition maxUnavailable wins over the strategy-wide one', { maxUnavailable: 1 }, 'eu', 1],
    ['the catch-all stage takes the strategy-wide maxUnavailable', {}, 'rest', '50%'],
  ])('%s', (_name, partition, stage, expected) => {
    const { stages } = assignStages(
      strategyOf({
        maxUnavailable: '50%',
        partitions: [
          { name: 'eu', clusterSelector: { matchLabels: { region: 'eu' } }, ...partition },
        ],
      }),
      fleet,
    );
    expect(stages.find((s) => s.name === stage)?.maxUnavailable).toEqual(expected);
  });

  it('automatic partitions take the strategy-wide maxUnavailable', () => {
    const { stages } = assignStages(strategyOf({ maxUnavailable: 2, autoPartitionSize: 4 }), fleet);
    expect(stages.map((s) => s.maxUnavailable)).toEqual([2]);
  });
});

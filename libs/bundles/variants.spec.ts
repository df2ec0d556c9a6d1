import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseSelector } from '../selectors/index.js';
import type { BundleSource } from './bundle-source.js';
import { parseFleetYaml } from './fleet-yaml.js';
import type { ClusterRef } from './targeting.js';
import { describeVariantFailure, planVariants } from './variants.js';

function bundle(fleet: string, references: string[] = []): BundleSource {
  return {
    name: 'demo/web',
    dir: 'apps/web',
    kind: 'yaml',
    fleet: parseFleetYaml(fleet, 'apps/web/fleet.yaml'),
    files: [],
    references,
  };
}

const CUSTOMIZED = `customizations:
  - {name: eu, clusterSelector: {matchLabels: {region: eu}}}
  - {name: big, clusterGroup: big}
  - {name: one, clusterName: c3}
`;
const groups = { big: parseSelector('size=l') };
const clusters: ClusterRef[] = [
  { name: 'c1', labels: { region: 'eu' } },
  { name: 'c2', labels: { region: 'eu', size: 'l' } },
  { name: 'c3', labels: { region: 'us', size: 'l' } },
  { name: 'c4', labels: { region: 'us' } },
  { name: 'c5', labels: { region: 'eu' } },
];

describe('planVariants', () => {
  it.each([
    [
      'customizations by label, group and name, in fleet.yaml order',
      bundle(CUSTOMIZED),
      [
        { clusters: ['c1', 'c5'], customizations: ['eu'], substitution: {} },
        { clusters: ['c2'], customizations: ['eu', 'big'], substitution: {} },
        { clusters: ['c3'], customizations: ['big', 'one'], substitution: {} },
        { clusters: ['c4'], customizations: [], substitution: {} },
      ],
    ],
    [
      'no customizations and no references give one variant',
      bundle(''),
      [{ clusters: ['c1', 'c2', 'c3', 'c4', 'c5'], customizations: [], substitution: {} }],
    ],
    [
      'a referenced label splits clusters by its value',
      bundle('substitute: true\n', ['cluster.labels.region']),
      [
        { clusters: ['c1', 'c2', 'c5'], substitution: { 'cluster.labels.region': 'eu' } },
        { clusters: ['c3', 'c4'], substitution: { 'cluster.labels.region': 'us' } },
      ],
    ],
    [
      'unreferenced labels do not split clusters',
      bundle('substitute: true\n', ['cluster.labels.absent']),
      [{ clusters: ['c1', 'c2', 'c3', 'c4', 'c5'], substitution: {} }],
    ],
    [
      'cluster.name gives every cluster its own variant',
      bundle('substitute: true\n', ['cluster.name']),
      clusters.map((c) => ({ clusters: [c.name], substitution: { 'cluster.name': c.name } })),
    ],
    [
      'references are ignored without substitute: true',
      bundle('', ['cluster.name']),
      [{ clusters: ['c1', 'c2', 'c3', 'c4', 'c5'], substitution: {} }],
    ],
  ])('%s', (_name, b, expected) => {
    const variants = planVariants(b, clusters, groups);
    expect(variants).toMatchObject(expected);
    expect(new Set(variants.map((v) => v.key)).size).toBe(variants.length);
  });

  it('gives the same keys for the same input, whatever the cluster order', () => {
    const a = planVariants(bundle(CUSTOMIZED), clusters, groups);
    const b = planVariants(bundle(CUSTOMIZED), [...clusters].reverse(), groups);
    expect(b).toEqual(a);
  });

  it('1,000 clusters sharing one variant give one variant', () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({
      name: `c${String(i).padStart(4, '0')}`,
      labels: { region: 'eu', index: String(i) },
    }));
    const variants = planVariants(
      bundle(`substitute: true\n${CUSTOMIZED}`, ['cluster.labels.region']),
      many,
      groups,
    );
    expect(variants).toHaveLength(1);
    expect(variants[0]?.clusters).toHaveLength(1000);
    expect(variants[0]?.customizations).toEqual(['eu']);
  });
});

// Fleet's targetCustomizations: the first entry that selects a cluster is the one it gets.
describe('planVariants with targetCustomizations', () => {
  const FLEET = `targetCustomizations:
  - {name: eu-big, clusterGroup: big, clusterSelector: {matchLabels: {region: eu}}}
  - {name: eu, clusterSelector: {matchLabels: {region: eu}}}
  - {name: c3-off, clusterName: c3, doNotDeploy: true}
customizations:
  - {name: big, clusterGroup: big}
`;

  it('gives each cluster its first matching entry, skips doNotDeploy, and keeps all-matching customizations', () => {
    const variants = planVariants(bundle(FLEET), clusters, groups).map((v) => ({
      clusters: v.clusters,
      targetCustomization: v.targetCustomization,
      customizations: v.customizations,
    }));
    expect(variants).toEqual([
      // c2 matches eu-big and eu: the first wins.
      { clusters: ['c1', 'c5'], targetCustomization: 1, customizations: [] },
      { clusters: ['c2'], targetCustomization: 0, customizations: ['big'] },
      // c3 is dropped (doNotDeploy); c4 matches no entry and gets the base render.
      { clusters: ['c4'], targetCustomization: undefined, customizations: [] },
    ]);
  });

  it('a bundle without targetCustomizations keeps the variant keys it had', () => {
    const [before] = planVariants(bundle(CUSTOMIZED), [clusters[0]!], groups);
    const [withUnmatched] = planVariants(
      bundle(`${CUSTOMIZED}targetCustomizations: [{clusterName: nobody}]\n`),
      [clusters[0]!],
      groups,
    );
    expect(withUnmatched?.key).toBe(before?.key);
  });

  it('keys are those stored before (sha256 of the customizations and values), however many clusters share them', () => {
    const keyOf = (parts: unknown[]) =>
      createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
    const many = Array.from({ length: 50 }, (_, i): ClusterRef => ({
      name: `m${String(i).padStart(2, '0')}`,
      labels: { size: i % 2 === 0 ? 'l' : 's' },
    }));
    const variants = planVariants(bundle(CUSTOMIZED), many, groups);
    expect(variants.map((v) => [v.key, v.clusters.length])).toEqual(
      variants.map((v) => [keyOf([v.customizations, []]), 25]),
    );
  });
});

describe('describeVariantFailure', () => {
  const many = Array.from({ length: 23 }, (_, i) => `c${String(i).padStart(2, '0')}`);
  it.each([
    [
      'names the customization and the clusters that keep what they run',
      { customizations: ['eu'], substitution: {}, clusters: ['c1', 'c5'] },
      'variant "eu" (clusters c1, c5; they keep what they run): boom',
    ],
    [
      'clusters no customization applies to are the base variant',
      { customizations: [], substitution: {}, clusters: ['c4'] },
      'variant "base" (clusters c4; they keep what they run): boom',
    ],
    [
      'several customizations and substitution values are all named',
      {
        customizations: ['eu', 'big'],
        substitution: { 'cluster.labels.region': 'eu' },
        clusters: ['c2'],
      },
      'variant "eu+big" with cluster.labels.region=eu (clusters c2; they keep what they run): boom',
    ],
    [
      'a long cluster list names twenty and counts the rest',
      { customizations: [], substitution: {}, clusters: many },
      `variant "base" (clusters ${many.slice(0, 20).join(', ')} and 3 more; they keep what they run): boom`,
    ],
    [
      'a targetCustomization comes first, by its name',
      { customizations: ['big'], substitution: {}, clusters: ['c2'], targetCustomization: 0 },
      'variant "eu-big+big" (clusters c2; they keep what they run): boom',
    ],
  ])('%s', (_name, variant, expected) => {
    const name = 'targetCustomization' in variant ? 'eu-big' : undefined;
    expect(describeVariantFailure(variant, 'boom', name)).toBe(expected);
  });
});

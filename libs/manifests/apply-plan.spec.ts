import { describe, expect, it } from 'vitest';
import { planApply, type ApplyPlan, type KubeObject } from './index.js';

const cm = (name: string, data: Record<string, string>, namespace?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: namespace === undefined ? { name } : { name, namespace },
  data,
});
const ns = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name },
});
/** What the API server would hold: the object plus server fields, defaults and status. */
const served = (object: KubeObject, namespace = 'shop'): KubeObject => ({
  ...object,
  metadata: {
    ...(object.metadata as object),
    ...(object.kind === 'Namespace' ? {} : { namespace }),
    uid: 'u-1',
    resourceVersion: '42',
    generation: 3,
    creationTimestamp: '2024-01-01T00:00:00Z',
    managedFields: [{ manager: 'kubectl' }],
  },
  status: { phase: 'Active' },
});

const A = 'v1/ConfigMap/shop/a';
const B = 'v1/ConfigMap/shop/b';
const NS = 'v1/Namespace//shop';

type Row = [
  string,
  KubeObject[],
  string[],
  [string, KubeObject][],
  { create: string[]; update: string[]; unchanged: string[]; prune: string[] },
];

const keys = (plan: ApplyPlan) => ({
  create: plan.create.map((e) => e.key),
  update: plan.update.map((e) => e.key),
  unchanged: plan.unchanged.map((e) => e.key),
  prune: plan.prune,
});

describe('planApply', () => {
  it.each<Row>([
    [
      'creates what is not live, in apply order',
      [cm('a', { x: '1' }), ns('shop')],
      [],
      [],
      { create: [NS, A], update: [], unchanged: [], prune: [] },
    ],
    [
      'leaves alone a live object that has every desired field (server fields, status and extras ignored)',
      [cm('a', { x: '1' })],
      [A],
      [[A, { ...served(cm('a', { x: '1', extra: 'defaulted' })) }]],
      { create: [], update: [], unchanged: [A], prune: [] },
    ],
    [
      'updates a live object with another value',
      [cm('a', { x: '2' })],
      [A],
      [[A, served(cm('a', { x: '1' }))]],
      { create: [], update: [A], unchanged: [], prune: [] },
    ],
    [
      'updates a live object that lacks a desired field',
      [{ ...cm('a', { x: '1' }), metadata: { name: 'a', labels: { tier: 'web' } } }],
      [A],
      [[A, served(cm('a', { x: '1' }))]],
      { create: [], update: [A], unchanged: [], prune: [] },
    ],
    [
      'prunes inventory keys that are no longer desired, in delete order',
      [cm('b', {})],
      [NS, A, B],
      [[B, served(cm('b', {}))]],
      { create: [], update: [], unchanged: [B], prune: [A, NS] },
    ],
    [
      'never prunes live objects that were not in the inventory',
      [cm('a', {})],
      [],
      [[B, served(cm('b', {}))]],
      { create: [A], update: [], unchanged: [], prune: [] },
    ],
    [
      'an emptied bundle prunes everything it applied, last applied first',
      [],
      [A, B],
      [],
      { create: [], update: [], unchanged: [], prune: [B, A] },
    ],
    [
      'an object in another namespace is another object',
      [cm('a', {}, 'other')],
      [A],
      [[A, served(cm('a', {}))]],
      { create: ['v1/ConfigMap/other/a'], update: [], unchanged: [], prune: [A] },
    ],
  ])('%s', (_name, desired, inventory, live, expected) => {
    expect(keys(planApply(desired, inventory, new Map(live), 'shop'))).toEqual(expected);
  });

  it('hands back the desired objects themselves', () => {
    const a = cm('a', {});
    expect(planApply([a], [], new Map(), 'shop').create[0]?.object).toBe(a);
  });

  it.each<[string, KubeObject[], RegExp]>([
    [
      'an object without a name',
      [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }],
      /metadata.name/,
    ],
    [
      'the same object twice',
      [cm('a', {}), cm('a', {}, 'shop')],
      /v1\/ConfigMap\/shop\/a appears more than once/,
    ],
  ])('refuses %s', (_name, desired, error) => {
    expect(() => planApply(desired, [], new Map(), 'shop')).toThrow(error);
  });
});

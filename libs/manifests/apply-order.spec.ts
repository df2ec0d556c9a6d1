import { describe, expect, it } from 'vitest';
import { sortForApply, sortForDelete, sortKeysForDelete } from './index.js';

const o = (kind: string, name: string) => ({ kind, name });
const names = (objects: { name: string }[]) => objects.map((x) => x.name);

describe('sortForApply and sortForDelete', () => {
  it.each<[string, { kind: string; name: string }[], string[]]>([
    [
      'CRDs first, then namespaces, other cluster-scoped, namespaced',
      [
        o('Deployment', 'web'),
        o('ClusterRole', 'reader'),
        o('Namespace', 'shop'),
        o('CustomResourceDefinition', 'widgets'),
      ],
      ['widgets', 'shop', 'reader', 'web'],
    ],
    [
      'objects of one tier keep their order (stable)',
      [
        o('Service', 'b'),
        o('ConfigMap', 'a'),
        o('Namespace', 'n2'),
        o('Deployment', 'c'),
        o('Namespace', 'n1'),
      ],
      ['n2', 'n1', 'b', 'a', 'c'],
    ],
    [
      'custom resources count as namespaced and come after their CRD',
      [o('Widget', 'w'), o('CustomResourceDefinition', 'widgets')],
      ['widgets', 'w'],
    ],
    ['an empty list stays empty', [], []],
  ])('%s', (_name, input, applyOrder) => {
    const copy = [...input];
    expect(names(sortForApply(input))).toEqual(applyOrder);
    expect(names(sortForDelete(input))).toEqual([...applyOrder].reverse());
    expect(input).toEqual(copy);
  });

  it('orders object keys for deletion: namespaced first, CRDs last', () => {
    expect(
      sortKeysForDelete([
        'apiextensions.k8s.io/v1/CustomResourceDefinition//widgets',
        'v1/Namespace//shop',
        'apps/v1/Deployment/shop/web',
        'rbac.authorization.k8s.io/v1/ClusterRole//reader',
      ]),
    ).toEqual([
      'apps/v1/Deployment/shop/web',
      'rbac.authorization.k8s.io/v1/ClusterRole//reader',
      'v1/Namespace//shop',
      'apiextensions.k8s.io/v1/CustomResourceDefinition//widgets',
    ]);
  });
});

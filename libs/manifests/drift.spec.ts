import { describe, expect, it } from 'vitest';
import {
  diffOwnedFields,
  reportedDrift,
  summarizeDrift,
  type FieldDiff,
  type KubeObject,
} from './index.js';

const deployment = (
  replicas: number,
  image: string,
  extra: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { 'app.kubernetes.io/name': 'web' } },
  spec: {
    replicas,
    template: { spec: { containers: [{ name: 'web', image, ...extra }] } },
  },
});

describe('diffOwnedFields', () => {
  it.each<[string, KubeObject, KubeObject, FieldDiff[]]>([
    ['no difference when equal', deployment(1, 'web:1'), deployment(1, 'web:1'), []],
    [
      'a changed scalar',
      deployment(3, 'web:1'),
      deployment(5, 'web:1'),
      [{ path: 'spec.replicas', desired: 3, live: 5 }],
    ],
    [
      'a changed field inside an array element',
      deployment(1, 'web:2'),
      deployment(1, 'web:1'),
      [{ path: 'spec.template.spec.containers[0].image', desired: 'web:2', live: 'web:1' }],
    ],
    [
      'fields only the live object has (defaults) are not drift',
      deployment(1, 'web:1'),
      deployment(1, 'web:1', { imagePullPolicy: 'IfNotPresent' }),
      [],
    ],
    [
      'a field missing live is drift',
      deployment(1, 'web:1', { args: ['--debug'] }),
      deployment(1, 'web:1'),
      [{ path: 'spec.template.spec.containers[0].args', desired: ['--debug'], live: undefined }],
    ],
    [
      'arrays of another length differ as a whole',
      { apiVersion: 'v1', kind: 'X', metadata: { name: 'x' }, items: [1, 2] },
      { apiVersion: 'v1', kind: 'X', metadata: { name: 'x' }, items: [1] },
      [{ path: 'items', desired: [1, 2], live: [1] }],
    ],
    [
      'status is ignored',
      { ...deployment(1, 'web:1'), status: { readyReplicas: 1 } },
      { ...deployment(1, 'web:1'), status: { readyReplicas: 0 } },
      [],
    ],
    [
      'server-set metadata is ignored',
      {
        ...deployment(1, 'web:1'),
        metadata: { name: 'web', resourceVersion: '1', uid: 'a', generation: 1 },
      },
      {
        ...deployment(1, 'web:1'),
        metadata: { name: 'web', resourceVersion: '9', uid: 'b', generation: 4 },
      },
      [],
    ],
    [
      'label keys with dots are quoted in the path',
      deployment(1, 'web:1'),
      {
        ...deployment(1, 'web:1'),
        metadata: { name: 'web', labels: { 'app.kubernetes.io/name': 'api' } },
      },
      [{ path: 'metadata.labels["app.kubernetes.io/name"]', desired: 'web', live: 'api' }],
    ],
    [
      'empty desired values match absent live fields',
      { apiVersion: 'v1', kind: 'X', metadata: { name: 'x' }, a: [], b: {}, c: null },
      { apiVersion: 'v1', kind: 'X', metadata: { name: 'x' } },
      [],
    ],
    [
      'an object replaced by a scalar',
      { apiVersion: 'v1', kind: 'X', metadata: { name: 'x' }, spec: { a: 1 } },
      { apiVersion: 'v1', kind: 'X', metadata: { name: 'x' }, spec: 'gone' },
      [{ path: 'spec', desired: { a: 1 }, live: 'gone' }],
    ],
  ])('%s', (_name, desired, live, expected) => {
    expect(diffOwnedFields(desired, live)).toEqual(expected);
  });
});

describe('summarizeDrift', () => {
  const d = (path: string, desired: unknown, live: unknown): FieldDiff => ({ path, desired, live });
  it.each<[string, FieldDiff[], number | undefined, string]>([
    ['nothing for no diffs', [], undefined, ''],
    ['one field', [d('spec.replicas', 3, 5)], undefined, 'spec.replicas: 3 → 5'],
    ['a missing field', [d('data.a', 'x', undefined)], undefined, 'data.a: "x" → (missing)'],
    [
      'counts the fields beyond the maximum',
      [d('a', 1, 2), d('b', 1, 2), d('c', 1, 2)],
      2,
      'a: 1 → 2; b: 1 → 2; and 1 more',
    ],
    [
      'shortens long values',
      [d('data.big', 'x'.repeat(100), 'y')],
      undefined,
      `data.big: "${'x'.repeat(56)}... → "y"`,
    ],
  ])('%s', (_name, diffs, max, expected) => {
    expect(summarizeDrift(diffs, max)).toBe(expected);
  });
});

describe('reportedDrift', () => {
  it.each([
    {
      name: 'values become JSON text, desired and live',
      diffs: [{ path: 'spec.replicas', desired: 3, live: 5 }],
      expected: [{ path: 'spec.replicas', desired: '3', live: '5' }],
    },
    {
      name: 'a field the live object lacks has no live value',
      diffs: [{ path: 'metadata.labels.app', desired: 'web', live: undefined }],
      expected: [{ path: 'metadata.labels.app', desired: '"web"' }],
    },
    {
      name: 'long values are cut',
      diffs: [{ path: 'data.big', desired: 'x'.repeat(50), live: 'y' }],
      maxValueChars: 10,
      expected: [{ path: 'data.big', desired: '"xxxxxx...', live: '"y"' }],
    },
    {
      name: 'at most maxFields fields are reported',
      diffs: [1, 2, 3].map((n) => ({ path: `f${n}`, desired: n, live: 0 })),
      maxFields: 2,
      expected: [
        { path: 'f1', desired: '1', live: '0' },
        { path: 'f2', desired: '2', live: '0' },
      ],
    },
  ])('$name', ({ diffs, maxFields, maxValueChars, expected }) => {
    expect(reportedDrift(diffs, maxFields, maxValueChars)).toEqual(expected);
  });
});

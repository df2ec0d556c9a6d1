import { describe, expect, it } from 'vitest';
import { diffOwnedFields } from './drift.js';
import { withoutComparedFields, withoutIgnoredConditions } from './fleet-ignores.js';
import { assessHealth } from './health.js';
import type { KubeObject } from './types.js';

const desired: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', annotations: { 'a/b': 'x', keep: 'y' } },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } },
};
const live: KubeObject = {
  ...desired,
  metadata: { name: 'web', annotations: { 'a/b': 'changed', keep: 'y' } },
  spec: { replicas: 5, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } },
};

describe('withoutComparedFields (Fleet diff.comparePatches)', () => {
  it.each([
    [
      'no patches: every drifted field counts',
      undefined,
      ['spec.replicas', 'metadata.annotations["a/b"]'],
    ],
    [
      'jsonPointers of a matching patch are ignored (~1 escapes /)',
      [{ kind: 'Deployment', jsonPointers: ['/spec/replicas', '/metadata/annotations/a~1b'] }],
      [],
    ],
    [
      'remove operations are ignored like pointers',
      [
        {
          apiVersion: 'apps/v1',
          name: 'web',
          operations: [{ op: 'remove', path: '/spec/replicas' }],
        },
      ],
      ['metadata.annotations["a/b"]'],
    ],
    [
      'a patch for another kind changes nothing',
      [{ kind: 'StatefulSet', jsonPointers: ['/spec/replicas'] }],
      ['spec.replicas', 'metadata.annotations["a/b"]'],
    ],
    [
      'the namespace of an object without one is the default namespace',
      [{ namespace: 'web-ns', jsonPointers: ['/spec/replicas'] }],
      ['metadata.annotations["a/b"]'],
    ],
    [
      'without a default namespace an object without one is in default',
      [{ namespace: 'default', jsonPointers: ['/spec/replicas'] }],
      ['metadata.annotations["a/b"]'],
    ],
    [
      'a patch for another name changes nothing',
      [{ name: 'api', jsonPointers: ['/spec/replicas'] }],
      ['spec.replicas', 'metadata.annotations["a/b"]'],
    ],
    [
      'several patches add up',
      [
        { kind: 'Deployment', name: 'web', jsonPointers: ['/spec/replicas'] },
        { operations: [{ op: 'remove', path: '/metadata/annotations/a~1b' }] },
      ],
      [],
    ],
    [
      'a pointer to nothing changes nothing',
      [{ jsonPointers: ['/spec/nope/x'] }],
      ['spec.replicas', 'metadata.annotations["a/b"]'],
    ],
  ])('%s', (name, patches, drifted) => {
    const seen = withoutComparedFields(
      desired,
      patches,
      name.startsWith('without a default namespace') ? undefined : 'web-ns',
    );
    expect(
      diffOwnedFields(seen, live)
        .map((d) => d.path)
        .sort(),
    ).toEqual([...drifted].sort());
    expect(desired.spec).toEqual({
      replicas: 2,
      template: { spec: { containers: [{ name: 'c', image: 'i' }] } },
    });
  });
});

describe('withoutIgnoredConditions (Fleet ignore.conditions)', () => {
  const stuck: KubeObject = {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name: 'w', generation: 1 },
    status: {
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status: 'False', reason: 'Waiting', message: 'external' }],
    },
  };
  it.each([
    ['without rules the condition counts', undefined, 'NotReady'],
    [
      'a rule matching every key it gives hides the condition',
      [{ type: 'Ready', status: 'False' }],
      'Ready',
    ],
    ['a rule with a key that differs does not', [{ type: 'Ready', reason: 'Other' }], 'NotReady'],
  ])('%s', (_name, rules, state) => {
    expect(assessHealth(withoutIgnoredConditions(stuck, rules)).state).toBe(state);
  });
});

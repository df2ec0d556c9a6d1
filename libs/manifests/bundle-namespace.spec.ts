import { describe, expect, it } from 'vitest';
import {
  bundleNamespaceObject,
  namespaceFieldManager,
  namespaceToDelete,
  type NamespaceOptions,
} from './bundle-namespace.js';

describe('bundleNamespaceObject', () => {
  it.each<{ name: string; options: NamespaceOptions; want: unknown }>([
    {
      name: 'labels and annotations on the target namespace',
      options: {
        defaultNamespace: 'shop',
        namespaceLabels: { a: '1' },
        namespaceAnnotations: { n: 'x' },
      },
      want: {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'shop', labels: { a: '1' }, annotations: { n: 'x' } },
      },
    },
    {
      name: 'labels only: no annotations field (they are not taken over)',
      options: { defaultNamespace: 'shop', namespaceLabels: { a: '1' } },
      want: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { a: '1' } } },
    },
    {
      name: 'nothing to set: nothing applied',
      options: { defaultNamespace: 'shop' },
      want: undefined,
    },
    {
      name: 'no target namespace: nothing applied',
      options: { namespaceLabels: { a: '1' } },
      want: undefined,
    },
  ])('$name', ({ options, want }) => {
    expect(bundleNamespaceObject(options)).toEqual(want);
  });
});

describe('namespaceToDelete', () => {
  it.each<{ name: string; options: NamespaceOptions; keep: boolean; want: string | undefined }>([
    {
      name: 'deleteNamespace deletes the target namespace',
      options: { defaultNamespace: 'shop', deleteNamespace: true },
      keep: false,
      want: 'shop',
    },
    {
      name: 'without deleteNamespace it is kept',
      options: { defaultNamespace: 'shop' },
      keep: false,
      want: undefined,
    },
    {
      name: 'keepResources keeps it',
      options: { defaultNamespace: 'shop', deleteNamespace: true },
      keep: true,
      want: undefined,
    },
    {
      name: 'no target namespace: nothing',
      options: { deleteNamespace: true },
      keep: false,
      want: undefined,
    },
    {
      name: 'default is never deleted',
      options: { defaultNamespace: 'default', deleteNamespace: true },
      keep: false,
      want: undefined,
    },
    {
      name: 'kube-system is never deleted',
      options: { defaultNamespace: 'kube-system', deleteNamespace: true },
      keep: false,
      want: undefined,
    },
    {
      name: "the agent's own namespace is never deleted",
      options: { defaultNamespace: 'flotilla-system', deleteNamespace: true },
      keep: false,
      want: undefined,
    },
  ])('$name', ({ options, keep, want }) => {
    expect(namespaceToDelete(options, keep)).toBe(want);
  });
});

describe('namespaceFieldManager', () => {
  it('differs per bundle and fits the API server limit of 128 characters', () => {
    const a = namespaceFieldManager('repo/a'.repeat(100));
    expect(a).not.toBe(namespaceFieldManager('repo/b'));
    expect(a.length).toBeLessThanOrEqual(128);
    expect(a).toMatch(/^flotilla-agent-ns-[0-9a-f]{16}$/);
  });
});

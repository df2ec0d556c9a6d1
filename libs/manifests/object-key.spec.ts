import { describe, expect, it } from 'vitest';
import {
  InvalidObjectError,
  formatObjectKey,
  isClusterScoped,
  objectKey,
  objectProblem,
  parseObjectKey,
  type KubeObject,
  type ObjectRef,
} from './index.js';

const obj = (apiVersion: string, kind: string, name: string, namespace?: string): KubeObject => ({
  apiVersion,
  kind,
  metadata: namespace === undefined ? { name } : { name, namespace },
});

describe('objectKey', () => {
  it.each<[string, KubeObject, string | undefined, string]>([
    [
      'a namespaced object keeps its own namespace',
      obj('apps/v1', 'Deployment', 'web', 'shop'),
      'other',
      'apps/v1/Deployment/shop/web',
    ],
    [
      'a namespaced object without one gets the default namespace',
      obj('v1', 'ConfigMap', 'settings'),
      'shop',
      'v1/ConfigMap/shop/settings',
    ],
    [
      'without any default namespace it is "default"',
      obj('v1', 'ConfigMap', 'settings'),
      undefined,
      'v1/ConfigMap/default/settings',
    ],
    [
      'an empty namespace counts as none',
      obj('v1', 'Service', 'web', ''),
      'shop',
      'v1/Service/shop/web',
    ],
    [
      'a cluster-scoped object has an empty namespace',
      obj('v1', 'Namespace', 'shop'),
      'shop',
      'v1/Namespace//shop',
    ],
    [
      'a namespace given to a cluster-scoped object is ignored',
      obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'reader', 'shop'),
      undefined,
      'rbac.authorization.k8s.io/v1/ClusterRole//reader',
    ],
  ])('%s', (_name, object, defaultNamespace, key) => {
    expect(objectKey(object, defaultNamespace)).toBe(key);
  });

  it.each<[string, unknown, string]>([
    ['no apiVersion', { kind: 'ConfigMap', metadata: { name: 'a' } }, 'no apiVersion'],
    ['no kind', { apiVersion: 'v1', metadata: { name: 'a' } }, 'no kind'],
    ['no metadata', { apiVersion: 'v1', kind: 'ConfigMap' }, 'ConfigMap without metadata'],
    ['no name', { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }, 'without metadata.name'],
    ['a number as name', obj('v1', 'ConfigMap', 7 as unknown as string), 'without metadata.name'],
    ['a slash in the name', obj('v1', 'ConfigMap', 'a/b'), 'may not contain "/"'],
    ['not an object', ['v1'], 'not a JSON object'],
  ])('rejects an object with %s', (_name, object, problem) => {
    expect(objectProblem(object)).toContain(problem);
    expect(() => objectKey(object as KubeObject)).toThrow(InvalidObjectError);
  });

  it.each<[string, string, ObjectRef]>([
    [
      'a grouped apiVersion',
      'apps/v1/Deployment/shop/web',
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' },
    ],
    [
      'a core apiVersion',
      'v1/ConfigMap/shop/a',
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'a' },
    ],
    [
      'a cluster-scoped object',
      'v1/Namespace//shop',
      { apiVersion: 'v1', kind: 'Namespace', name: 'shop' },
    ],
  ])('parses and formats back the key of %s', (_name, key, ref) => {
    expect(parseObjectKey(key)).toEqual(ref);
    expect(formatObjectKey(ref)).toBe(key);
  });

  it.each(['', 'a/b', 'v1/ConfigMap/ns/', 'a/b/c/d/e/f'])(
    'rejects the malformed key "%s"',
    (key) => {
      expect(() => parseObjectKey(key)).toThrow(/invalid object key/);
    },
  );
});

describe('isClusterScoped', () => {
  it.each<[string, string, boolean]>([
    ['Namespace', 'Namespace', true],
    ['CustomResourceDefinition', 'CustomResourceDefinition', true],
    ['ClusterRole', 'ClusterRole', true],
    ['ClusterRoleBinding', 'ClusterRoleBinding', true],
    ['PersistentVolume', 'PersistentVolume', true],
    ['StorageClass', 'StorageClass', true],
    ['PriorityClass', 'PriorityClass', true],
    ['ValidatingWebhookConfiguration', 'ValidatingWebhookConfiguration', true],
    ['MutatingWebhookConfiguration', 'MutatingWebhookConfiguration', true],
    ['APIService', 'APIService', true],
    ['IngressClass', 'IngressClass', true],
    ['RuntimeClass', 'RuntimeClass', true],
    ['a Deployment is namespaced', 'Deployment', false],
    ['a PersistentVolumeClaim is namespaced', 'PersistentVolumeClaim', false],
    ['a RoleBinding is namespaced', 'RoleBinding', false],
    ['an unknown custom kind is taken as namespaced', 'Widget', false],
    ['kinds are case-sensitive', 'namespace', false],
  ])('%s → %s', (_name, kind, expected) => {
    expect(isClusterScoped(kind)).toBe(expected);
    expect(isClusterScoped({ apiVersion: 'v1', kind, metadata: { name: 'x' } })).toBe(expected);
  });
});

import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  appliedFieldsOf,
  changedFields,
  customResourceScopes,
  driftedFields,
  fieldsOf,
  inventoryConfigMap,
  inventoryName,
  parseInventory,
  pruneKeys,
  removeFields,
  scopedKey,
  summarizeRevert,
  type FieldDiff,
  type FieldsV1,
  type KubeObject,
} from './index.js';
import { observedFixtures, observedResponse } from '../testing/k8s-observed.js';

const fixture = <T>(name: string): T =>
  parse(readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8')) as T;

interface DriftRow {
  name: string;
  desired: KubeObject;
  live: KubeObject;
  owned?: FieldsV1;
  drift: FieldDiff[];
}

interface PruneRow {
  name: string;
  inventory: string[];
  desired: string[];
  prune: string[];
}

describe('driftedFields', () => {
  it.each(fixture<DriftRow[]>('drift.yaml').map((r) => [r.name, r] as const))('%s', (_n, row) => {
    expect(driftedFields(row.desired, row.live, row.owned)).toEqual(row.drift);
  });
});

describe('driftedFields on objects a real kube-apiserver returned', () => {
  const observed = (name: string) => observedResponse(name) as KubeObject;
  const { service, deployment } = observedFixtures();

  it.each<[string, KubeObject, string]>([
    ['a Service with a port without protocol', service, '01-service-ssa-response.json'],
    [
      'a Deployment with a container port without protocol and env',
      deployment,
      '02-deployment-ssa-response.json',
    ],
  ])('%s is no drift right after its apply', (_n, desired, file) => {
    const live = observed(file);
    expect(driftedFields(desired, live, appliedFieldsOf(live, 'flotilla-agent'))).toEqual([]);
  });

  it('a field another manager patched is drift, the rest is not', () => {
    const desired = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cm' },
      data: { color: 'blue', size: '1' },
    };
    const live = observed('04-configmap-after-other-manager-patch.json');
    expect(driftedFields(desired, live, appliedFieldsOf(live, 'flotilla-agent'))).toEqual([
      { path: 'data.color', desired: 'blue', live: 'red' },
    ]);
  });
});

describe('pruneKeys', () => {
  it.each(fixture<PruneRow[]>('prune.yaml').map((r) => [r.name, r] as const))('%s', (_n, row) => {
    expect(pruneKeys(row.inventory, row.desired)).toEqual(row.prune);
  });
});

describe('field sets', () => {
  it('an applied configuration owns every field but identity and status', () => {
    expect(
      fieldsOf({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'a', namespace: 'n', labels: { x: '1' } },
        data: { k: 'v' },
        status: { s: 1 },
      }),
    ).toEqual({ 'f:metadata': { 'f:labels': { 'f:x': {} } }, 'f:data': { 'f:k': {} } });
  });

  it('items of the lists the API server keys are named by key, defaulted key fields filled in', () => {
    expect(
      fieldsOf({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 's' },
        spec: { selector: { app: 'a' }, ports: [{ port: 80 }, { port: 53, protocol: 'UDP' }] },
      }),
    ).toEqual({
      'f:spec': {
        'f:selector': {},
        'f:ports': {
          'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {} },
          'k:{"port":53,"protocol":"UDP"}': { '.': {}, 'f:port': {}, 'f:protocol': {} },
        },
      },
    });
  });

  it('an edit inside a keyed item changes that item only', () => {
    const pod = (image: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        containers: [
          { name: 'a', image: 'a:1' },
          { name: 'b', image },
        ],
      },
    });
    expect(changedFields(pod('b:1'), pod('b:2'))).toEqual({
      'f:spec': { 'f:containers': { 'k:{"name":"b"}': { 'f:image': {} } } },
    });
  });

  it('finds the fields an edit changed, and takes them from a set', () => {
    const before = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a' },
      data: { a: '1', b: '2' },
    };
    const after = { ...before, data: { a: '1', b: '3' } };
    const changed = changedFields(before, after);
    expect(changed).toEqual({ 'f:data': { 'f:b': {} } });
    expect(removeFields({ 'f:data': { 'f:a': {}, 'f:b': {} } }, changed)).toEqual({
      'f:data': { 'f:a': {} },
    });
    expect(removeFields({ 'f:data': { 'f:b': {} } }, changed)).toEqual({});
  });

  it('summarizes a revert live value first', () => {
    expect(summarizeRevert([{ path: 'spec.replicas', desired: 3, live: 5 }])).toBe(
      'spec.replicas 5 → 3',
    );
  });
});

describe('inventory', () => {
  it('round-trips through its ConfigMap, with the applied objects', () => {
    const objects = [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { k: 'v' } },
    ];
    const inventory = {
      bundle: 'demo/web',
      revision: 'r1',
      options: { correctDrift: true },
      keys: ['v1/ConfigMap/web/a'],
      objects,
    };
    const configMap = inventoryConfigMap(inventory);
    expect((configMap.metadata as { name: string }).name).toBe(inventoryName('demo/web'));
    expect(inventoryName('demo/web')).toMatch(/^flotilla-inventory-[0-9a-f]{16}$/);
    expect(parseInventory(JSON.parse(JSON.stringify(configMap)) as KubeObject)).toEqual(inventory);
  });

  it('refuses a ConfigMap that is not an inventory', () => {
    expect(() =>
      parseInventory({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: {} }),
    ).toThrow(/malformed: no bundle/);
  });
});

describe('scopedKey', () => {
  it.each<[string, KubeObject, boolean | undefined, string]>([
    [
      'a namespaced object gets the default namespace',
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } },
      true,
      'v1/ConfigMap/shop/a',
    ],
    [
      'a custom cluster-scoped kind has no namespace',
      { apiVersion: 'x.io/v1', kind: 'Tenant', metadata: { name: 't', namespace: 'shop' } },
      false,
      'x.io/v1/Tenant//t',
    ],
    [
      'an unknown scope falls back to the static list',
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } },
      undefined,
      'v1/Namespace//n',
    ],
  ])('%s', (_n, object, namespaced, key) => {
    expect(scopedKey(object, namespaced, 'shop')).toBe(key);
  });

  it('reads the scope of custom resources from the CRDs of a bundle', () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'tenants.x.io' },
      spec: {
        group: 'x.io',
        scope: 'Cluster',
        names: { kind: 'Tenant' },
        versions: [{ name: 'v1' }, { name: 'v2' }],
      },
    };
    expect([...customResourceScopes([crd])]).toEqual([
      ['x.io/v1/Tenant', false],
      ['x.io/v2/Tenant', false],
    ]);
  });
});

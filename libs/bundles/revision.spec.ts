import { describe, expect, it } from 'vitest';
import type { DeploymentOptions } from '../contracts/delivery.js';
import { canonicalJson, normalizeObjects, revisionId, type KubeObject } from './revision.js';

const a: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'a', namespace: 'x' },
  data: { k: 'v' },
};
const b: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'b' },
  spec: { replicas: 1 },
};
const c: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'a', namespace: 'w' },
};
const opts: DeploymentOptions = {
  correctDrift: false,
  keepResources: false,
  forceConflicts: false,
};

describe('normalizeObjects', () => {
  it('sorts by apiVersion, kind, namespace, name and drops null fields', () => {
    const withNull = { ...b, metadata: { name: 'b', creationTimestamp: null }, status: null };
    expect(normalizeObjects([a, withNull, c])).toEqual([b, c, a]);
  });
  it('keeps nulls inside lists', () => {
    expect(normalizeObjects([{ apiVersion: 'v1', kind: 'X', list: [null, 1] }])).toEqual([
      { apiVersion: 'v1', kind: 'X', list: [null, 1] },
    ]);
  });
});

describe('revisionId', () => {
  const base = revisionId([a, b, c], opts);

  it('is a sha256 hex digest', () => {
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each<[string, KubeObject[], Partial<DeploymentOptions>]>([
    ['object order does not matter', [c, b, a], opts],
    [
      'key order does not matter',
      [
        {
          data: { k: 'v' },
          metadata: { namespace: 'x', name: 'a' },
          kind: 'ConfigMap',
          apiVersion: 'v1',
        },
        b,
        c,
      ],
      opts,
    ],
    ['null fields do not matter', [{ ...a, status: null }, b, c], opts],
    ['omitted options equal their defaults', [a, b, c], {}],
  ])('is unchanged when %s', (_name, objects, options) => {
    expect(revisionId(objects, options)).toBe(base);
  });

  it.each<[string, KubeObject[], Partial<DeploymentOptions>]>([
    ['a value changes', [{ ...a, data: { k: 'w' } }, b, c], opts],
    [
      'an object is added',
      [a, b, c, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } }],
      opts,
    ],
    ['an object is removed', [a, b], opts],
    ['list order changes', [{ ...a, data: { l: [1, 2] } }, b, c], opts],
    ['correctDrift changes', [a, b, c], { ...opts, correctDrift: true }],
    ['defaultNamespace changes', [a, b, c], { ...opts, defaultNamespace: 'web' }],
    ['forceConflicts changes', [a, b, c], { ...opts, forceConflicts: true }],
  ])('changes when %s', (_name, objects, options) => {
    expect(revisionId(objects, options)).not.toBe(base);
  });

  describe('with charts fetched from repositories', () => {
    const web = (version: string, digest: string) => ({
      from: `https://charts.example.com/web-${version}.tgz`,
      name: 'web',
      version,
      digest: digest.repeat(64),
    });
    const api = {
      from: 'oci://r.example.com/charts/api:1.0.0',
      name: 'api',
      version: '1.0.0',
      digest: 'c'.repeat(64),
    };
    const pinned = revisionId([a, b, c], opts, [web('1.0.0', 'a'), api]);

    it.each([
      ['no charts at all keeps the id of a bundle without remote charts', [], base],
      ['chart order does not matter', [api, web('1.0.0', 'a')], pinned],
    ])('%s', (_name, charts, expected) => {
      expect(revisionId([a, b, c], opts, charts)).toBe(expected);
    });

    it.each([
      ['a new chart version rendering the same objects', [web('1.1.0', 'a'), api]],
      ['the same version with another archive digest', [web('1.0.0', 'b'), api]],
      ['a chart fewer', [web('1.0.0', 'a')]],
    ])('changes with %s', (_name, charts) => {
      expect(revisionId([a, b, c], opts, charts)).not.toBe(pinned);
      expect(revisionId([a, b, c], opts, charts)).not.toBe(base);
    });
  });

  it('distinguishes list order', () => {
    expect(revisionId([{ ...a, l: [1, 2] }], opts)).not.toBe(
      revisionId([{ ...a, l: [2, 1] }], opts),
    );
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ y: 1, x: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[{"x":2,"y":1}]},"b":1}',
    );
  });
});

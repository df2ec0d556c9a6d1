import { describe, expect, it } from 'vitest';
import { BundleError } from './errors.js';
import { resolveValuesFrom, usesValuesFrom, type ValuesSources } from './values-from.js';

const sources: ValuesSources = [
  {
    kind: 'Secret',
    namespace: 'shop',
    name: 's',
    data: { 'values.yaml': 'a: {x: 1, y: 1}\n', other: 'b: 2\n' },
  },
  { kind: 'ConfigMap', namespace: 'shop', name: 's', data: { 'values.yaml': 'a: {y: cm}\n' } },
  { kind: 'ConfigMap', namespace: 'other', name: 'c', data: { 'values.yaml': '' } },
  { kind: 'Secret', namespace: 'shop', name: 'l', data: { 'values.yaml': '- a\n- b\n' } },
];

describe('resolveValuesFrom', () => {
  it.each([
    {
      name: 'later references win, maps merge deeply',
      refs: [{ secretKeyRef: { name: 's' } }, { configMapKeyRef: { name: 's' } }],
      want: { a: { x: 1, y: 'cm' } },
    },
    {
      name: 'a Secret and a ConfigMap of the same name are different sources',
      refs: [{ configMapKeyRef: { name: 's' } }],
      want: { a: { y: 'cm' } },
    },
    {
      name: 'key and namespace given explicitly',
      refs: [{ secretKeyRef: { name: 's', namespace: 'shop', key: 'other' } }],
      want: { b: 2 },
    },
    {
      name: 'empty YAML is no values',
      refs: [{ configMapKeyRef: { name: 'c', namespace: 'other' } }],
      want: {},
    },
  ])('$name', ({ refs, want }) => {
    expect(resolveValuesFrom(refs, sources, 'shop', 'demo/web')).toEqual(want);
  });

  it.each([
    [
      'a source in another namespace is not found',
      [{ secretKeyRef: { name: 's', namespace: 'x' } }],
      'no Secret x/s among',
    ],
    [
      'an unknown key names the keys there are',
      [{ secretKeyRef: { name: 's', key: 'nope' } }],
      'has no key "nope" (it has "other", "values.yaml")',
    ],
    [
      'a YAML list is not values',
      [
        { configMapKeyRef: { name: 's', key: 'values.yaml', namespace: 'shop' } },
        { secretKeyRef: { name: 'l' } },
      ],
      'key "values.yaml" of Secret shop/l is not a YAML map of values',
    ],
  ])('%s', (_name, refs, message) => {
    let error: unknown;
    try {
      resolveValuesFrom(refs, sources, 'shop', 'demo/web');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).bundle).toBe('demo/web');
    expect((error as Error).message).toContain(message);
  });

  it('data that does not parse is refused without quoting it', () => {
    const broken: ValuesSources = [
      {
        kind: 'Secret',
        namespace: 'shop',
        name: 'b',
        data: { 'values.yaml': 'pw: [unclosed-s3cret' },
      },
    ];
    expect(() =>
      resolveValuesFrom([{ secretKeyRef: { name: 'b' } }], broken, 'shop', 'demo/web'),
    ).toThrow(
      /^demo\/web: fleet.yaml helm.valuesFrom\[0\]: key "values.yaml" of Secret shop\/b is not a YAML map of values$/,
    );
  });
});

describe('usesValuesFrom', () => {
  it.each([
    ['no helm', { targetCustomizations: [] }, false],
    ['an empty list', { helm: { valuesFrom: [] }, targetCustomizations: [] }, false],
    [
      'the fleet.yaml helm',
      { helm: { valuesFrom: [{ secretKeyRef: { name: 'a' } }] }, targetCustomizations: [] },
      true,
    ],
    [
      'a targetCustomization',
      {
        targetCustomizations: [{}, { helm: { valuesFrom: [{ configMapKeyRef: { name: 'a' } }] } }],
      },
      true,
    ],
  ])('%s', (_name, fleet, want) => {
    expect(usesValuesFrom(fleet)).toBe(want);
  });
});

import { describe, expect, it } from 'vitest';
import { discoverBundles } from './discover.js';
import { BundleError } from './errors.js';
import { MemoryTree } from './file-tree.js';
import { parseFleetYaml } from './fleet-yaml.js';
import { applyPatches, mergeValues, parseManifests, renderVariant } from './render.js';
import type { KubeObject } from './revision.js';
import { substituteValues } from './substitution.js';

const deploy = (name: string, namespace?: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: namespace === undefined ? { name } : { name, namespace },
  spec: { replicas: 1 },
});
const CM_YAML = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: db}\n';
const cm: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'web' },
  data: { a: '1' },
};

function patches(yaml: string): Parameters<typeof applyPatches>[1] {
  const fleet = parseFleetYaml(
    `customizations:\n  - name: c\n    clusterName: x\n    patches: ${yaml}\n`,
    'fleet.yaml',
  );
  return fleet.customizations[0]!;
}

describe('applyPatches', () => {
  it.each<[string, string, KubeObject[], unknown[]]>([
    [
      'a merge patch on a target by kind and name',
      '[{target: {kind: Deployment, name: web}, merge: {spec: {replicas: 3}}}]',
      [deploy('web'), deploy('api')],
      [{ spec: { replicas: 3 } }, { spec: { replicas: 1 } }],
    ],
    [
      'a merge patch null deletes a field',
      '[{target: {kind: ConfigMap}, merge: {data: {a: null, b: "2"}}}]',
      [cm],
      [{ data: { b: '2' } }],
    ],
    [
      'RFC 6902 operations',
      '[{target: {apiVersion: apps/v1}, operations: [{op: replace, path: /spec/replicas, value: 5}, {op: add, path: /metadata/labels, value: {a: b}}]}]',
      [deploy('web')],
      [{ spec: { replicas: 5 }, metadata: { labels: { a: 'b' } } }],
    ],
    [
      'a patch without target applies to every object',
      '[{merge: {metadata: {annotations: {x: y}}}}]',
      [deploy('web'), cm],
      [{ metadata: { annotations: { x: 'y' } } }, { metadata: { annotations: { x: 'y' } } }],
    ],
    [
      'namespace targets use the default namespace for objects without one',
      '[{target: {namespace: web}, merge: {spec: {replicas: 2}}}]',
      [deploy('a'), deploy('b', 'other')],
      [{ spec: { replicas: 2 } }, { spec: { replicas: 1 } }],
    ],
    [
      'patches apply in order',
      '[{merge: {spec: {replicas: 2}}}, {operations: [{op: test, path: /spec/replicas, value: 2}, {op: remove, path: /spec}]}]',
      [deploy('web')],
      [{ metadata: { name: 'web' } }],
    ],
  ])('%s', (_name, yaml, objects, expected) => {
    const before = structuredClone(objects);
    const out = applyPatches(objects, patches(yaml), 'demo/web', 'web');
    expect(out).toMatchObject(expected);
    expect(objects).toEqual(before);
  });

  it.each([
    [
      'a target matching nothing',
      '[{target: {kind: Secret}, merge: {a: 1}}]',
      'customization "c" patches[0]: target (kind=Secret) matches no object',
    ],
    [
      'a failing test operation',
      '[{operations: [{op: test, path: /spec/replicas, value: 9}]}]',
      'customization "c" patches[0]: on Deployment web: Test operation failed',
    ],
    [
      'removing a missing path',
      '[{operations: [{op: remove, path: /nope}]}]',
      'patches[0]: on Deployment web:',
    ],
  ])('rejects %s', (_name, yaml, message) => {
    expect(() => applyPatches([deploy('web')], patches(yaml), 'demo/web')).toThrow(message);
  });
});

describe('substituteValues', () => {
  const values = { 'cluster.name': 'eu-1', 'cluster.labels.region': 'eu' };
  const where = { bundle: 'demo/web', what: 'ConfigMap web' };
  it.each([
    ['cluster name in a string', { a: 'x-${cluster.name}' }, { a: 'x-eu-1' }],
    [
      'labels, several in one string, deep in arrays',
      { a: [{ b: '${cluster.labels.region}/${cluster.name}' }] },
      { a: [{ b: 'eu/eu-1' }] },
    ],
    [
      'keys and non-strings are left alone',
      { '${cluster.name}': 1, n: true },
      { '${cluster.name}': 1, n: true },
    ],
    [
      'other ${...} text is left alone',
      { s: '${HOME} $cluster.name' },
      { s: '${HOME} $cluster.name' },
    ],
  ])('%s', (_name, input, expected) => {
    expect(substituteValues(input, values, where)).toEqual(expected);
  });
  it.each([
    [
      'a label the cluster lacks',
      '${cluster.labels.zone}',
      'cannot substitute ${cluster.labels.zone} in ConfigMap web: the cluster has no such label',
    ],
    [
      'an unknown cluster field',
      '${cluster.id}',
      'cannot substitute ${cluster.id} in ConfigMap web: only ${cluster.name} and ${cluster.labels.KEY} are supported',
    ],
  ])('rejects %s', (_name, text, message) => {
    expect(() => substituteValues({ a: text }, values, where)).toThrow(BundleError);
    expect(() => substituteValues({ a: text }, values, where)).toThrow(message);
  });
});

describe('parseManifests', () => {
  it('skips empty documents and expands Lists', () => {
    const text = `---\n# only a comment\n---\napiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n---\n{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b"}}\n`;
    expect(parseManifests(text, 'x.yaml', 'demo/web').map((o) => o.kind)).toEqual([
      'ConfigMap',
      'Secret',
    ]);
  });
  it.each([
    [
      'a YAML error names file and line',
      'apiVersion: v1\nkind: ConfigMap\nkind: Secret\n',
      'demo/web: apps/web/x.yaml line 3: invalid YAML: Map keys must be unique',
    ],
    [
      'a document that is not an object',
      'apiVersion: v1\nkind: A\n---\n- a\n',
      'apps/web/x.yaml document 2: not a Kubernetes object',
    ],
  ])('%s', (_name, text, message) => {
    expect(() => parseManifests(text, 'apps/web/x.yaml', 'demo/web')).toThrow(message);
  });
});

describe('mergeValues', () => {
  it('merges objects deeply and replaces lists and scalars', () => {
    expect(
      mergeValues({ a: { b: 1, c: [1] }, d: 1 }, { a: { c: [2], e: 3 }, d: { x: 1 } }),
    ).toEqual({
      a: { b: 1, c: [2], e: 3 },
      d: { x: 1 },
    });
  });
});

describe('renderVariant (plain YAML)', () => {
  const files = {
    'apps/web/fleet.yaml': `defaultNamespace: web
substitute: true
customizations:
  - name: eu
    clusterSelector: {matchLabels: {region: eu}}
    patches: [{target: {kind: ConfigMap}, merge: {data: {replicas: "3"}}}]
`,
    'apps/web/cm.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-${cluster.name}\n  creationTimestamp: null\ndata:\n  region: ${cluster.labels.region}\n',
    'apps/web/more/svc.yml': '---\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n',
  };

  it('parses every manifest, patches, substitutes and normalizes', async () => {
    const tree = new MemoryTree(files);
    const { bundles } = await discoverBundles(tree, 'demo', ['apps']);
    const objects = await renderVariant(tree, bundles[0]!, {
      customizations: ['eu'],
      substitution: { 'cluster.name': 'eu-1', 'cluster.labels.region': 'eu' },
    });
    expect(objects).toEqual([
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'web-eu-1' },
        data: { region: 'eu', replicas: '3' },
      },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' } },
    ]);
  });

  it('fails naming a referenced label the variant lacks', async () => {
    const tree = new MemoryTree(files);
    const { bundles } = await discoverBundles(tree, 'demo', ['apps']);
    await expect(
      renderVariant(tree, bundles[0]!, {
        customizations: [],
        substitution: { 'cluster.name': 'us-1' },
      }),
    ).rejects.toThrow('cannot substitute ${cluster.labels.region}');
  });

  it.each([
    [
      'a kustomize.dir leaving the bundle',
      'customizations: [{name: x, clusterName: a, kustomize: {dir: ../other}}]\n',
      'customizations[0].kustomize.dir: "../other" leaves the bundle directory',
    ],
    [
      'an absolute helm chart',
      'helm: {chart: /etc}\n',
      'helm.chart: "/etc" must be a path inside the bundle, not absolute',
    ],
    [
      'a values file leaving the bundle',
      'helm: {valuesFiles: [a/../../x.yaml]}\n',
      'helm.valuesFiles[0]: "a/../../x.yaml" leaves the bundle directory',
    ],
    [
      'a remote values file',
      'helm: {chart: chart, valuesFiles: ["https://example.com/v.yaml"]}\n',
      'helm.valuesFiles[0]: "https://example.com/v.yaml" is a URL',
    ],
  ])('never lets %s escape', async (_name, fleet, message) => {
    const tree = new MemoryTree({
      'apps/web/fleet.yaml': fleet,
      'apps/web/a.yaml': 'kind: A\napiVersion: v1\n',
    });
    const { errors } = await discoverBundles(tree, 'demo', ['apps']);
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining(message)]);
    // render checks too, for BundleSources built by hand
    const bundle = {
      name: 'demo/web',
      dir: 'apps/web',
      kind: 'kustomize' as const,
      fleet: parseFleetYaml(fleet, 'apps/web/fleet.yaml'),
      files: ['apps/web/a.yaml', 'apps/web/fleet.yaml'],
      references: [],
    };
    await expect(
      renderVariant(
        tree,
        bundle,
        { customizations: bundle.fleet.customizations.map((c) => c.name), substitution: {} },
        { kubectl: '/bin/false', helm: '/bin/false' },
      ),
    ).rejects.toThrow(BundleError);
  });
});

describe('renderVariant refuses references out of the bundle before any tool runs', () => {
  // The tools are /bin/false: reaching one would fail with "kustomize failed" / "helm template failed".
  const tools = { kubectl: '/bin/false', helm: '/bin/false' };
  it.each([
    [
      'a remote kustomize base',
      {
        'apps/web/kustomization.yaml': 'resources: ["https://github.com/org/repo//base?ref=v1"]\n',
      },
      'demo/web: apps/web/kustomization.yaml resources[0]: "https://github.com/org/repo//base?ref=v1" is a URL',
    ],
    [
      'a kustomize resource leaving the repository',
      { 'apps/web/kustomization.yaml': 'resources: [../../../etc]\n' },
      'resources[0]: "../../../etc" leaves the repository',
    ],
    [
      'an overlay reaching out of the checkout',
      {
        'apps/web/fleet.yaml': 'kustomize: {dir: overlays/eu}\n',
        'apps/web/overlays/eu/kustomization.yaml': 'resources: [../../../../../db]\n',
        'apps/db/d.yaml': CM_YAML,
      },
      'apps/web/overlays/eu/kustomization.yaml resources[0]: "../../../../../db" leaves the repository',
    ],
    [
      'a helm chart whose values schema reads a file of the hub',
      {
        'apps/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
        'apps/web/values.schema.json': '{"$ref": "file:///etc/passwd"}',
      },
      'apps/web/values.schema.json: $ref "file:///etc/passwd" is not a local reference',
    ],
  ])('%s', async (_name, files, message) => {
    const tree = new MemoryTree(files);
    const { bundles } = await discoverBundles(tree, 'demo', ['apps']);
    const web = bundles.find((b) => b.name === 'demo/web')!;
    const err: unknown = await renderVariant(
      tree,
      web,
      { customizations: [], substitution: {} },
      tools,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleError);
    expect(err).toMatchObject({ bundle: 'demo/web' });
    expect((err as BundleError).message).toContain(message);
  });
});

it('renderVariant refuses two files of a bundle that would land on the same path of the copy', async () => {
  // A Git tree may hold a file named `a\b.yaml` next to `a/b.yaml`; both become `a/b.yaml`.
  const tree = {
    list: () => Promise.resolve([]),
    read: () => Promise.resolve(new TextEncoder().encode(CM_YAML)),
  };
  const bundle = {
    name: 'demo/web',
    dir: 'apps/web',
    kind: 'kustomize' as const,
    fleet: parseFleetYaml('', 'apps/web/fleet.yaml'),
    files: ['apps/web/a/b.yaml', 'apps/web/a\\b.yaml', 'apps/web/kustomization.yaml'],
    references: [],
  };
  const err: unknown = await renderVariant(
    tree,
    bundle,
    { customizations: [], substitution: {} },
    { kubectl: '/bin/false' },
  ).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BundleError);
  expect((err as BundleError).message).toBe(
    'demo/web: file apps/web/a\\b.yaml collides with another file of the bundle (EEXIST)',
  );
});

it('renderVariant copies bundle files whose names only look remote', async () => {
  const tree = new MemoryTree({
    'apps/web/kustomization.yaml': 'resources: [./github.com/cm.yaml]\n',
    'apps/web/github.com/cm.yaml': CM_YAML,
  });
  const { bundles } = await discoverBundles(tree, 'demo', ['apps']);
  const err: unknown = await renderVariant(
    tree,
    bundles[0]!,
    { customizations: [], substitution: {} },
    { kubectl: '/bin/false' },
  ).catch((e: unknown) => e);
  // the copy and the checks pass; only the stand-in kubectl fails
  expect((err as BundleError).message).toMatch(/^demo\/web: kustomize failed/);
});

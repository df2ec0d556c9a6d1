import { describe, expect, it } from 'vitest';
import { discoverBundles } from './discover.js';
import { BundleError } from './errors.js';
import { MemoryTree } from './file-tree.js';
import { parseFleetYaml } from './fleet-yaml.js';
import {
  addFirstResource,
  applyPatches,
  mergeValues,
  parseManifests,
  renderVariant,
} from './render.js';
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
      'apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\n- a\n',
      'apps/web/x.yaml document 2: not a Kubernetes object',
    ],
    [
      'an object with only generateName names file and document',
      'apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {generateName: migrate-}\n',
      'demo/web: apps/web/x.yaml document 2: Job has metadata.generateName but no metadata.name',
    ],
    [
      'a List item with only generateName names its index',
      'apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Pod, metadata: {generateName: p-}}\n',
      'apps/web/x.yaml document 1 items[0]: Pod has metadata.generateName',
    ],
    [
      'an object without any name',
      'apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n',
      'apps/web/x.yaml document 1: ConfigMap has no metadata.name',
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

describe('renderVariant with a chart from a repository', () => {
  const bundle = (fleet: string) => ({
    name: 'demo/web',
    dir: 'apps/web',
    kind: 'helm' as const,
    fleet: parseFleetYaml(fleet, 'apps/web/fleet.yaml'),
    files: ['apps/web/fleet.yaml'],
    references: [],
  });
  const tree = new MemoryTree({ 'apps/web/fleet.yaml': '' });

  it('fails clearly on a hub that cannot fetch charts', async () => {
    await expect(
      renderVariant(
        tree,
        bundle('helm: {repo: "https://charts.example.com", chart: web, version: 1.x}\n'),
        { customizations: [], substitution: {} },
        { helm: '/bin/false' },
      ),
    ).rejects.toThrow(
      'demo/web: chart web 1.x from https://charts.example.com: this hub cannot fetch charts from Helm repositories, OCI registries or URLs',
    );
  });

  it('asks the fetcher for the chart fleet.yaml names, and its error is the bundle error', async () => {
    const asked: unknown[] = [];
    const fetchChart = (source: unknown, name: string) => {
      asked.push([source, name]);
      return Promise.reject(new BundleError(`${name}: cannot fetch: HTTP 404`, { bundle: name }));
    };
    await expect(
      renderVariant(
        tree,
        bundle('helm: {chart: "oci://registry.example.com/charts/web", version: ^2.0.0}\n'),
        { customizations: [], substitution: {} },
        { helm: '/bin/false', fetchChart },
      ),
    ).rejects.toThrow('demo/web: cannot fetch: HTTP 404');
    expect(asked).toEqual([
      [
        { kind: 'oci', ref: 'oci://registry.example.com/charts/web', version: '^2.0.0' },
        'demo/web',
      ],
    ]);
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

/** Renders the only bundle of `files` for a variant; returns `Kind/namespace/name` strings. */
async function renderOne(
  files: Record<string, string>,
  variant: Partial<Parameters<typeof renderVariant>[2]> = {},
  tools: Parameters<typeof renderVariant>[3] = {},
): Promise<KubeObject[]> {
  const tree = new MemoryTree(files);
  const { bundles, errors } = await discoverBundles(tree, 'demo', ['apps']);
  expect(errors).toEqual([]);
  return renderVariant(
    tree,
    bundles[0]!,
    { customizations: [], substitution: {}, ...variant },
    tools,
  );
}

const ids = (objects: KubeObject[]): string[] =>
  objects.map((o) => {
    const m = o.metadata as { name: string; namespace?: string };
    return `${String(o.kind)}/${m.namespace ?? '-'}/${m.name}`;
  });

describe("Fleet's namespace: every namespaced object forced into it", () => {
  it.each([
    [
      'objects without a namespace and with another one both land in it',
      'namespace: forced\n',
      `${CM_YAML}---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: elsewhere}\n`,
      ['ConfigMap/forced/db', 'Service/forced/s'],
    ],
    [
      'defaultNamespace alone only fills in nothing at render time (the agent defaults it)',
      'defaultNamespace: dflt\n',
      CM_YAML,
      ['ConfigMap/-/db'],
    ],
  ])('%s', async (_name, fleetYaml, manifests, expected) => {
    const objects = await renderOne({
      'apps/web/fleet.yaml': fleetYaml,
      'apps/web/m.yaml': manifests,
    });
    expect(ids(objects)).toEqual(expected);
  });

  it.each([
    [
      'a known cluster-scoped kind',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n',
      'ClusterRole r is cluster-scoped',
    ],
    [
      'a kind the bundle defines as cluster-scoped',
      `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec: {group: example.com, scope: Cluster, names: {kind: Widget, plural: widgets}, versions: []}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
`,
      'CustomResourceDefinition widgets.example.com, Widget w are cluster-scoped',
    ],
  ])('refuses %s, as Fleet does', async (_name, manifests, message) => {
    await expect(
      renderOne({ 'apps/web/fleet.yaml': 'namespace: forced\n', 'apps/web/m.yaml': manifests }),
    ).rejects.toThrow(message);
  });

  it("a targetCustomization's namespace applies to its clusters only", async () => {
    const files = {
      'apps/web/fleet.yaml':
        'targetCustomizations: [{clusterName: a, namespace: team-a}, {clusterName: b, defaultNamespace: team-b}]\n',
      'apps/web/m.yaml': `${CM_YAML}---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: own}\n`,
    };
    expect(ids(await renderOne(files, { targetCustomization: 0 }))).toEqual([
      'ConfigMap/team-a/db',
      'Service/team-a/s',
    ]);
    // defaultNamespace of a targetCustomization fills in objects without one, at render time.
    expect(ids(await renderOne(files, { targetCustomization: 1 }))).toEqual([
      'ConfigMap/team-b/db',
      'Service/own/s',
    ]);
    expect(ids(await renderOne(files))).toEqual(['ConfigMap/-/db', 'Service/own/s']);
  });
});

describe("Fleet's yaml.overlays", () => {
  const files = {
    'apps/web/deploy.yaml':
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n',
    'apps/web/cm.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {env: base}\n',
    'apps/web/overlays/prod/cm.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {env: prod}\n',
    'apps/web/overlays/big/deploy_patch.yaml':
      'kind: Deployment\nmetadata: {name: web}\nspec: {replicas: 5}\n',
    'apps/web/overlays/json/deploy_patch.yaml': '- {op: replace, path: /spec/replicas, value: 7}\n',
  };

  it.each([
    ['no overlay: the base files, never the overlays directory', '', { cm: 'base', replicas: 1 }],
    [
      'a file of the overlay replaces the file of the same path',
      'yaml: {overlays: [prod]}\n',
      { cm: 'prod', replicas: 1 },
    ],
    [
      'a _patch file merge-patches the file it names',
      'yaml: {overlays: [big]}\n',
      { cm: 'base', replicas: 5 },
    ],
    [
      'a _patch JSON list is an RFC 6902 patch',
      'yaml: {overlays: [json]}\n',
      { cm: 'base', replicas: 7 },
    ],
    [
      'overlays apply in order',
      'yaml: {overlays: [prod, big, json]}\n',
      { cm: 'prod', replicas: 7 },
    ],
    [
      'a targetCustomization picks its own overlays',
      'targetCustomizations: [{clusterName: a, yaml: {overlays: [big]}}]\n',
      { cm: 'base', replicas: 5 },
      0,
    ],
  ])('%s', async (_name, fleetYaml, expected, targetCustomization?: number) => {
    const objects = await renderOne(
      { ...files, 'apps/web/fleet.yaml': fleetYaml },
      targetCustomization === undefined ? {} : { targetCustomization },
    );
    const cmObj = objects.find((o) => o.kind === 'ConfigMap') as { data: { env: string } };
    const dep = objects.find((o) => o.kind === 'Deployment') as { spec: { replicas: number } };
    expect({ cm: cmObj.data.env, replicas: dep.spec.replicas }).toEqual(expected);
    expect(objects).toHaveLength(2);
  });

  it.each([
    [
      'an overlay with no files',
      'yaml: {overlays: [nope]}\n',
      '"nope" has no files under "apps/web/overlays/nope/"',
    ],
  ])('refuses %s', async (_name, fleetYaml, message) => {
    await expect(renderOne({ ...files, 'apps/web/fleet.yaml': fleetYaml })).rejects.toThrow(
      message,
    );
  });

  it('refuses a _patch file whose base file does not exist', async () => {
    await expect(
      renderOne({
        ...files,
        'apps/web/overlays/bad/svc_patch.yaml': 'kind: Service\n',
        'apps/web/fleet.yaml': 'yaml: {overlays: [bad]}\n',
      }),
    ).rejects.toThrow('patches "apps/web/svc.yaml", which the bundle does not have');
  });
});

describe('charts from outside the repository go to the chart fetcher', () => {
  const files = {
    'apps/web/fleet.yaml': 'helm: {repo: "https://c.example", chart: web, version: "^1.2"}\n',
  };

  it('without a fetcher, the bundle fails with a clear message', async () => {
    await expect(renderOne(files)).rejects.toThrow(
      'demo/web: chart web ^1.2 from https://c.example: this hub cannot fetch charts',
    );
  });

  it('the fetcher gets the typed source and its error is the bundle error', async () => {
    const asked: unknown[] = [];
    const fetchChart = (source: unknown, bundle: string) => {
      asked.push([source, bundle]);
      return Promise.reject(
        new BundleError(`${bundle}: chart web: no version matches ^1.2`, { bundle }),
      );
    };
    await expect(renderOne(files, {}, { fetchChart })).rejects.toThrow('no version matches ^1.2');
    expect(asked).toEqual([
      [{ kind: 'repo', repo: 'https://c.example', chart: 'web', version: '^1.2' }, 'demo/web'],
    ]);
  });

  it('a targetCustomization version reaches the fetcher for its clusters', async () => {
    const asked: unknown[] = [];
    const fetchChart = (source: unknown) => {
      asked.push(source);
      return Promise.reject(new BundleError('demo/web: stop', { bundle: 'demo/web' }));
    };
    await expect(
      renderOne(
        {
          'apps/web/fleet.yaml':
            'helm: {chart: "oci://r.example/charts/web", version: "1.0.0"}\ntargetCustomizations: [{clusterName: a, helm: {version: "2.0.0"}}]\n',
        },
        { targetCustomization: 0 },
        { fetchChart },
      ),
    ).rejects.toThrow('stop');
    expect(asked).toEqual([{ kind: 'oci', ref: 'oci://r.example/charts/web', version: '2.0.0' }]);
  });

  it('valuesFrom without values sources is a clear bundle error', async () => {
    await expect(
      renderOne({
        'apps/web/fleet.yaml': 'helm: {chart: ., valuesFrom: [{secretKeyRef: {name: v}}]}\n',
        'apps/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
      }),
    ).rejects.toThrow(
      "demo/web: fleet.yaml helm.valuesFrom[0]: no Secret default/v among the GitRepo's values sources",
    );
  });
});

describe('addFirstResource (Helm + Kustomize post-rendering)', () => {
  it.each([
    [
      'adds resources to a kustomization without them',
      'namePrefix: a-\n',
      'namePrefix: a-\nresources:\n  - fleet-manifests.yaml\n',
    ],
    ['puts it first', 'resources: [x.yaml]\n', 'resources: [ fleet-manifests.yaml, x.yaml ]\n'],
    [
      'keeps it once',
      'resources: [fleet-manifests.yaml]\n',
      'resources: [ fleet-manifests.yaml ]\n',
    ],
    [
      'keeps quoted values quoted (kustomize reads YAML 1.1: a bare yes is a boolean)',
      'labels: [{pairs: {post: "yes"}}]\n',
      'labels: [ { pairs: { post: "yes" } } ]\nresources:\n  - fleet-manifests.yaml\n',
    ],
    ['an empty file', '', 'resources: ["fleet-manifests.yaml"]\n'],
  ])('%s', (_name, text, expected) => {
    expect(addFirstResource(text, 'fleet-manifests.yaml')).toBe(expected);
  });
});

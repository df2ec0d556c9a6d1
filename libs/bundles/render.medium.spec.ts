import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { BundleSource } from './bundle-source.js';
import { discoverBundles } from './discover.js';
import { BundleError } from './errors.js';
import { DiskTree, MemoryTree } from './file-tree.js';
import { renderVariant } from './render.js';
import type { ValuesSources } from './values-from.js';
import type { KubeObject } from './revision.js';
import type { ClusterRef } from './targeting.js';
import { planVariants } from './variants.js';

const tree = new DiskTree(fileURLToPath(new URL('testdata/repo', import.meta.url)));
const clusters: ClusterRef[] = [
  { name: 'eu-1', labels: { region: 'eu' } },
  { name: 'eu-2', labels: { region: 'eu', size: 'l' } },
  { name: 'us-1', labels: { region: 'us' } },
];

// Built here rather than under testdata/: prettier would reformat the template's {{ }}.
const helmTree = new MemoryTree({
  'apps/api/Chart.yaml': 'apiVersion: v2\nname: api\nversion: 0.1.0\n',
  'apps/api/values.yaml':
    'replicas: 1\nimage: {repository: registry.example/api, tag: "1.0"}\nregion: none\n',
  'apps/api/values-prod.yaml': 'image: {tag: "1.1"}\n',
  'apps/api/templates/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
  labels:
    region: {{ .Values.region | quote }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels:
      app: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}
    spec:
      containers:
        - name: api
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
`,
  'apps/api/fleet.yaml': `defaultNamespace: api
substitute: true
helm:
  values: {replicas: 2, region: "\${cluster.labels.region}"}
  valuesFiles: [values-prod.yaml]
customizations:
  - name: eu
    clusterSelector: {matchLabels: {region: eu}}
    helm: {values: {replicas: 5}}
  - name: big
    clusterSelector: {matchLabels: {size: l}}
    helm: {values: {image: {tag: "2.0"}}}
`,
});

async function bundle(name: string): Promise<BundleSource> {
  const { bundles } = await discoverBundles(tree, 'demo', ['apps']);
  const found = bundles.find((b) => b.name === name);
  if (found === undefined) throw new Error(`no bundle ${name}`);
  return found;
}

function byKind(objects: KubeObject[], kind: string): KubeObject {
  const found = objects.find((o) => o.kind === kind);
  if (found === undefined) throw new Error(`no ${kind}`);
  return found;
}

describe('renderVariant with real tools', () => {
  it('renders a Kustomize bundle: base for most, the overlays/eu customization for eu', async () => {
    const web = await bundle('demo/web');
    expect(web.kind).toBe('kustomize');
    const variants = planVariants(web, clusters, {});
    expect(variants.map((v) => [v.clusters, v.customizations])).toEqual([
      [['eu-1', 'eu-2'], ['eu']],
      [['us-1'], []],
    ]);
    const [eu, base] = await Promise.all(variants.map((v) => renderVariant(tree, web, v)));
    expect(base).toMatchObject([
      {
        kind: 'Deployment',
        metadata: { name: 'web', labels: { app: 'web' } },
        spec: { replicas: 1 },
      },
    ]);
    expect(eu?.map((o) => o.kind)).toEqual(['Deployment', 'ConfigMap']);
    expect(byKind(eu ?? [], 'Deployment')).toMatchObject({
      metadata: { labels: { app: 'web', customized: 'true' } },
      spec: { replicas: 3 },
    });
    expect(byKind(eu ?? [], 'ConfigMap')).toMatchObject({
      metadata: { name: 'region' },
      data: { region: 'eu' },
    });
  });

  it('renders a Helm chart with fleet values, values files and customization values in order', async () => {
    const { bundles } = await discoverBundles(helmTree, 'demo', ['apps']);
    const api = bundles[0]!;
    expect(api.name).toBe('demo/api');
    expect(api.kind).toBe('helm');
    const variants = planVariants(api, clusters, {});
    expect(variants.map((v) => [v.clusters, v.customizations, v.substitution])).toEqual([
      [['eu-1'], ['eu'], { 'cluster.labels.region': 'eu' }],
      [['eu-2'], ['eu', 'big'], { 'cluster.labels.region': 'eu' }],
      [['us-1'], [], { 'cluster.labels.region': 'us' }],
    ]);
    const rendered = await Promise.all(variants.map((v) => renderVariant(helmTree, api, v)));
    const summary = rendered.map((objects) => {
      const d = byKind(objects, 'Deployment') as {
        metadata: { name: string; namespace: string; labels: Record<string, string> };
        spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
      };
      return [
        d.metadata.name,
        d.metadata.namespace,
        d.metadata.labels.region,
        d.spec.replicas,
        d.spec.template.spec.containers[0]?.image,
      ];
    });
    expect(summary).toEqual([
      ['api', 'api', 'eu', 5, 'registry.example/api:1.1'],
      ['api', 'api', 'eu', 5, 'registry.example/api:2.0'],
      ['api', 'api', 'us', 2, 'registry.example/api:1.1'],
    ]);
  });

  it("a failing kustomize gives a BundleError with kustomize's message", async () => {
    const broken = await bundle('demo/broken');
    const err: unknown = await renderVariant(tree, broken, {
      customizations: [],
      substitution: {},
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleError);
    expect((err as BundleError).bundle).toBe('demo/broken');
    expect((err as BundleError).message).toMatch(
      /^demo\/broken: kustomize failed: .*missing\.yaml/s,
    );
    // the temp dir is shown as the bundle dir
    expect((err as BundleError).message).not.toContain('flotilla-render-');
  });
});

describe('Fleet layouts with real tools', () => {
  it('Helm + kustomize.dir: kustomize post-renders the chart (fleet-manifests.yaml)', async () => {
    const hk = new MemoryTree({
      'apps/hk/fleet.yaml':
        'helm: {chart: chart, values: {greeting: hi}}\nkustomize: {dir: post}\n',
      'apps/hk/chart/Chart.yaml': 'apiVersion: v2\nname: hk\nversion: 0.1.0\n',
      'apps/hk/chart/templates/cm.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "{{ .Release.Name }}"}\ndata: {greeting: "{{ .Values.greeting }}"}\n',
      'apps/hk/post/kustomization.yaml':
        'labels: [{pairs: {post: rendered}}]\npatches:\n  - target: {kind: ConfigMap}\n    patch: \'[{"op": "add", "path": "/data/extra", "value": "added"}]\'\n',
    });
    const { bundles, errors } = await discoverBundles(hk, 'demo', ['apps']);
    expect(errors).toEqual([]);
    expect(bundles[0]?.kind).toBe('helm');
    const objects = await renderVariant(hk, bundles[0]!, { customizations: [], substitution: {} });
    expect(objects).toEqual([
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'hk', labels: { post: 'rendered' } },
        data: { greeting: 'hi', extra: 'added' },
      },
    ]);
  });

  it('an overlay over ../../base renders from the base elsewhere in the repository', async () => {
    const repo = new MemoryTree({
      'base/kustomization.yaml': 'resources: [deploy.yaml]\n',
      'base/deploy.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n',
      'overlays/prod/kustomization.yaml':
        'resources: [../../base]\nnamePrefix: prod-\npatches:\n  - target: {kind: Deployment}\n    patch: \'[{"op": "replace", "path": "/spec/replicas", "value": 3}]\'\n',
    });
    const { bundles, errors } = await discoverBundles(repo, 'demo', ['overlays/prod']);
    expect(errors).toEqual([]);
    const objects = await renderVariant(repo, bundles[0]!, {
      customizations: [],
      substitution: {},
    });
    expect(objects).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'prod-web' },
        spec: { replicas: 3 },
      },
    ]);
  });
});

describe('helm.skipSchemaValidation with real helm', () => {
  const files = (skip: boolean) =>
    new MemoryTree({
      'apps/s/fleet.yaml': `helm: {chart: ".", values: {replicas: many}${skip ? ', skipSchemaValidation: true' : ''}}\n`,
      'apps/s/Chart.yaml': 'apiVersion: v2\nname: s\nversion: 0.1.0\n',
      'apps/s/values.schema.json':
        '{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"replicas": {"type": "integer"}}}',
      'apps/s/templates/cm.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\ndata: {replicas: "{{ .Values.replicas }}"}\n',
    });
  it.each([
    ['values breaking the chart schema fail the render', false, 'fails'],
    ['skipSchemaValidation renders them anyway', true, 'renders'],
  ])('%s', async (_name, skip, outcome) => {
    const tree = files(skip);
    const { bundles, errors } = await discoverBundles(tree, 'demo', ['apps']);
    expect(errors).toEqual([]);
    const result = await renderVariant(tree, bundles[0]!, {
      customizations: [],
      substitution: {},
    }).then(
      (objects) => ({ objects }),
      (err: unknown) => ({ error: (err as Error).message }),
    );
    if (outcome === 'fails')
      expect(result).toMatchObject({ error: expect.stringMatching(/replicas/) });
    else expect(result).toMatchObject({ objects: [{ data: { replicas: 'many' } }] });
  });
});

describe("helm.valuesFrom from the GitRepo's values sources, with real helm", () => {
  const tree = new MemoryTree({
    'apps/v/fleet.yaml': `defaultNamespace: shop
helm:
  chart: "."
  values: {a: from-values, b: from-values, c: from-values}
  valuesFrom:
    - secretKeyRef: {name: web-secret}
    - configMapKeyRef: {name: web-config, namespace: shared, key: extra.yaml}
`,
    'apps/v/Chart.yaml': 'apiVersion: v2\nname: v\nversion: 0.1.0\n',
    'apps/v/templates/cm.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: v}\ndata: {a: "{{ .Values.a }}", b: "{{ .Values.b }}", c: "{{ .Values.c }}"}\n',
  });
  const sources: ValuesSources = [
    {
      kind: 'Secret',
      namespace: 'shop',
      name: 'web-secret',
      data: { 'values.yaml': 'a: s\nb: s\n' },
    },
    {
      kind: 'ConfigMap',
      namespace: 'shared',
      name: 'web-config',
      data: { 'extra.yaml': 'b: cm\n' },
    },
  ];

  it('valuesFrom merges over values in order (later wins), as in Fleet; defaults: the bundle namespace and values.yaml', async () => {
    const { bundles } = await discoverBundles(tree, 'demo', ['apps']);
    const objects = await renderVariant(
      tree,
      bundles[0]!,
      { customizations: [], substitution: {} },
      { valuesSources: sources },
    );
    expect(objects).toMatchObject([{ data: { a: 's', b: 'cm', c: 'from-values' } }]);
  });

  it.each([
    [
      'a missing source is the bundle error, saying how to set it',
      sources.slice(1),
      "demo/v: fleet.yaml helm.valuesFrom[0]: no Secret shop/web-secret among the GitRepo's values sources (set it with PUT /api/v1/gitrepos/<gitrepo>/values/secrets/shop/web-secret)",
    ],
    [
      'a missing key names the keys there are',
      [sources[0]!, { ...sources[1]!, data: { 'values.yaml': 'b: 1\n' } }],
      'demo/v: fleet.yaml helm.valuesFrom[1]: ConfigMap shared/web-config has no key "extra.yaml" (it has "values.yaml")',
    ],
    [
      'data that is not a YAML map is refused without showing it',
      [{ ...sources[0]!, data: { 'values.yaml': 'hunter2-password' } }, sources[1]!],
      'demo/v: fleet.yaml helm.valuesFrom[0]: key "values.yaml" of Secret shop/web-secret is not a YAML map of values',
    ],
  ])('%s', async (_name, given, message) => {
    const { bundles } = await discoverBundles(tree, 'demo', ['apps']);
    const error = await renderVariant(
      tree,
      bundles[0]!,
      { customizations: [], substitution: {} },
      { valuesSources: given },
    ).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(BundleError);
    expect((error as Error).message).toBe(message);
    expect((error as Error).message).not.toContain('hunter2');
  });
});

describe('a fetched chart whose Chart.yaml dependencies are missing from its charts/', () => {
  it('is a clear bundle error naming the chart and the missing dependencies, not a raw helm dump', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-fetched-'));
    try {
      await writeFile(
        join(dir, 'Chart.yaml'),
        'apiVersion: v2\nname: web\nversion: 1.2.0\ndependencies:\n  - {name: redis, version: "1.x", repository: "https://charts.example"}\n  - {name: db, version: "2.x", repository: "oci://r.example/charts"}\n',
      );
      await mkdir(join(dir, 'templates'));
      await writeFile(
        join(dir, 'templates', 'cm.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n',
      );
      const tree = new MemoryTree({
        'apps/web/fleet.yaml':
          'helm: {repo: "https://charts.example", chart: web, version: "^1.2"}\n',
      });
      const { bundles } = await discoverBundles(tree, 'demo', ['apps']);
      const error = await renderVariant(
        tree,
        bundles[0]!,
        { customizations: [], substitution: {} },
        { fetchChart: () => Promise.resolve({ dir, version: '1.2.0', digest: 'a'.repeat(64) }) },
      ).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(BundleError);
      expect((error as Error).message).toBe(
        'demo/web: chart web 1.2.0 from https://charts.example was published without its dependencies db, redis (its Chart.yaml lists them, its charts/ directory lacks them); the hub does not fetch dependencies of a fetched chart: use a release of the chart that includes them, or put the chart in Git, where the hub builds its dependencies',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

import { describe, expect, it } from 'vitest';
import { discoverBundles } from './discover.js';
import { MemoryTree } from './file-tree.js';

const CM = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n';

interface Row {
  files: Record<string, string>;
  paths: string[];
  bundles: Record<string, { dir: string; kind: string; files?: string[] }>;
  errors?: string[];
}

const rows: [string, Row][] = [
  [
    'nested bundle dirs under a path are found and named after their dir',
    {
      files: { 'apps/web/deploy.yaml': CM, 'apps/team/db/db.yml': CM, 'apps/README.md': '#' },
      paths: ['apps'],
      bundles: {
        'demo/web': { dir: 'apps/web', kind: 'yaml' },
        'demo/team/db': { dir: 'apps/team/db', kind: 'yaml' },
      },
    },
  ],
  [
    'a bundle owns its overlays and subdirectories',
    {
      files: {
        'apps/web/fleet.yaml':
          'customizations: [{name: eu, clusterName: a, kustomize: {dir: overlays/eu}}]\n',
        'apps/web/kustomization.yaml': 'resources: [deploy.yaml]\n',
        'apps/web/deploy.yaml': CM,
        'apps/web/overlays/eu/kustomization.yaml': 'resources: [../..]\n',
      },
      paths: ['apps'],
      bundles: {
        'demo/web': {
          dir: 'apps/web',
          kind: 'kustomize',
          files: [
            'apps/web/deploy.yaml',
            'apps/web/fleet.yaml',
            'apps/web/kustomization.yaml',
            'apps/web/overlays/eu/kustomization.yaml',
          ],
        },
      },
    },
  ],
  [
    'a subdirectory with its own fleet.yaml is a bundle of its own',
    {
      files: { 'apps/web/a.yaml': CM, 'apps/web/sub/fleet.yaml': '', 'apps/web/sub/b.yaml': CM },
      paths: ['apps'],
      bundles: {
        'demo/web': { dir: 'apps/web', kind: 'yaml', files: ['apps/web/a.yaml'] },
        'demo/web/sub': {
          dir: 'apps/web/sub',
          kind: 'yaml',
          files: ['apps/web/sub/b.yaml', 'apps/web/sub/fleet.yaml'],
        },
      },
    },
  ],
  [
    'a Helm chart owns its templates and is kind helm',
    {
      files: {
        'charts/api/Chart.yaml': 'name: api\n',
        'charts/api/templates/d.yaml': '{{ .Values.x }}',
        'charts/api/.helmignore': '',
      },
      paths: ['charts'],
      bundles: {
        'demo/api': {
          dir: 'charts/api',
          kind: 'helm',
          files: ['charts/api/.helmignore', 'charts/api/Chart.yaml', 'charts/api/templates/d.yaml'],
        },
      },
    },
  ],
  [
    'a path that is itself a bundle is named after its basename',
    {
      files: { 'apps/web/deploy.yaml': CM },
      paths: ['apps/web'],
      bundles: { 'demo/web': { dir: 'apps/web', kind: 'yaml' } },
    },
  ],
  [
    'the repo root as a bundle is named after the GitRepo',
    { files: { 'deploy.yaml': CM }, paths: [''], bundles: { demo: { dir: '', kind: 'yaml' } } },
  ],
  [
    "'.' and trailing slashes mean the same path",
    {
      files: { 'apps/web/d.json': '{}' },
      paths: ['./apps/'],
      bundles: { 'demo/web': { dir: 'apps/web', kind: 'yaml' } },
    },
  ],
  [
    'hidden directories are not searched',
    {
      files: { '.github/workflows/ci.yml': 'on: push\n', 'apps/web/d.yaml': CM },
      paths: [''],
      bundles: { 'demo/apps/web': { dir: 'apps/web', kind: 'yaml' } },
    },
  ],
  [
    'a fleet.yaml alone makes a bundle (kustomize.dir makes it kustomize)',
    {
      files: {
        'apps/x/fleet.yaml': 'kustomize: {dir: base}\n',
        'apps/x/base/kustomization.yaml': '',
      },
      paths: ['apps'],
      bundles: { 'demo/x': { dir: 'apps/x', kind: 'kustomize' } },
    },
  ],
  [
    'bundles of the same directory name under two paths are named by their full path',
    {
      files: {
        'single-cluster/helm/d.yaml': CM,
        'multi-cluster/helm/d.yaml': CM,
        'multi-cluster/db/d.yaml': CM,
      },
      paths: ['single-cluster', 'multi-cluster'],
      bundles: {
        'demo/single-cluster/helm': { dir: 'single-cluster/helm', kind: 'yaml' },
        'demo/multi-cluster/helm': { dir: 'multi-cluster/helm', kind: 'yaml' },
        'demo/multi-cluster/db': { dir: 'multi-cluster/db', kind: 'yaml' },
      },
    },
  ],
  [
    'names are relative to the deepest directory holding every path',
    {
      files: { 'fleets/a/web/d.yaml': CM, 'fleets/b/web/d.yaml': CM, 'other/d.yaml': CM },
      paths: ['fleets/a', 'fleets/b'],
      bundles: {
        'demo/a/web': { dir: 'fleets/a/web', kind: 'yaml' },
        'demo/b/web': { dir: 'fleets/b/web', kind: 'yaml' },
      },
    },
  ],
  [
    'two bundles that still share a name are both skipped with an error',
    {
      files: { 'apps/d.yaml': CM, 'apps/apps/fleet.yaml': '' },
      paths: ['apps'],
      bundles: {},
      errors: ['duplicate bundle name "demo/apps": directories "apps", "apps/apps"'],
    },
  ],
  [
    'a broken fleet.yaml is isolated to its bundle',
    {
      files: {
        'apps/bad/fleet.yaml': 'targets: 3\n',
        'apps/bad/d.yaml': CM,
        'apps/good/d.yaml': CM,
      },
      paths: ['apps'],
      bundles: { 'demo/good': { dir: 'apps/good', kind: 'yaml' } },
      errors: ['apps/bad/fleet.yaml: targets: Invalid input: expected array'],
    },
  ],
  [
    'a fleet.yaml path leaving the bundle is an error of that bundle',
    {
      files: { 'apps/evil/fleet.yaml': 'helm: {chart: ../../etc}\n', 'apps/ok/d.yaml': CM },
      paths: ['apps'],
      bundles: { 'demo/ok': { dir: 'apps/ok', kind: 'yaml' } },
      errors: ['demo/evil: fleet.yaml helm.chart: "../../etc" leaves the bundle directory'],
    },
  ],
  [
    'a chart from an OCI registry or a Helm repository is a Helm bundle (the hub fetches it)',
    {
      files: {
        'apps/oci/fleet.yaml': 'helm: {chart: "oci://registry.example/charts/web", version: 1.x}\n',
        'apps/repo/fleet.yaml':
          'helm: {repo: "https://charts.example.com", chart: web, version: ^1.0.0}\n',
        'apps/ok/d.yaml': CM,
      },
      paths: ['apps'],
      bundles: {
        'demo/oci': { dir: 'apps/oci', kind: 'helm' },
        'demo/ok': { dir: 'apps/ok', kind: 'yaml' },
        'demo/repo': { dir: 'apps/repo', kind: 'helm' },
      },
      errors: [],
    },
  ],
  [
    'a Chart.yaml with kustomize.dir stays a Helm bundle (Kustomize post-renders it)',
    {
      files: {
        'apps/hk/fleet.yaml': 'kustomize: {dir: post}\n',
        'apps/hk/Chart.yaml': 'apiVersion: v2\nname: hk\nversion: 0.1.0\n',
        'apps/hk/post/kustomization.yaml': 'resources: []\n',
      },
      paths: ['apps'],
      bundles: { 'demo/hk': { dir: 'apps/hk', kind: 'helm' } },
      errors: [],
    },
  ],
  [
    'a Helm repository chart in fleet.yaml makes a Helm bundle',
    {
      files: { 'apps/remote/fleet.yaml': 'helm: {repo: "https://c.example", chart: web}\n' },
      paths: ['apps'],
      bundles: { 'demo/remote': { dir: 'apps/remote', kind: 'helm' } },
      errors: [],
    },
  ],
  [
    'a go-getter chart in fleet.yaml is an error of that bundle',
    {
      files: {
        'apps/evil/fleet.yaml': 'helm: {chart: "git::https://github.com/o/r//chart"}\n',
        'apps/ok/d.yaml': CM,
      },
      paths: ['apps'],
      bundles: { 'demo/ok': { dir: 'apps/ok', kind: 'yaml' } },
      errors: [
        'apps/evil/fleet.yaml: helm.chart: "git::https://github.com/o/r//chart": go-getter sources are not supported',
      ],
    },
  ],
  [
    'a values file URL in fleet.yaml is an error of that bundle',
    {
      files: {
        'apps/evil/fleet.yaml': 'helm: {valuesFiles: ["https://example.com/values.yaml"]}\n',
        'apps/evil/Chart.yaml': 'name: evil\n',
      },
      paths: ['apps'],
      bundles: {},
      errors: [
        'demo/evil: fleet.yaml helm.valuesFiles[0]: "https://example.com/values.yaml" is a URL',
      ],
    },
  ],
  [
    'GitRepo paths leaving the repository, absolute or remote are refused, the others searched',
    {
      files: { 'apps/web/d.yaml': CM },
      paths: ['../outside', '/etc', 'https://example.com/repo', 'apps'],
      bundles: { 'demo/web': { dir: 'apps/web', kind: 'yaml' } },
      errors: [
        'GitRepo demo: path "../outside": path "../outside" leaves the repository root',
        'GitRepo demo: path "/etc": path "/etc" must be relative',
        'GitRepo demo: path "https://example.com/repo": is a URL; paths are directories of the repository',
      ],
    },
  ],
  [
    'a missing path is reported and the other paths are still searched',
    {
      files: { 'apps/web/d.yaml': CM },
      paths: ['nope', 'apps'],
      // Names do not depend on which paths exist: the misspelled one still counts.
      bundles: { 'demo/apps/web': { dir: 'apps/web', kind: 'yaml' } },
      errors: ['GitRepo demo: path "nope": directory "nope" does not exist'],
    },
  ],
];

describe('discoverBundles', () => {
  it.each(rows)('%s', async (_name, row) => {
    const { bundles, errors } = await discoverBundles(new MemoryTree(row.files), 'demo', row.paths);
    expect(errors.map((e) => e.message)).toEqual(
      (row.errors ?? []).map((m) => expect.stringContaining(m) as unknown),
    );
    for (const err of errors) expect(err.name).toBe('BundleError');
    expect(bundles.map((b) => b.name)).toEqual(Object.keys(row.bundles).sort());
    for (const bundle of bundles) {
      const want = row.bundles[bundle.name];
      expect(bundle).toMatchObject({ dir: want?.dir, kind: want?.kind });
      if (want?.files !== undefined) expect(bundle.files).toEqual(want.files);
    }
  });

  it.each([
    ['a plain YAML bundle', {}, 'yaml'],
    ['a Helm chart', { 'apps/bad/Chart.yaml': 'name: bad\n' }, 'helm'],
    ['a Kustomize dir', { 'apps/bad/kustomization.yaml': 'resources: []\n' }, 'kustomize'],
  ])(
    'a broken fleet.yaml of %s names the bundle, its dir and its kind',
    async (_n, files, kind) => {
      const tree = new MemoryTree({ 'apps/bad/fleet.yaml': 'defaultNamespace: [1]\n', ...files });
      const { errors } = await discoverBundles(tree, 'demo', ['apps']);
      expect(errors[0]).toMatchObject({
        bundle: 'demo/bad',
        path: 'apps/bad/fleet.yaml',
        dir: 'apps/bad',
        kind,
      });
    },
  );

  it.each([
    [
      'substitute: true collects the references of all files',
      'substitute: true\n',
      ['cluster.labels.region', 'cluster.name'],
    ],
    ['without substitute no file is scanned', '', []],
  ])('%s', async (_name, fleet, references) => {
    const tree = new MemoryTree({
      'apps/web/fleet.yaml': fleet,
      'apps/web/a.yaml': 'data: {r: "${cluster.labels.region}"}\n',
      'apps/web/sub/b.yaml': 'data: {n: "${cluster.name}-${cluster.labels.region}"}\n',
    });
    const { bundles } = await discoverBundles(tree, 'demo', ['apps']);
    expect(bundles[0]?.references).toEqual(references);
  });
});

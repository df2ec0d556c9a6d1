import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { checkHelmChart, checkKustomization, remoteReason } from './confine.js';
import { BundleError } from './errors.js';
import { MemoryTree } from './file-tree.js';

const CM = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n';

/** Files of the bundle `demo/web` in `apps/web`, plus files elsewhere in the repository. */
function repo(bundleFiles: Record<string, string | Uint8Array>, dir = 'apps/web') {
  const files: Record<string, string | Uint8Array> = {
    'apps/other/kustomization.yaml': 'resources: [cm.yaml]\n',
    'apps/other/cm.yaml': CM,
    'etc/passwd': 'root:x:0:0\n',
  };
  for (const [path, content] of Object.entries(bundleFiles)) files[`${dir}/${path}`] = content;
  const bundle = {
    name: 'demo/web',
    dir,
    files: Object.keys(bundleFiles)
      .map((p) => `${dir}/${p}`)
      .sort(),
  };
  return { tree: new MemoryTree(files), bundle };
}

async function errorOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(BundleError);
    expect((err as BundleError).bundle).toBe('demo/web');
    return (err as BundleError).message;
  }
}

describe('remoteReason', () => {
  it.each([
    ['https://github.com/org/repo//base?ref=v1', 'is a URL'],
    ['http://example.com/deploy.yaml', 'is a URL'],
    ['oci://registry.example/charts/web', 'is a URL'],
    ['ssh://git@github.com/org/repo.git', 'is a URL'],
    ['file:///etc/passwd', 'is a URL'],
    ['git::https://github.com/org/repo', 'is a remote Git repository'],
    ['git@github.com:org/repo.git//base', 'is a remote Git repository'],
    ['gh:org/repo/base', 'is a remote Git repository'],
    ['github.com/org/repo/base', 'is a remote Git repository'],
    ['gitlab.com/org/repo', 'is a remote Git repository'],
    ['example.com/org/repo//base?ref=main', 'is a remote Git repository'],
    ['base', undefined],
    ['../../base', undefined],
    ['overlays/eu/kustomization.yaml', undefined],
    ['v1.2/deploy.yaml', undefined],
  ])('%j %s', (ref, reason) => {
    expect(remoteReason(ref)).toBe(reason);
  });
});

type KustomizeRow = [
  name: string,
  files: Record<string, string>,
  start: string,
  error: string | undefined,
];

const OVERLAY = {
  'kustomization.yaml': 'resources: [base]\n',
  'base/kustomization.yaml': 'resources: [deploy.yaml]\n',
  'base/deploy.yaml': CM,
  'overlays/eu/kustomization.yaml': 'resources: [../../base]\ncomponents: [../../comp]\n',
  'comp/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n',
};

const kustomizeRows: KustomizeRow[] = [
  [
    'a kustomization with a duplicate key is invalid YAML, as kustomize reads it',
    { 'kustomization.yaml': 'resources: [cm.yaml]\nresources: [../other]\n', 'cm.yaml': 'x: 1\n' },
    'apps/web',
    'demo/web: apps/web/kustomization.yaml line 2: invalid YAML: Map keys must be unique',
  ],
  [
    'local resources, bases and components inside the bundle are allowed',
    OVERLAY,
    'apps/web/overlays/eu',
    undefined,
  ],
  [
    'local patches, generators and inline builtin plugins are allowed',
    {
      'kustomization.yaml': `resources: [cm.yaml]
patches: [{path: patch.yaml}, {patch: '{"kind": "ConfigMap"}'}]
patchesStrategicMerge: [patch.yaml, '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}']
patchesJson6902: [{target: {kind: ConfigMap, name: x}, path: ops.yaml}]
configMapGenerator: [{name: a, files: [key=data/a.txt, data/b.txt], envs: [data/a.env]}]
secretGenerator: [{name: s, env: data/a.env}]
crds: [crds/crd.json]
configurations: [config.yaml]
openapi: {path: openapi.json}
replacements: [{path: replacement.yaml}]
transformers:
  - |
    apiVersion: builtin
    kind: PatchTransformer
    metadata: {name: p}
    path: patch.yaml
  - transformer.yaml
generators: [gen]
`,
      'cm.yaml': CM,
      'transformer.yaml':
        'apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: l}\nlabels: {a: b}\n',
      'gen/kustomization.yaml': 'resources: [gen.yaml]\n',
      'gen/gen.yaml':
        'apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: g}\nfiles: [x=../data/a.txt]\n',
    },
    'apps/web',
    undefined,
  ],
  [
    'a bundle at the repository root may use any directory of the repository',
    {
      'kustomization.yaml': 'resources: [apps/other, etc/cm.yaml]\n',
      'etc/cm.yaml': CM,
      'apps/other/kustomization.yaml': 'resources: [cm.yaml]\n',
      'apps/other/cm.yaml': CM,
    },
    '',
    undefined,
  ],
  [
    'a remote https base is refused',
    { 'kustomization.yaml': 'resources: [https://github.com/org/repo//base?ref=v1]\n' },
    'apps/web',
    'demo/web: apps/web/kustomization.yaml resources[0]: "https://github.com/org/repo//base?ref=v1" is a URL; a bundle renders only from its own files',
  ],
  [
    'a scheme-less github.com base is refused',
    { 'kustomization.yaml': 'resources: [github.com/org/repo/base]\n' },
    'apps/web',
    'resources[0]: "github.com/org/repo/base" is a remote Git repository',
  ],
  [
    'an scp-like git@ base is refused',
    { 'kustomization.yaml': 'bases: ["git@github.com:org/repo.git//base"]\n' },
    'apps/web',
    'bases[0]: "git@github.com:org/repo.git//base" is a remote Git repository',
  ],
  [
    'a remote component is refused',
    { 'kustomization.yaml': 'components: ["https://example.com/comp?ref=main"]\n' },
    'apps/web',
    'components[0]: "https://example.com/comp?ref=main" is a URL',
  ],
  [
    'a resource leaving the repository is refused',
    { 'kustomization.yaml': 'resources: [../../../etc]\n' },
    'apps/web',
    'resources[0]: "../../../etc" leaves the repository',
  ],
  [
    'a Kustomization directory in the repository but outside the bundle is allowed (../base)',
    { 'kustomization.yaml': 'resources: [../other]\n' },
    'apps/web',
    undefined,
  ],
  [
    'a directory outside the bundle that does not exist is refused',
    { 'kustomization.yaml': 'resources: [../nowhere]\n' },
    'apps/web',
    'resources[0]: "../nowhere" does not exist in the repository',
  ],
  [
    'a directory outside the bundle without a kustomization is refused',
    { 'kustomization.yaml': 'resources: [../../etc]\n' },
    'apps/web',
    'directory "etc" has no kustomization.yaml',
  ],
  [
    'an absolute resource is refused',
    { 'kustomization.yaml': 'resources: [/etc]\n' },
    'apps/web',
    'resources[0]: "/etc" is an absolute path',
  ],
  [
    'a resource the bundle lacks is refused before kustomize tries it as a remote repository',
    { 'kustomization.yaml': 'resources: [nope]\n' },
    'apps/web',
    'apps/web/kustomization.yaml resources[0]: "nope" does not exist in the repository',
  ],
  [
    'an escape in a base reached through an overlay is refused, naming the base',
    { ...OVERLAY, 'base/kustomization.yaml': 'resources: [deploy.yaml, ../../../../etc]\n' },
    'apps/web/overlays/eu',
    'apps/web/base/kustomization.yaml resources[1]: "../../../../etc" leaves the repository',
  ],
  [
    'a remote patch file is refused',
    { 'kustomization.yaml': 'patches: [{path: "https://example.com/p.yaml"}]\n' },
    'apps/web',
    'patches[0].path: "https://example.com/p.yaml" is a URL',
  ],
  [
    'a patchesJson6902 path leaving the repository is refused',
    { 'kustomization.yaml': 'patchesJson6902: [{target: {kind: X}, path: ../../../etc/passwd}]\n' },
    'apps/web',
    'patchesJson6902[0].path: "../../../etc/passwd" leaves the repository',
  ],
  [
    'a patchesStrategicMerge file outside the repository is refused',
    { 'kustomization.yaml': 'patchesStrategicMerge: [../../../x/cm.yaml]\n' },
    'apps/web',
    'patchesStrategicMerge[0]: "../../../x/cm.yaml" leaves the repository',
  ],
  [
    'a configMapGenerator file with an absolute path is refused',
    { 'kustomization.yaml': 'configMapGenerator: [{name: a, files: [passwd=/etc/passwd]}]\n' },
    'apps/web',
    'configMapGenerator[0].files[0]: "/etc/passwd" is an absolute path',
  ],
  [
    'a configMapGenerator env file outside the bundle is refused',
    { 'kustomization.yaml': 'configMapGenerator: [{name: a, envs: [../../../etc/passwd]}]\n' },
    'apps/web',
    'configMapGenerator[0].envs[0]: "../../../etc/passwd" leaves the repository',
  ],
  [
    'a remote secretGenerator env file is refused',
    { 'kustomization.yaml': 'secretGenerator: [{name: a, env: "http://example.com/a.env"}]\n' },
    'apps/web',
    'secretGenerator[0].env: "http://example.com/a.env" is a URL',
  ],
  [
    'remote crds are refused',
    { 'kustomization.yaml': 'crds: ["https://example.com/crd.json"]\n' },
    'apps/web',
    'crds[0]: "https://example.com/crd.json" is a URL',
  ],
  [
    'a remote openapi schema is refused',
    { 'kustomization.yaml': 'openapi: {path: "https://example.com/openapi.json"}\n' },
    'apps/web',
    'openapi.path: "https://example.com/openapi.json" is a URL',
  ],
  [
    'a replacements file leaving the repository is refused',
    { 'kustomization.yaml': 'replacements: [{path: ../../../r.yaml}]\n' },
    'apps/web',
    'replacements[0].path: "../../../r.yaml" leaves the repository',
  ],
  [
    'Helm chart inflation is refused',
    { 'kustomization.yaml': 'helmCharts: [{name: web, repo: "https://charts.example"}]\n' },
    'apps/web',
    'apps/web/kustomization.yaml helmCharts: is not supported (kustomize runs without --enable-helm)',
  ],
  [
    'an exec plugin config file is refused',
    {
      'kustomization.yaml': 'generators: [plugin.yaml]\n',
      'plugin.yaml':
        'apiVersion: example.com/v1\nkind: Run\nmetadata:\n  name: r\n  annotations:\n    config.kubernetes.io/function: "exec: {path: /bin/sh}"\n',
    },
    'apps/web',
    'generators[0]: Run "example.com/v1" is not a builtin kustomize plugin; plugins and KRM functions are disabled',
  ],
  [
    'an inline container KRM function is refused',
    {
      'kustomization.yaml':
        'transformers:\n  - |\n    apiVersion: fn.example/v1\n    kind: Fn\n    metadata:\n      name: f\n      annotations:\n        config.kubernetes.io/function: "container: {image: evil}"\n',
    },
    'apps/web',
    'transformers[0]: Fn "fn.example/v1" is not a builtin kustomize plugin',
  ],
  [
    'a builtin plugin config reading a remote file is refused',
    {
      'kustomization.yaml':
        'transformers:\n  - |\n    apiVersion: builtin\n    kind: PatchTransformer\n    metadata: {name: p}\n    path: https://example.com/p.yaml\n',
    },
    'apps/web',
    'transformers[0] PatchTransformer.path: "https://example.com/p.yaml" is a URL',
  ],
  [
    'a plugin config inside a generator kustomization is checked',
    {
      'kustomization.yaml': 'generators: [gen]\n',
      'gen/kustomization.yaml': 'resources: [gen.yaml]\n',
      'gen/gen.yaml':
        'apiVersion: builtin\nkind: HelmChartInflationGenerator\nmetadata: {name: h}\nrepo: https://charts.example\n',
    },
    'apps/web',
    'apps/web/gen/kustomization.yaml resources[0]: HelmChartInflationGenerator is not supported',
  ],
  [
    'a kustomization that is not YAML is refused with its line',
    { 'kustomization.yaml': 'resources: [a\nb: [\n' },
    'apps/web',
    'demo/web: apps/web/kustomization.yaml line',
  ],
  [
    'a directory without a kustomization is refused',
    { 'kustomization.yaml': 'resources: [plain]\n', 'plain/cm.yaml': CM },
    'apps/web',
    'demo/web: directory "apps/web/plain" has no kustomization.yaml, kustomization.yml, Kustomization',
  ],
];

describe('checkKustomization', () => {
  it('returns the directories outside the bundle it walked and their files', async () => {
    const { tree, bundle } = repo({ 'kustomization.yaml': 'resources: [../other]\n' });
    await expect(checkKustomization(tree, bundle, 'apps/web')).resolves.toEqual({
      dirs: ['apps/other'],
      files: ['apps/other/cm.yaml', 'apps/other/kustomization.yaml'],
    });
  });

  it('returns nothing extra for a bundle that stays in its directory', async () => {
    const { tree, bundle } = repo({
      'kustomization.yaml': 'resources: [cm.yaml]\n',
      'cm.yaml': CM,
    });
    await expect(checkKustomization(tree, bundle, 'apps/web')).resolves.toEqual({
      dirs: [],
      files: [],
    });
  });

  it.each(kustomizeRows)('%s', async (_name, files, start, error) => {
    const dir = start === '' ? '' : 'apps/web';
    const { tree, bundle } = dir === '' ? rootRepo(files) : repo(files);
    const message = await errorOf(checkKustomization(tree, bundle, start));
    if (error === undefined) expect(message).toBeUndefined();
    else expect(message).toContain(error);
  });
});

function rootRepo(files: Record<string, string>) {
  return {
    tree: new MemoryTree(files),
    bundle: { name: 'demo/web', dir: '', files: Object.keys(files).sort() },
  };
}

/** A gzipped ustar archive of `files`, like `helm package` writes. */
function tgz(files: Record<string, string>): Uint8Array {
  const blocks: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const body = Buffer.from(content);
    const header = Buffer.alloc(512);
    header.write(name, 0);
    header.write('0000644\0', 100);
    header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write('0', 156);
    header.write('ustar\x0000', 257);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

const CHART = 'apiVersion: v2\nname: web\nversion: 0.1.0\n';
const GOOD_SCHEMA =
  '{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"a": {"$ref": "#/definitions/a"}}, "definitions": {"a": {"type": "string"}}}';

type HelmRow = [
  name: string,
  files: Record<string, string | Uint8Array>,
  error: string | undefined,
];

const helmRows: HelmRow[] = [
  [
    'a chart with local schema references, a local file:// dependency and vendored remote dependencies is allowed',
    {
      'Chart.yaml': `${CHART}dependencies:\n  - {name: common, version: 1.0.0, repository: "file://./libs/common"}\n  - {name: redis, version: 1.0.0, repository: "oci://registry.example/charts"}\n`,
      'values.schema.json': GOOD_SCHEMA,
      'libs/common/Chart.yaml': 'apiVersion: v2\nname: common\nversion: 1.0.0\n',
      'charts/redis-1.0.0.tgz': tgz({
        'redis/Chart.yaml': 'apiVersion: v2\nname: redis\nversion: 1.0.0\n',
        'redis/values.schema.json': GOOD_SCHEMA,
      }),
    },
    undefined,
  ],
  [
    'a file:// dependency outside the bundle is refused',
    {
      'Chart.yaml': `${CHART}dependencies: [{name: c, version: 1.0.0, repository: "file://../other"}]\n`,
    },
    'demo/web: apps/web/Chart.yaml dependencies[0].repository: "../other" is outside the bundle directory "apps/web"',
  ],
  [
    'a file:// dependency leaving the repository is refused',
    {
      'Chart.yaml': `${CHART}dependencies: [{name: c, version: 1.0.0, repository: "file://../../../etc"}]\n`,
    },
    'dependencies[0].repository: "../../../etc" leaves the repository',
  ],
  [
    'an absolute file:// dependency is refused',
    {
      'Chart.yaml': `${CHART}dependencies: [{name: c, version: 1.0.0, repository: "file:///etc"}]\n`,
    },
    'dependencies[0].repository: "/etc" is an absolute path',
  ],
  [
    'a schema $ref to a file on the hub is refused',
    { 'Chart.yaml': CHART, 'values.schema.json': '{"$ref": "file:///etc/passwd"}' },
    'demo/web: apps/web/values.schema.json: $ref "file:///etc/passwd" is not a local reference',
  ],
  [
    'a relative schema $ref (which helm resolves against /) is refused',
    { 'Chart.yaml': CHART, 'values.schema.json': '{"properties": {"a": {"$ref": "a.json"}}}' },
    'values.schema.json: properties.a.$ref "a.json" is not a local reference',
  ],
  [
    'a schema $ref to the network is refused',
    {
      'Chart.yaml': CHART,
      'values.schema.json': '{"allOf": [{"$ref": "https://example.com/s.json"}]}',
    },
    'allOf[0].$ref "https://example.com/s.json" is not a local reference',
  ],
  [
    'an unknown $schema (which helm would fetch) is refused',
    { 'Chart.yaml': CHART, 'values.schema.json': '{"$schema": "https://example.com/meta.json"}' },
    '$schema "https://example.com/meta.json" is not a standard JSON Schema draft',
  ],
  [
    'a remote $ref in an unpacked subchart is refused',
    {
      'Chart.yaml': CHART,
      'charts/sub/Chart.yaml': 'apiVersion: v2\nname: sub\nversion: 0.1.0\n',
      'charts/sub/values.schema.json': '{"$ref": "http://example.com/s.json"}',
    },
    'apps/web/charts/sub/values.schema.json: $ref "http://example.com/s.json"',
  ],
  [
    'a remote $ref in a packaged subchart is refused',
    {
      'Chart.yaml': CHART,
      'charts/sub-0.1.0.tgz': tgz({
        'sub/Chart.yaml': 'apiVersion: v2\nname: sub\nversion: 0.1.0\n',
        'sub/values.schema.json': '{"$ref": "file:///etc/passwd"}',
      }),
    },
    'apps/web/charts/sub-0.1.0.tgz sub/values.schema.json: $ref "file:///etc/passwd"',
  ],
  [
    'a packaged subchart that is not an archive is refused',
    { 'Chart.yaml': CHART, 'charts/sub-0.1.0.tgz': 'not gzip' },
    'apps/web/charts/sub-0.1.0.tgz: not a readable chart archive',
  ],
];

describe('checkHelmChart', () => {
  it.each(helmRows)('%s', async (_name, files, error) => {
    const { tree, bundle } = repo(files);
    const message = await errorOf(checkHelmChart(tree, bundle, 'apps/web'));
    if (error === undefined) expect(message).toBeUndefined();
    else expect(message).toContain(error);
  });
});

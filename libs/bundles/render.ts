// Rendering one variant of a bundle into Kubernetes objects: plain YAML, `kubectl kustomize` or
// `helm template`, then the variant's customization patches, then `${cluster.…}` substitution.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';
import jsonpatch from 'fast-json-patch';
import mergePatch from 'json-merge-patch';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { isClusterScoped } from '../manifests/index.js';
import {
  chartSource,
  describeChartSource,
  type ChartFetcher,
  type HelmChartSource,
} from './chart-source.js';
import { checkHelmChart, checkKustomization } from './confine.js';
import type { BundleSource } from './bundle-source.js';
import { localPathInBundle, pathInBundle } from './discover.js';
import { BundleError } from './errors.js';
import type { FileTree } from './file-tree.js';
import { effectiveOptions, mergeValues, type EffectiveOptions } from './fleet-options.js';
import type { Customization, HelmOptions, Patch } from './fleet-yaml.js';
import { normalizeObjects, type KubeObject } from './revision.js';
import { substituteValues } from './substitution.js';
import { resolveTool } from './tools.js';
import { resolveValuesFrom, type ValuesSources } from './values-from.js';
import type { Variant } from './variants.js';
import { readYaml } from './yaml.js';

export { mergeValues } from './fleet-options.js';

/** Tool binaries and limits for rendering; binaries default to `resolveTool`. */
export interface RenderTools {
  kubectl?: string;
  helm?: string;
  /** Per subprocess; default 60 s. */
  timeoutMs?: number;
  /**
   * Fetches charts from Helm repositories, OCI registries and URLs; without it, a bundle whose
   * chart is not in the repository fails with a clear error.
   */
  fetchChart?: ChartFetcher;
  /**
   * The GitRepo's values sources `helm.valuesFrom` refers to; without them, a bundle using
   * valuesFrom fails with a clear error.
   */
  valuesSources?: ValuesSources;
}

/** What a variant is rendered from: its customizations, targetCustomization and values. */
export type RenderVariant = Pick<Variant, 'customizations' | 'substitution'> &
  Partial<Pick<Variant, 'targetCustomization'>>;

/** Fleet writes the chart's output under this name in `kustomize.dir` (Helm + Kustomize). */
export const FLEET_MANIFESTS = 'fleet-manifests.yaml';

const DEFAULT_TIMEOUT_MS = 60_000;
/** Rendered output may be large (bundles up to 100 MiB). */
const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;
const MANIFEST = /\.(ya?ml|json)$/;
/**
 * Flags for `kubectl kustomize`, stated even where they are the defaults: files only from inside
 * each kustomization's directory, no exec or container KRM functions (plugins), no Helm inflation,
 * no network for functions.
 */
export const KUSTOMIZE_FLAGS = [
  '--load-restrictor=LoadRestrictionsRootOnly',
  '--enable-alpha-plugins=false',
  '--enable-helm=false',
  '--network=false',
] as const;
/**
 * Where the tools' HTTP clients are sent: a closed local port, so that nothing that slipped past
 * the reference checks reaches the network.
 */
const NO_NETWORK_PROXY = 'http://127.0.0.1:9';

/**
 * The environment the tools run in: a private empty HOME and Helm dirs under `home`, no
 * kubeconfig, every HTTP(S) request sent to a dead proxy and Git allowed no transport at all
 * (kustomize clones remote bases with `git`).
 */
export function toolEnv(home: string, path: string): NodeJS.ProcessEnv {
  return {
    PATH: path,
    HOME: home,
    KUBECONFIG: join(home, 'kubeconfig'),
    HELM_CACHE_HOME: join(home, 'helm-cache'),
    HELM_CONFIG_HOME: join(home, 'helm-config'),
    HELM_DATA_HOME: join(home, 'helm-data'),
    HTTP_PROXY: NO_NETWORK_PROXY,
    HTTPS_PROXY: NO_NETWORK_PROXY,
    ALL_PROXY: NO_NETWORK_PROXY,
    http_proxy: NO_NETWORK_PROXY,
    https_proxy: NO_NETWORK_PROXY,
    all_proxy: NO_NETWORK_PROXY,
    GIT_ALLOW_PROTOCOL: 'none',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: join(home, 'gitconfig'),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a multi-document YAML (or JSON) text into objects, skipping empty documents and
 * expanding `kind: List`. Throws `BundleError` with `source` and the line of a syntax error,
 * or naming a document that is not a Kubernetes object.
 */
export function parseManifests(text: string, source: string, bundle: string): KubeObject[] {
  const objects: KubeObject[] = [];
  const values = readYaml(text, source, {
    maxAliasCount: 1000,
    fail: (message) => new BundleError(`${bundle}: ${message}`, { bundle, path: source }),
  });
  values.forEach((value, index) => {
    if (value === null || value === undefined) return;
    const where = `${source} document ${index + 1}`;
    const add = (obj: unknown, what: string): void => {
      if (!isObject(obj) || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
        throw new BundleError(
          `${bundle}: ${what}: not a Kubernetes object (needs apiVersion and kind)`,
          { bundle, path: source },
        );
      }
      // Objects are applied, tracked and pruned by name: a generated name would make a new
      // object on every apply, so it is refused here rather than on every agent.
      if (meta(obj, 'name') === undefined) {
        const generated = isObject(obj.metadata) && obj.metadata.generateName !== undefined;
        throw new BundleError(
          `${bundle}: ${what}: ${obj.kind} ${
            generated
              ? 'has metadata.generateName but no metadata.name; generated names are not supported (objects are applied by name), set metadata.name'
              : 'has no metadata.name'
          }`,
          { bundle, path: source },
        );
      }
      objects.push(obj);
    };
    if (isObject(value) && value.kind === 'List' && Array.isArray(value.items)) {
      value.items.forEach((item, i) => add(item, `${where} items[${i}]`));
    } else {
      add(value, where);
    }
  });
  return objects;
}

function meta(obj: KubeObject, key: 'name' | 'namespace'): string | undefined {
  const metadata = obj.metadata;
  if (!isObject(metadata)) return undefined;
  const value = metadata[key];
  return typeof value === 'string' ? value : undefined;
}

function describeTarget(target: Patch['target']): string {
  if (target === undefined) return 'all objects';
  const parts = Object.entries(target).map(([k, v]) => `${k}=${v}`);
  return parts.length === 0 ? 'all objects' : parts.join(', ');
}

/**
 * Applies one customization's patches, in order, to the objects its targets match (by
 * apiVersion, kind, name and namespace when given; an object without a namespace is in the
 * bundle's defaultNamespace). A patch matching no object, or an RFC 6902 operation that fails,
 * is a `BundleError`.
 */
export function applyPatches(
  objects: KubeObject[],
  customization: Pick<Customization, 'name' | 'patches'>,
  bundle: string,
  defaultNamespace?: string,
): KubeObject[] {
  let current = objects;
  customization.patches.forEach((patch, index) => {
    const where = `${bundle}: customization ${JSON.stringify(customization.name)} patches[${index}]`;
    const t = patch.target ?? {};
    let matched = 0;
    current = current.map((obj) => {
      if (t.apiVersion !== undefined && obj.apiVersion !== t.apiVersion) return obj;
      if (t.kind !== undefined && obj.kind !== t.kind) return obj;
      if (t.name !== undefined && meta(obj, 'name') !== t.name) return obj;
      if (
        t.namespace !== undefined &&
        (meta(obj, 'namespace') ?? defaultNamespace) !== t.namespace
      ) {
        return obj;
      }
      matched++;
      if (patch.merge !== undefined) {
        const result: unknown = mergePatch.apply(structuredClone(obj), patch.merge);
        return result as KubeObject;
      }
      try {
        const ops = (patch.operations ?? []) as jsonpatch.Operation[];
        return jsonpatch.applyPatch(structuredClone(obj), ops, true, true).newDocument;
      } catch (err) {
        const name = `${String(obj.kind)} ${meta(obj, 'name') ?? ''}`.trim();
        throw new BundleError(`${where}: on ${name}: ${(err as Error).message.split('\n')[0]}`, {
          bundle,
        });
      }
    });
    if (matched === 0) {
      throw new BundleError(
        `${where}: target (${describeTarget(patch.target)}) matches no object`,
        {
          bundle,
        },
      );
    }
  });
  return current;
}

interface RunOptions {
  bundle: string;
  tool: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Temp dir to show as the bundle dir in error messages. */
  hide: [from: string, to: string];
}

function run(bin: string, args: string[], opts: RunOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      args,
      {
        cwd: opts.cwd,
        env: opts.env,
        timeout: opts.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: MAX_OUTPUT_BYTES,
        encoding: 'utf8',
        shell: false,
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        if (err === null) return resolve(stdout);
        const [from, to] = opts.hide;
        const detail = (stderr.trim() || err.message).replaceAll(from, to);
        const timedOut = err.killed && err.signal === 'SIGKILL';
        const message = timedOut
          ? `${opts.bundle}: ${opts.tool} timed out after ${opts.timeoutMs / 1000}s`
          : `${opts.bundle}: ${opts.tool} failed: ${detail}`;
        reject(new BundleError(message, { bundle: opts.bundle }, { cause: err }));
      },
    );
  });
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

/**
 * Renders one variant of a bundle into normalized objects (see `normalizeObjects`). The
 * variant's options are the fleet.yaml's with its targetCustomization merged over them
 * (`effectiveOptions`).
 *
 * - plain YAML: every `*.yaml`/`*.yml`/`*.json` file the bundle owns except its fleet.yaml and
 *   what is under `overlays/` (as in Fleet), with Fleet's
 *   `yaml.overlays` applied in order: `overlays/<name>/<path>` replaces the file `<path>`,
 *   `overlays/<name>/<stem>_patch.<ext>` patches it (a JSON list is an RFC 6902 patch, an
 *   object a JSON merge patch on the objects of the file with the same kind and name);
 * - Kustomize: `kubectl kustomize` on the last applying customization's `kustomize.dir`, else
 *   the options' `kustomize.dir`, else the bundle dir (also for a plain-YAML bundle whose
 *   customization names an overlay). Kustomizations may use directories elsewhere in the
 *   repository (`../../base`), never outside it;
 * - Helm: `helm template <releaseName> <chart> --namespace <namespace|defaultNamespace|default>
 *   --include-crds -f <valuesFiles...> -f <values>`, values being `helm.values` deep-merged with
 *   each applying customization's `helm.values` in order (substituted first when
 *   `substitute: true`); the release name defaults to the last segment of the bundle name. A
 *   chart from a Helm repository, an OCI registry or a URL comes from `tools.fetchChart`. With
 *   `kustomize.dir` too, the chart's output is written to `<dir>/fleet-manifests.yaml`, added
 *   first to that Kustomization's resources, and `kubectl kustomize` renders the result
 *   (Fleet's post-rendering).
 *
 * Then each applying customization's patches in order, then `${cluster.…}` substitution in
 * string values (`substitute: true`), then Fleet's `namespace`: every namespaced object is put
 * in it, and a cluster-scoped object is an error. The files are materialized in a temp dir that
 * is always removed; tools run without a shell, each limited to `timeoutMs` (60 s), with
 * `KUSTOMIZE_FLAGS` and in `toolEnv` (no network). Before a tool runs, the Kustomization graph
 * or the Helm chart is checked (`checkKustomization`, `checkHelmChart`): a bundle renders only
 * from its repository's files, never from the network. Every problem is a `BundleError`.
 */
export async function renderVariant(
  tree: FileTree,
  bundle: BundleSource,
  variant: RenderVariant,
  tools: RenderTools = {},
): Promise<KubeObject[]> {
  const { fleet, name } = bundle;
  const customizations = variant.customizations.map((cname) => {
    const found = fleet.customizations.find((c) => c.name === cname);
    if (found === undefined) {
      throw new BundleError(
        `${name}: variant names unknown customization ${JSON.stringify(cname)}`,
        {
          bundle: name,
        },
      );
    }
    return found;
  });
  let options: EffectiveOptions = fleet;
  let tcField = '';
  if (variant.targetCustomization !== undefined) {
    const custom = fleet.targetCustomizations[variant.targetCustomization];
    if (custom === undefined) {
      throw new BundleError(
        `${name}: variant names unknown targetCustomizations[${variant.targetCustomization}]`,
        { bundle: name },
      );
    }
    options = effectiveOptions(fleet, custom);
    tcField = `targetCustomizations[${variant.targetCustomization}].`;
  } else {
    options = effectiveOptions(fleet, undefined);
  }
  const substitute = <T>(value: T, what: string): T =>
    fleet.substitute
      ? substituteValues(value, variant.substitution, { bundle: name, what })
      : value;

  let overlay: [field: string, dir: string] | undefined;
  if (options.kustomize?.dir !== undefined) {
    const own =
      variant.targetCustomization !== undefined &&
      fleet.targetCustomizations[variant.targetCustomization]?.kustomize?.dir !== undefined;
    overlay = [`${own ? tcField : ''}kustomize.dir`, options.kustomize.dir];
  }
  for (const c of customizations) {
    if (c.kustomize !== undefined) {
      overlay = [`customization ${JSON.stringify(c.name)} kustomize.dir`, c.kustomize.dir];
    }
  }

  let objects: KubeObject[];
  if (bundle.kind === 'yaml' && overlay === undefined) {
    objects = await renderYaml(tree, bundle, options.yaml?.overlays ?? []);
  } else {
    objects = await renderWithTool(
      tree,
      bundle,
      options,
      overlay,
      customizations,
      substitute,
      tools,
    );
  }

  const namespace = options.namespace ?? options.defaultNamespace;
  for (const c of customizations) {
    objects = applyPatches(objects, c, name, namespace);
  }
  objects = objects.map((obj) =>
    substitute(obj, `${String(obj.kind)} ${meta(obj, 'name') ?? ''}`.trim()),
  );
  if (options.namespace !== undefined) {
    objects = forceNamespace(objects, options.namespace, name);
  } else if (options.defaultNamespace !== fleet.defaultNamespace && options.defaultNamespace) {
    // A targetCustomization's defaultNamespace: the agent gets the bundle's, so it is applied
    // here to the namespaced objects that name none.
    const ns = options.defaultNamespace;
    objects = objects.map((obj) =>
      isClusterScoped(obj) || meta(obj, 'namespace') !== undefined
        ? obj
        : { ...obj, metadata: { ...(isObject(obj.metadata) ? obj.metadata : {}), namespace: ns } },
    );
  }
  return normalizeObjects(objects);
}

/**
 * Fleet's `namespace`: every namespaced object is put in `namespace`; a cluster-scoped object
 * (a known cluster-scoped kind, or a kind the bundle's own CRDs declare `scope: Cluster`) is a
 * `BundleError`, as in Fleet.
 */
export function forceNamespace(
  objects: readonly KubeObject[],
  namespace: string,
  bundle: string,
): KubeObject[] {
  const clusterKinds = new Set<string>();
  for (const obj of objects) {
    if (obj.kind !== 'CustomResourceDefinition' || !isObject(obj.spec)) continue;
    const names = obj.spec.names;
    if (obj.spec.scope === 'Cluster' && isObject(names) && typeof names.kind === 'string') {
      clusterKinds.add(names.kind);
    }
  }
  const scoped = objects.filter(
    (obj) => isClusterScoped(obj) || (typeof obj.kind === 'string' && clusterKinds.has(obj.kind)),
  );
  if (scoped.length > 0) {
    const list = scoped.map((o) => `${String(o.kind)} ${meta(o, 'name') ?? ''}`.trim());
    throw new BundleError(
      `${bundle}: fleet.yaml namespace ${JSON.stringify(namespace)} puts every object in one namespace, but ${list.join(', ')} ${scoped.length === 1 ? 'is' : 'are'} cluster-scoped; use defaultNamespace instead, or move cluster-scoped objects to another bundle`,
      { bundle },
    );
  }
  return objects.map((obj) => {
    const metadata = isObject(obj.metadata) ? obj.metadata : {};
    return { ...obj, metadata: { ...metadata, namespace } };
  });
}

/** The stem and extension of a file name: `deploy.yaml` → [`deploy`, `.yaml`]. */
function splitExt(file: string): [string, string] {
  const match = /^(.*?)(\.(?:ya?ml|json))$/.exec(file);
  return match === null ? [file, ''] : [match[1] ?? file, match[2] ?? ''];
}

async function renderYaml(
  tree: FileTree,
  bundle: BundleSource,
  overlays: readonly string[],
): Promise<KubeObject[]> {
  const { name } = bundle;
  const prefix = bundle.dir === '' ? '' : `${bundle.dir}/`;
  const fleetFile = `${prefix}fleet.yaml`;
  const overlayRoot = `${prefix}overlays/`;
  const decoder = new TextDecoder();
  const texts = new Map<string, string>();
  for (const file of bundle.files) {
    if (file === fleetFile || !MANIFEST.test(file)) continue;
    if (file.startsWith(overlayRoot)) continue; // Fleet's overlays, applied below
    texts.set(file, decoder.decode(await tree.read(file)));
  }
  const patches: [target: string, source: string][] = [];
  for (const overlay of overlays) {
    const root = `${overlayRoot}${overlay}/`;
    const files = bundle.files.filter((f) => f.startsWith(root));
    if (files.length === 0) {
      throw new BundleError(
        `${name}: fleet.yaml yaml.overlays: ${JSON.stringify(overlay)} has no files under ${JSON.stringify(root)}`,
        { bundle: name },
      );
    }
    for (const file of files) {
      if (!MANIFEST.test(file)) continue;
      const rel = file.slice(root.length);
      const [stem, ext] = splitExt(rel);
      if (stem.endsWith('_patch')) {
        const target = `${prefix}${stem.slice(0, -'_patch'.length)}${ext}`;
        if (!texts.has(target)) {
          throw new BundleError(
            `${name}: ${file}: patches ${JSON.stringify(target)}, which the bundle does not have`,
            { bundle: name, path: file },
          );
        }
        patches.push([target, file]);
      } else {
        texts.set(`${prefix}${rel}`, decoder.decode(await tree.read(file)));
      }
    }
  }
  const byFile = new Map<string, KubeObject[]>();
  for (const [file, text] of [...texts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    byFile.set(file, parseManifests(text, file, name));
  }
  for (const [target, source] of patches) {
    const list = readYaml(decoder.decode(await tree.read(source)), source, {
      maxAliasCount: 1000,
      fail: (message) => new BundleError(`${name}: ${message}`, { bundle: name, path: source }),
    });
    let objects = byFile.get(target) ?? [];
    for (const patch of list) {
      if (patch === null || patch === undefined) continue;
      objects = patchFileObjects(objects, patch, source, name);
    }
    byFile.set(target, objects);
  }
  return [...byFile.values()].flat();
}

/** One overlay `_patch` document on the objects of its file. */
function patchFileObjects(
  objects: KubeObject[],
  patch: unknown,
  source: string,
  bundle: string,
): KubeObject[] {
  if (Array.isArray(patch)) {
    return objects.map((obj) => {
      try {
        const ops = patch as jsonpatch.Operation[];
        return jsonpatch.applyPatch(structuredClone(obj), ops, true, true).newDocument;
      } catch (err) {
        throw new BundleError(`${bundle}: ${source}: ${(err as Error).message.split('\n')[0]}`, {
          bundle,
          path: source,
        });
      }
    });
  }
  if (!isObject(patch)) {
    throw new BundleError(`${bundle}: ${source}: a patch is a mapping or a JSON patch list`, {
      bundle,
      path: source,
    });
  }
  const kind = typeof patch.kind === 'string' ? patch.kind : undefined;
  const pname = isObject(patch.metadata) ? patch.metadata.name : undefined;
  let matched = 0;
  const out = objects.map((obj) => {
    if (kind !== undefined && obj.kind !== kind) return obj;
    if (typeof pname === 'string' && meta(obj, 'name') !== pname) return obj;
    matched++;
    const result: unknown = mergePatch.apply(structuredClone(obj), patch);
    return result as KubeObject;
  });
  if (matched === 0) {
    throw new BundleError(
      `${bundle}: ${source}: matches no object of the file it patches (kind ${kind ?? 'any'}, name ${typeof pname === 'string' ? pname : 'any'})`,
      { bundle, path: source },
    );
  }
  return out;
}

/** Copies repo files into `root` at their repo paths: regular files only, never through links. */
async function materialize(
  tree: FileTree,
  root: string,
  files: readonly string[],
  bundle: BundleSource,
): Promise<void> {
  const { name } = bundle;
  for (const file of files) {
    const rel = localPathInBundle({ name, dir: '' }, file, 'file');
    const target = join(root, rel);
    const within = relative(root, target);
    if (within === '' || within.startsWith('..') || isAbsolute(within)) {
      throw new BundleError(`${name}: file ${file} is outside the repository`, {
        bundle: name,
        path: file,
      });
    }
    const content = await tree.read(file);
    try {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content, { flag: 'wx' });
    } catch (err) {
      throw new BundleError(
        `${name}: file ${file} collides with another file of the bundle (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        { bundle: name, path: file },
        { cause: err },
      );
    }
  }
}

async function renderWithTool(
  tree: FileTree,
  bundle: BundleSource,
  options: EffectiveOptions,
  overlay: [field: string, dir: string] | undefined,
  customizations: Customization[],
  substitute: <T>(value: T, what: string) => T,
  tools: RenderTools,
): Promise<KubeObject[]> {
  const { name } = bundle;
  const timeoutMs = tools.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const temp = await mkdtemp(join(tmpdir(), 'flotilla-render-'));
  try {
    const root = join(temp, 'repo');
    const src = bundle.dir === '' ? root : join(root, bundle.dir);
    await mkdir(src, { recursive: true });
    const prefix = bundle.dir === '' ? '' : `${bundle.dir}/`;
    for (const file of bundle.files) {
      if (!file.startsWith(prefix)) {
        throw new BundleError(`${name}: file ${file} is outside the bundle directory`, {
          bundle: name,
          path: file,
        });
      }
      localPathInBundle(bundle, file.slice(prefix.length), 'file');
    }
    await materialize(tree, root, bundle.files, bundle);
    const home = join(temp, 'home');
    await mkdir(home);
    const env = toolEnv(home, process.env.PATH ?? '');
    const runOpts = {
      bundle: name,
      cwd: src,
      env,
      timeoutMs,
      hide: [`${root}/`, ''] as [string, string],
    };

    /** Runs kustomize on the bundle dir `rel`, after copying what it uses from elsewhere. */
    const kustomize = async (field: string, dir: string, rel: string): Promise<KubeObject[]> => {
      if (!(await isDir(join(src, rel)))) {
        throw new BundleError(
          `${name}: fleet.yaml ${field}: ${JSON.stringify(dir)} is not a directory of the bundle`,
          { bundle: name },
        );
      }
      const used = await checkKustomization(tree, bundle, repoPath(bundle.dir, rel));
      await materialize(tree, root, used.files, bundle);
      const kubectl = tools.kubectl ?? (await resolveTool('kubectl'));
      const out = await run(kubectl, ['kustomize', ...KUSTOMIZE_FLAGS, join(src, rel)], {
        ...runOpts,
        tool: 'kustomize',
      });
      return parseManifests(out, 'kustomize output', name);
    };

    if (bundle.kind === 'helm') {
      const output = await renderHelm(tree, bundle, options, customizations, substitute, tools, {
        temp,
        src,
        runOpts,
      });
      if (overlay === undefined) return parseManifests(output, 'helm template output', name);
      const [field, dir] = overlay;
      const rel = pathInBundle(bundle, dir, field);
      const kfile = KUSTOMIZATION_NAMES.map((f) => join(src, rel, f));
      let found: string | undefined;
      for (const f of kfile) if (await isFile(f)) found = found ?? f;
      if (found === undefined) {
        throw new BundleError(
          `${name}: fleet.yaml ${field}: ${JSON.stringify(dir)} has no kustomization.yaml to post-render the chart with`,
          { bundle: name },
        );
      }
      const kustomization = addFirstResource(await readFile(found, 'utf8'), FLEET_MANIFESTS);
      await writeFile(join(src, rel, FLEET_MANIFESTS), output, { flag: 'wx' }).catch(
        (err: unknown) => {
          throw new BundleError(
            `${name}: fleet.yaml ${field}: ${JSON.stringify(dir)} already has a ${FLEET_MANIFESTS}; the chart's output is written there`,
            { bundle: name },
            { cause: err },
          );
        },
      );
      await writeFile(found, kustomization);
      return await kustomize(field, dir, rel);
    }

    const [field, dir] = overlay ?? ['bundle', ''];
    return await kustomize(field, dir, pathInBundle(bundle, dir, field));
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

const KUSTOMIZATION_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/**
 * The text of a kustomization with `resource` first in its `resources` (Fleet's
 * post-rendering), editing the YAML document in place: everything else keeps its exact text,
 * so kustomize (YAML 1.1) reads its values as the author wrote them.
 */
export function addFirstResource(text: string, resource: string): string {
  const doc = parseDocument(text);
  if (!isMap(doc.contents)) {
    if (doc.contents === null) return `resources: [${JSON.stringify(resource)}]\n`;
    return text; // not a mapping: kustomize reports it
  }
  const resources = doc.contents.get('resources', true);
  if (isSeq(resources)) {
    if (!resources.items.some((item) => isScalar(item) && item.value === resource)) {
      resources.items.unshift(doc.createNode(resource));
    }
  } else {
    doc.set('resources', doc.createNode([resource]));
  }
  return doc.toString();
}

/** `helm template` of the variant's chart; returns its output. */
async function renderHelm(
  tree: FileTree,
  bundle: BundleSource,
  options: EffectiveOptions,
  customizations: Customization[],
  substitute: <T>(value: T, what: string) => T,
  tools: RenderTools,
  ctx: { temp: string; src: string; runOpts: Omit<RunOptions, 'tool'> },
): Promise<string> {
  const { name } = bundle;
  const { temp, src, runOpts } = ctx;
  const helm: Partial<HelmOptions> = options.helm ?? {};
  let source: HelmChartSource;
  try {
    source = chartSource(helm);
  } catch (err) {
    throw new BundleError(`${name}: fleet.yaml ${(err as Error).message}`, { bundle: name });
  }
  const namespace = options.namespace ?? options.defaultNamespace ?? 'default';
  // Resolved first: a missing values source is the bundle's error before any chart is fetched.
  const fromSources =
    (helm.valuesFrom?.length ?? 0) > 0
      ? resolveValuesFrom(helm.valuesFrom ?? [], tools.valuesSources ?? [], namespace, name)
      : undefined;
  let chartDir: string;
  if (source.kind === 'path') {
    const chartRel = pathInBundle(bundle, source.path, 'helm.chart');
    chartDir = join(src, chartRel);
    if (!(await isFile(join(chartDir, 'Chart.yaml')))) {
      throw new BundleError(
        `${name}: helm chart directory ${JSON.stringify(chartRel || '.')} has no Chart.yaml`,
        { bundle: name },
      );
    }
    await checkHelmChart(tree, bundle, repoPath(bundle.dir, chartRel));
  } else {
    if (tools.fetchChart === undefined) {
      throw new BundleError(
        `${name}: ${describeChartSource(source)}: this hub cannot fetch charts from Helm repositories, OCI registries or URLs`,
        { bundle: name },
      );
    }
    const fetched = await tools.fetchChart(source, name);
    chartDir = fetched.dir;
    // Messages name the exact version fetched (a range resolved).
    if (source.kind !== 'url') source = { ...source, version: fetched.version };
  }
  // No --dependency-update (or --repo): dependencies come only from the chart's charts/.
  const args = ['template', helm.releaseName ?? releaseName(name), chartDir];
  args.push('--namespace', namespace);
  args.push('--include-crds');
  if (helm.skipSchemaValidation === true) args.push('--skip-schema-validation');
  for (const [i, file] of (helm.valuesFiles ?? []).entries()) {
    const rel = pathInBundle(bundle, file, `helm.valuesFiles[${i}]`);
    if (!(await isFile(join(src, rel)))) {
      throw new BundleError(
        `${name}: fleet.yaml helm.valuesFiles[${i}]: ${JSON.stringify(file)} does not exist`,
        { bundle: name },
      );
    }
    args.push('-f', join(src, rel));
  }
  let values = helm.values ?? {};
  for (const c of customizations) {
    if (c.helm !== undefined) values = mergeValues(values, c.helm.values);
  }
  values = substitute(values, 'helm values');
  // As Fleet's agent does: valuesFrom merged in order over the values.
  if (fromSources !== undefined) values = mergeValues(values, fromSources);
  const valuesFile = join(temp, 'values.json');
  await writeFile(valuesFile, JSON.stringify(values));
  args.push('-f', valuesFile);
  const bin = tools.helm ?? (await resolveTool('helm'));
  try {
    return await run(bin, args, { ...runOpts, tool: 'helm template' });
  } catch (err) {
    throw source.kind === 'path' ? err : (missingDependencies(err, source, name) ?? err);
  }
}

/**
 * Helm's refusal of a fetched chart published without the dependencies its Chart.yaml lists, as
 * a clear bundle error saying what to do; undefined for any other error.
 */
function missingDependencies(
  err: unknown,
  source: HelmChartSource,
  bundle: string,
): BundleError | undefined {
  if (!(err instanceof BundleError)) return undefined;
  const found = /found in Chart\.yaml, but missing in charts\/ directory: ([^\n]+)/.exec(
    err.message,
  );
  if (found === null) return undefined;
  const names = found[1]!
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '')
    .sort();
  return new BundleError(
    `${bundle}: ${describeChartSource(source)} was published without its dependencies ${names.join(', ')} (its Chart.yaml lists them, its charts/ directory lacks them); the hub does not fetch dependencies of a fetched chart: use a release of the chart that includes them, or put the chart in Git, where the hub builds its dependencies`,
    { bundle },
    { cause: err },
  );
}

/** A path relative to the bundle dir as a path relative to the repo root. */
function repoPath(bundleDir: string, rel: string): string {
  if (rel === '') return bundleDir;
  return bundleDir === '' ? rel : `${bundleDir}/${rel}`;
}

/** The default Helm release name: the last path segment of the bundle name. */
export function releaseName(bundleName: string): string {
  return bundleName.slice(bundleName.lastIndexOf('/') + 1);
}

// Rendering one variant of a bundle into Kubernetes objects: plain YAML, `kubectl kustomize` or
// `helm template`, then the variant's customization patches, then `${cluster.…}` substitution.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';
import jsonpatch from 'fast-json-patch';
import mergePatch from 'json-merge-patch';
import { parseAllDocuments } from 'yaml';
import {
  chartSource,
  describeChartSource,
  type ChartFetcher,
  type HelmChartSource,
} from './chart-source.js';
import { checkHelmChart, checkKustomization } from './confine.js';
import { localPathInBundle, pathInBundle, type BundleSource } from './discover.js';
import { BundleError } from './errors.js';
import type { FileTree } from './file-tree.js';
import type { Customization, Patch } from './fleet-yaml.js';
import { normalizeObjects, type KubeObject } from './revision.js';
import { substituteValues } from './substitution.js';
import { resolveTool } from './tools.js';
import type { Variant } from './variants.js';

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
}

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
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, index) => {
    const [error] = doc.errors;
    if (error !== undefined) {
      const line = error.linePos?.[0].line;
      const reason = (error.message.split('\n')[0] ?? '').replace(
        / at line \d+, column \d+:?$/,
        '',
      );
      throw new BundleError(
        `${bundle}: ${source}${line === undefined ? '' : ` line ${line}`}: invalid YAML: ${reason}`,
        { bundle, path: source },
      );
    }
    const value: unknown = doc.toJS({ maxAliasCount: 1000 });
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

/** Helm-style values merge: objects merge recursively, anything else from `over` replaces. */
export function mergeValues(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isObject(current) && isObject(value) ? mergeValues(current, value) : value;
  }
  return out;
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
 * Renders one variant of a bundle into normalized objects (see `normalizeObjects`):
 *
 * - plain YAML: every `*.yaml`/`*.yml`/`*.json` file the bundle owns except its fleet.yaml;
 * - Kustomize: `kubectl kustomize` on the last applying customization's `kustomize.dir`, else
 *   fleet.yaml `kustomize.dir`, else the bundle dir (also for a plain-YAML bundle whose
 *   customization names an overlay);
 * - Helm: `helm template <releaseName> <chart> --namespace <defaultNamespace|default>
 *   --include-crds -f <valuesFiles...> -f <values>`, values being fleet.yaml `helm.values`
 *   deep-merged with each applying customization's `helm.values` in order (substituted first
 *   when `substitute: true`); the release name defaults to the last segment of the bundle name.
 *
 * Then each applying customization's patches in order, then `${cluster.…}` substitution in
 * string values (`substitute: true`). The bundle's files (regular files only, never links) are
 * materialized in a temp dir that is always removed; tools run without a shell, each limited to
 * `timeoutMs` (60 s), with `KUSTOMIZE_FLAGS` and in `toolEnv` (no network). Before a tool runs,
 * the Kustomization graph or the Helm chart is checked (`checkKustomization`,
 * `checkHelmChart`): a bundle renders only from its own files, never from the network. Every
 * problem (paths leaving the bundle, remote references, YAML errors, tool failures with their
 * trimmed stderr, unknown substitutions) is a `BundleError`.
 */
export async function renderVariant(
  tree: FileTree,
  bundle: BundleSource,
  variant: Pick<Variant, 'customizations' | 'substitution'>,
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
  const substitute = <T>(value: T, what: string): T =>
    fleet.substitute
      ? substituteValues(value, variant.substitution, { bundle: name, what })
      : value;

  let overlay: [field: string, dir: string] | undefined;
  if (fleet.kustomize?.dir !== undefined) overlay = ['kustomize.dir', fleet.kustomize.dir];
  for (const c of customizations) {
    if (c.kustomize !== undefined) {
      overlay = [`customization ${JSON.stringify(c.name)} kustomize.dir`, c.kustomize.dir];
    }
  }

  let objects: KubeObject[];
  if (bundle.kind === 'yaml' && overlay === undefined) {
    objects = [];
    const fleetFile = bundle.dir === '' ? 'fleet.yaml' : `${bundle.dir}/fleet.yaml`;
    const decoder = new TextDecoder();
    for (const file of bundle.files) {
      if (file === fleetFile || !MANIFEST.test(file)) continue;
      objects.push(...parseManifests(decoder.decode(await tree.read(file)), file, name));
    }
  } else {
    objects = await renderWithTool(tree, bundle, overlay, customizations, substitute, tools);
  }

  for (const c of customizations) {
    objects = applyPatches(objects, c, name, fleet.defaultNamespace);
  }
  objects = objects.map((obj) =>
    substitute(obj, `${String(obj.kind)} ${meta(obj, 'name') ?? ''}`.trim()),
  );
  return normalizeObjects(objects);
}

async function renderWithTool(
  tree: FileTree,
  bundle: BundleSource,
  overlay: [field: string, dir: string] | undefined,
  customizations: Customization[],
  substitute: <T>(value: T, what: string) => T,
  tools: RenderTools,
): Promise<KubeObject[]> {
  const { fleet, name } = bundle;
  const timeoutMs = tools.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const temp = await mkdtemp(join(tmpdir(), 'flotilla-render-'));
  try {
    const src = join(temp, 'bundle');
    await mkdir(src);
    const prefix = bundle.dir === '' ? '' : `${bundle.dir}/`;
    for (const file of bundle.files) {
      if (!file.startsWith(prefix)) {
        throw new BundleError(`${name}: file ${file} is outside the bundle directory`, {
          bundle: name,
          path: file,
        });
      }
      const target = join(src, localPathInBundle(bundle, file.slice(prefix.length), 'file'));
      const within = relative(src, target);
      if (within === '' || within.startsWith('..') || isAbsolute(within)) {
        throw new BundleError(`${name}: file ${file} is outside the bundle directory`, {
          bundle: name,
          path: file,
        });
      }
      const content = await tree.read(file);
      try {
        await mkdir(dirname(target), { recursive: true });
        // Regular files only, never through an existing entry: the copy holds no links.
        await writeFile(target, content, { flag: 'wx' });
      } catch (err) {
        throw new BundleError(
          `${name}: file ${file} collides with another file of the bundle (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
          { bundle: name, path: file },
          { cause: err },
        );
      }
    }
    const home = join(temp, 'home');
    await mkdir(home);
    const env = toolEnv(home, process.env.PATH ?? '');
    const shownDir = bundle.dir === '' ? '.' : bundle.dir;
    const runOpts = {
      bundle: name,
      cwd: src,
      env,
      timeoutMs,
      hide: [src, shownDir] as [string, string],
    };

    if (bundle.kind === 'helm') {
      if (overlay !== undefined) {
        throw new BundleError(
          `${name}: fleet.yaml ${overlay[0]}: Kustomize overlays are not supported for Helm bundles`,
          {
            bundle: name,
          },
        );
      }
      let source: HelmChartSource;
      try {
        source = chartSource(fleet.helm ?? {});
      } catch (err) {
        throw new BundleError(`${name}: fleet.yaml ${(err as Error).message}`, { bundle: name });
      }
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
        chartDir = (await tools.fetchChart(source, name)).dir;
      }
      // No --dependency-update (or --repo): dependencies come only from the chart's charts/.
      const args = ['template', fleet.helm?.releaseName ?? releaseName(name), chartDir];
      args.push('--namespace', fleet.defaultNamespace ?? 'default', '--include-crds');
      for (const [i, file] of (fleet.helm?.valuesFiles ?? []).entries()) {
        const rel = pathInBundle(bundle, file, `helm.valuesFiles[${i}]`);
        if (!(await isFile(join(src, rel)))) {
          throw new BundleError(
            `${name}: fleet.yaml helm.valuesFiles[${i}]: ${JSON.stringify(file)} does not exist`,
            {
              bundle: name,
            },
          );
        }
        args.push('-f', join(src, rel));
      }
      let values = fleet.helm?.values ?? {};
      for (const c of customizations) {
        if (c.helm !== undefined) values = mergeValues(values, c.helm.values);
      }
      values = substitute(values, 'helm values');
      const valuesFile = join(temp, 'values.json');
      await writeFile(valuesFile, JSON.stringify(values));
      args.push('-f', valuesFile);
      const helm = tools.helm ?? (await resolveTool('helm'));
      return parseManifests(
        await run(helm, args, { ...runOpts, tool: 'helm template' }),
        'helm template output',
        name,
      );
    }

    const [field, dir] = overlay ?? ['bundle', ''];
    const rel = pathInBundle(bundle, dir, field);
    if (!(await isDir(join(src, rel)))) {
      throw new BundleError(
        `${name}: fleet.yaml ${field}: ${JSON.stringify(dir)} is not a directory of the bundle`,
        {
          bundle: name,
        },
      );
    }
    await checkKustomization(tree, bundle, repoPath(bundle.dir, rel));
    const kubectl = tools.kubectl ?? (await resolveTool('kubectl'));
    const out = await run(kubectl, ['kustomize', ...KUSTOMIZE_FLAGS, join(src, rel)], {
      ...runOpts,
      tool: 'kustomize',
    });
    return parseManifests(out, 'kustomize output', name);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
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

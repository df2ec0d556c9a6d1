// Keeping a render inside its repository: before `kubectl kustomize` or `helm template` runs,
// every path a Kustomization or a Helm chart refers to is checked against the repository's files,
// and every remote reference (URLs, remote Git repositories, OCI registries) is refused. The
// tools only ever see a temp copy of the bundle's files (plus the Kustomization directories
// elsewhere in the repository that it uses, like `../../base`), so a path leaving the checkout
// would reach the hub's own disk, and a remote reference would reach the network.
import { posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import type { BundleSource } from './bundle-source.js';
import { BundleError } from './errors.js';
import type { FileTree, TreeEntry } from './file-tree.js';
import { readYaml } from './yaml.js';

type Bundle = Pick<BundleSource, 'name' | 'dir' | 'files'>;

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
/** `git@github.com:org/repo`, `user@host:path`: scp-like Git remotes. */
const SCP_LIKE = /^[^\s/:@]+@[^\s/:]+:/;
/** Query parameters of kustomize's remote Git references. */
const REMOTE_QUERY = /[?&](ref|version|submodules|timeout)=/;
/** Hosts kustomize reads as remote Git repositories even without a scheme. */
const GIT_HOSTS = /^(github\.com|gitlab\.com|bitbucket\.org|(ssh\.)?dev\.azure\.com)([/:]|$)/i;
/** JSON Schema meta-schemas helm knows without loading them. */
const KNOWN_META_SCHEMAS = new Set([
  'http://json-schema.org/draft-04/schema',
  'http://json-schema.org/draft-06/schema',
  'http://json-schema.org/draft-07/schema',
  'https://json-schema.org/draft/2019-09/schema',
  'https://json-schema.org/draft/2020-12/schema',
]);
/** Rendered charts may be large, an archive no larger than bundles (100 MiB). */
const MAX_ARCHIVE_BYTES = 100 * 1024 * 1024;

/**
 * Why `ref` is not a local path — `"is a URL"`, `"is a remote Git repository"` — or undefined
 * when it is one. Covers `scheme://` URLs (http, https, ssh, git, file, oci, ...), `git::` and
 * `gh:` prefixes, scp-like `git@host:path`, kustomize's `?ref=` / `?version=` queries and
 * scheme-less `github.com/...`.
 */
export function remoteReason(ref: string): string | undefined {
  const value = ref.trim();
  if (URL_SCHEME.test(value)) return 'is a URL';
  if (/^(git::|gh:)/.test(value) || SCP_LIKE.test(value) || REMOTE_QUERY.test(value)) {
    return 'is a remote Git repository';
  }
  if (GIT_HOSTS.test(value)) return 'is a remote Git repository';
  return undefined;
}

/** True for `/x`, `\x` and `C:\x` / `C:/x`. */
function isAbsolute(ref: string): boolean {
  return /^[/\\]/.test(ref) || /^[A-Za-z]:/.test(ref);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function joinPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/**
 * The bundle's files and every directory holding them, relative to the repo root; paths
 * elsewhere in the repository are looked up in the tree (which lists no symbolic links).
 */
class BundleIndex {
  readonly files: Set<string>;
  readonly dirs = new Set<string>();
  private readonly listings = new Map<string, Promise<TreeEntry[] | undefined>>();

  constructor(
    readonly bundle: Bundle,
    private readonly tree?: FileTree,
  ) {
    this.files = new Set(bundle.files);
    this.dirs.add(bundle.dir);
    for (const file of bundle.files) {
      for (let dir = posix.dirname(file); dir !== '.'; dir = posix.dirname(dir)) {
        if (this.dirs.has(dir)) break;
        this.dirs.add(dir);
      }
    }
  }

  /** True when the repo path is in the bundle directory (or is it). */
  inBundle(path: string): boolean {
    const { dir } = this.bundle;
    return dir === '' || path === dir || path.startsWith(`${dir}/`);
  }

  private list(dir: string): Promise<TreeEntry[] | undefined> {
    let listing = this.listings.get(dir);
    if (listing === undefined) {
      listing =
        this.tree === undefined
          ? Promise.resolve(undefined)
          : this.tree.list(dir).catch(() => undefined);
      this.listings.set(dir, listing);
    }
    return listing;
  }

  /** Whether the repo path is a directory or a regular file (undefined: neither, or a link). */
  async kind(path: string): Promise<'dir' | 'file' | undefined> {
    if (this.inBundle(path)) {
      return this.dirs.has(path) ? 'dir' : this.files.has(path) ? 'file' : undefined;
    }
    if ((await this.list(path)) !== undefined) return 'dir';
    const parent = posix.dirname(path);
    const entries = await this.list(parent === '.' ? '' : parent);
    return entries?.find((e) => e.name === posix.basename(path))?.type;
  }

  /** Every regular file under the repo dir `dir` (outside the bundle), recursively. */
  async filesUnder(dir: string): Promise<string[]> {
    const out: string[] = [];
    for (const entry of (await this.list(dir)) ?? []) {
      const path = joinPath(dir, entry.name);
      if (entry.type === 'file') out.push(path);
      else if (!entry.name.startsWith('.')) out.push(...(await this.filesUnder(path)));
    }
    return out;
  }

  fail(where: string, ref: string, reason: string, path: string): never {
    throw new BundleError(`${this.bundle.name}: ${where}: ${JSON.stringify(ref)} ${reason}`, {
      bundle: this.bundle.name,
      path,
    });
  }

  /**
   * `ref`, relative to the repo dir `from`, as a path relative to the repo root; throws
   * `BundleError` (naming `where`, found in the file `path`) when it is remote, absolute or
   * leaves the repository, and, unless `repoWide`, when it leaves the bundle directory.
   */
  resolve(from: string, ref: string, where: string, path: string, repoWide = false): string {
    const remote = remoteReason(ref);
    if (remote !== undefined) {
      this.fail(where, ref, `${remote}; a bundle renders only from its own files`, path);
    }
    if (isAbsolute(ref)) {
      this.fail(where, ref, 'is an absolute path; only paths inside the bundle are allowed', path);
    }
    const joined = posix.normalize(joinPath(from, ref.replaceAll('\\', '/')));
    const normal = joined.replace(/\/+$/, '') || '.';
    if (normal === '..' || normal.startsWith('../')) {
      this.fail(where, ref, 'leaves the repository', path);
    }
    const resolved = normal === '.' ? '' : normal;
    const { dir } = this.bundle;
    if (!repoWide && !this.inBundle(resolved)) {
      this.fail(
        where,
        ref,
        `is outside the bundle directory ${JSON.stringify(dir)}; only the bundle's own files are rendered`,
        path,
      );
    }
    return resolved;
  }

  /** The kustomization file of repo dir `dir`, if it has one. */
  async kustomizationIn(dir: string): Promise<string | undefined> {
    for (const file of KUSTOMIZATION_FILES.map((name) => joinPath(dir, name))) {
      if ((await this.kind(file)) === 'file') return file;
    }
    return undefined;
  }
}

/** `[index, value]` of the strings of a list field (anything else is left to the tool). */
function stringsOf(value: unknown): [number, string][] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item, i): [number, string][] =>
    typeof item === 'string' ? [[i, item]] : [],
  );
}

/** `[index, entry]` of the mappings of a list field. */
function objectsOf(value: unknown): [number, Record<string, unknown>][] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item, i): [number, Record<string, unknown>][] =>
    isObject(item) ? [[i, item]] : [],
  );
}

/** True when a list entry is an inline YAML document (a patch, a plugin config), not a path. */
function isInline(entry: string): boolean {
  if (entry.includes('\n')) return true;
  try {
    const value: unknown = parse(entry);
    return typeof value === 'object' && value !== null;
  } catch {
    return false;
  }
}

function parseYaml(bundle: Bundle, text: string, path: string): unknown[] {
  return readYaml(text, path, {
    maxAliasCount: 1000,
    fail: (message) => new BundleError(`${bundle.name}: ${message}`, { bundle: bundle.name, path }),
  });
}

/** Fields of builtin kustomize plugin configs that name files. */
const PLUGIN_PATH_FIELDS = new Set([
  'path',
  'paths',
  'files',
  'envs',
  'env',
  'valuesFile',
  'additionalValuesFiles',
  'chartHome',
]);

/**
 * Checks one generator/transformer/validator config: only kustomize's builtin plugins (external
 * ones would run code), no Helm inflation, and no file field that is remote or absolute (the
 * kustomization's root-only load restrictor keeps relative ones inside its directory).
 */
function checkPluginConfig(index: BundleIndex, config: unknown, where: string, path: string): void {
  if (!isObject(config)) return;
  const kind = typeof config.kind === 'string' ? config.kind : '?';
  if (config.apiVersion !== 'builtin') {
    throw new BundleError(
      `${index.bundle.name}: ${where}: ${kind} ${JSON.stringify(config.apiVersion ?? null)} is not a builtin kustomize plugin; plugins and KRM functions are disabled`,
      { bundle: index.bundle.name, path },
    );
  }
  if (kind === 'HelmChartInflationGenerator') {
    throw new BundleError(
      `${index.bundle.name}: ${where}: HelmChartInflationGenerator is not supported; render a chart as a Helm bundle`,
      { bundle: index.bundle.name, path },
    );
  }
  const visit = (value: unknown, field: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => visit(item, `${field}[${i}]`));
    } else if (isObject(value)) {
      for (const [key, child] of Object.entries(value)) {
        const at = `${field}.${key}`;
        if (PLUGIN_PATH_FIELDS.has(key)) {
          const refs = typeof child === 'string' ? [child] : stringsOf(child).map(([, s]) => s);
          for (const ref of refs) {
            const file = key === 'files' ? ref.slice(ref.indexOf('=') + 1) : ref;
            const remote = remoteReason(file);
            if (remote !== undefined) {
              index.fail(
                `${where} ${at}`,
                file,
                `${remote}; a bundle renders only from its own files`,
                path,
              );
            }
            if (isAbsolute(file)) {
              index.fail(
                `${where} ${at}`,
                file,
                'is an absolute path; only paths inside the bundle are allowed',
                path,
              );
            }
          }
        }
        visit(child, at);
      }
    }
  };
  visit(config, kind);
}

interface Pending {
  dir: string;
  /** Reached as a generator/transformer/validator: its resources are plugin configs. */
  plugins: boolean;
}

/**
 * Walks the Kustomization graph from the repo dir `start` inside the bundle and throws a
 * `BundleError` (naming the kustomization file and field) for anything that would make
 * `kubectl kustomize` read outside the repository or from the network:
 *
 * - `resources`, `bases`, `components` must be files or directories of the repository
 *   (kustomize tries an entry it cannot find locally as a remote Git repository); directories
 *   are walked. A directory outside the bundle (`../../base`) is allowed when it is a
 *   Kustomization inside the repository; a file outside the bundle is left to kustomize's
 *   root-only load restrictor, which refuses files outside a kustomization's own directory;
 * - file fields — `patches[].path`, `patchesJson6902[].path`, `patchesStrategicMerge`,
 *   `replacements[].path`, `crds`, `configurations`, `openapi.path`, `configMapGenerator` /
 *   `secretGenerator` `files` / `envs` / `env` — must resolve inside the bundle;
 * - `generators`, `transformers`, `validators` must be builtin plugin configs (see
 *   `checkPluginConfig`), inline or in files of the bundle;
 * - `helmCharts`, `helmGlobals`, `helmChartInflationGenerator` are refused (they pull charts).
 *
 * Every path must be relative, must not be a URL or remote Git reference, and must stay inside
 * the repository; symbolic links are never followed (the tree does not list them).
 *
 * Returns the Kustomization directories outside the bundle it walked, with every regular file
 * under them (repo-relative, sorted): what a render must copy besides the bundle's files.
 */
export async function checkKustomization(
  tree: FileTree,
  bundle: Bundle,
  start: string,
): Promise<{ dirs: string[]; files: string[] }> {
  const index = new BundleIndex(bundle, tree);
  const outside = new Set<string>();
  const decoder = new TextDecoder();
  const seen = new Set<string>();
  const queue: Pending[] = [{ dir: start, plugins: false }];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const { dir, plugins } = next;
    const key = `${plugins ? 'p' : 'k'}:${dir}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (!index.inBundle(dir)) outside.add(dir);
    const file = await index.kustomizationIn(dir);
    if (file === undefined) {
      throw new BundleError(
        `${bundle.name}: directory ${JSON.stringify(dir || '.')} has no ${KUSTOMIZATION_FILES.join(', ')}`,
        { bundle: bundle.name, path: dir },
      );
    }
    const [k] = parseYaml(bundle, decoder.decode(await tree.read(file)), file);
    if (!isObject(k)) continue; // an empty or malformed kustomization: kustomize reports it
    const at = (field: string): string => `${file} ${field}`;
    const resolve = (ref: string, field: string): string =>
      index.resolve(dir, ref, at(field), file, true);

    const readConfigs = async (repoPath: string): Promise<unknown[]> =>
      parseYaml(bundle, decoder.decode(await tree.read(repoPath)), repoPath);

    for (const field of ['resources', 'bases', 'components'] as const) {
      for (const [i, ref] of stringsOf(k[field])) {
        const where = `${field}[${i}]`;
        const target = resolve(ref, where);
        const kind = await index.kind(target);
        if (kind === 'dir') {
          queue.push({ dir: target, plugins });
        } else if (kind === 'file') {
          if (plugins) {
            for (const config of await readConfigs(target)) {
              checkPluginConfig(index, config, at(where), target);
            }
          }
        } else {
          index.fail(at(where), ref, 'does not exist in the repository', file);
        }
      }
    }

    for (const field of ['crds', 'configurations'] as const) {
      for (const [i, ref] of stringsOf(k[field])) resolve(ref, `${field}[${i}]`);
    }
    for (const [i, entry] of stringsOf(k.patchesStrategicMerge)) {
      if (!isInline(entry)) resolve(entry, `patchesStrategicMerge[${i}]`);
    }
    for (const field of ['patches', 'patchesJson6902', 'replacements'] as const) {
      for (const [i, entry] of objectsOf(k[field])) {
        if (typeof entry.path === 'string') resolve(entry.path, `${field}[${i}].path`);
      }
    }
    if (isObject(k.openapi) && typeof k.openapi.path === 'string') {
      resolve(k.openapi.path, 'openapi.path');
    }
    for (const field of ['configMapGenerator', 'secretGenerator'] as const) {
      for (const [i, gen] of objectsOf(k[field])) {
        for (const [j, source] of stringsOf(gen.files)) {
          resolve(source.slice(source.indexOf('=') + 1), `${field}[${i}].files[${j}]`);
        }
        for (const [j, env] of stringsOf(gen.envs)) resolve(env, `${field}[${i}].envs[${j}]`);
        if (typeof gen.env === 'string') resolve(gen.env, `${field}[${i}].env`);
      }
    }
    for (const field of ['helmCharts', 'helmGlobals', 'helmChartInflationGenerator'] as const) {
      if (k[field] !== undefined) {
        throw new BundleError(
          `${bundle.name}: ${at(field)}: is not supported (kustomize runs without --enable-helm); render a chart as a Helm bundle`,
          { bundle: bundle.name, path: file },
        );
      }
    }
    for (const field of ['generators', 'transformers', 'validators'] as const) {
      for (const [i, entry] of stringsOf(k[field])) {
        const where = `${field}[${i}]`;
        if (isInline(entry)) {
          for (const config of parseYaml(bundle, entry, file)) {
            checkPluginConfig(index, config, at(where), file);
          }
          continue;
        }
        const target = resolve(entry, where);
        const kind = await index.kind(target);
        if (kind === 'dir') {
          queue.push({ dir: target, plugins: true });
        } else if (kind === 'file') {
          for (const config of await readConfigs(target)) {
            checkPluginConfig(index, config, at(where), target);
          }
        } else {
          index.fail(at(where), entry, 'does not exist in the repository', file);
        }
      }
      for (const [i, config] of objectsOf(k[field])) {
        checkPluginConfig(index, config, at(`${field}[${i}]`), file);
      }
    }
  }
  const dirs = [...outside].sort();
  const files = new Set<string>();
  for (const dir of dirs) for (const f of await index.filesUnder(dir)) files.add(f);
  return { dirs, files: [...files].sort() };
}

/** Checks the `$ref`s and `$schema` of a values.schema.json (see `checkHelmChart`). */
function checkSchema(bundle: Bundle, text: string, where: string, path: string): void {
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (err) {
    throw new BundleError(`${bundle.name}: ${where}: invalid JSON: ${(err as Error).message}`, {
      bundle: bundle.name,
      path,
    });
  }
  const fail = (field: string, value: string, reason: string): never => {
    throw new BundleError(`${bundle.name}: ${where}: ${field} ${JSON.stringify(value)} ${reason}`, {
      bundle: bundle.name,
      path,
    });
  };
  const visit = (value: unknown, at: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => visit(item, `${at}[${i}]`));
      return;
    }
    if (!isObject(value)) return;
    for (const [key, child] of Object.entries(value)) {
      const field = at === '' ? key : `${at}.${key}`;
      if (typeof child === 'string') {
        if (
          (key === '$ref' || key === '$dynamicRef' || key === '$recursiveRef') &&
          !child.startsWith('#')
        ) {
          fail(
            field,
            child,
            'is not a local reference ("#/..."); helm would load it from outside the chart',
          );
        }
        if (key === '$schema' && !KNOWN_META_SCHEMAS.has(child.replace(/#$/, ''))) {
          fail(
            field,
            child,
            'is not a standard JSON Schema draft; helm would load it from the network',
          );
        }
      }
      visit(child, field);
    }
  };
  visit(schema, '');
}

/** The regular files of a tar archive, as `[path, content]` (ustar, GNU long names, pax paths). */
export function tarFiles(data: Uint8Array): [string, Uint8Array][] {
  const decoder = new TextDecoder();
  const text = (bytes: Uint8Array): string => {
    const end = bytes.indexOf(0);
    return decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
  };
  const out: [string, Uint8Array][] = [];
  let longName: string | undefined;
  let offset = 0;
  while (offset + 512 <= data.length) {
    const header = data.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = Number.parseInt(text(header.subarray(124, 136)).trim() || '0', 8);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error('malformed tar header');
    const type = String.fromCharCode(header[156] ?? 0);
    let name = text(header.subarray(0, 100));
    const prefix = text(header.subarray(345, 500));
    if (text(header.subarray(257, 263)).startsWith('ustar') && prefix !== '') {
      name = `${prefix}/${name}`;
    }
    const body = data.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = text(body);
    } else if (type === 'x') {
      for (const record of decoder.decode(body).split('\n')) {
        const match = /^\d+ path=(.*)$/.exec(record);
        if (match?.[1] !== undefined) longName = match[1];
      }
    } else if (type === 'g') {
      continue;
    } else {
      if (type === '0' || type === '\0' || type === '7') out.push([longName ?? name, body]);
      longName = undefined;
    }
  }
  return out;
}

/** Checks the schemas inside a packaged subchart (and the archives inside it). */
function checkArchive(bundle: Bundle, data: Uint8Array, where: string, path: string): void {
  let files: [string, Uint8Array][];
  try {
    files = tarFiles(gunzipSync(data, { maxOutputLength: MAX_ARCHIVE_BYTES }));
  } catch (err) {
    throw new BundleError(
      `${bundle.name}: ${where}: not a readable chart archive: ${(err as Error).message}`,
      { bundle: bundle.name, path },
    );
  }
  const decoder = new TextDecoder();
  for (const [name, content] of files) {
    if (posix.basename(name) === 'values.schema.json') {
      checkSchema(bundle, decoder.decode(content), `${where} ${name}`, path);
    } else if (name.endsWith('.tgz')) {
      checkArchive(bundle, content, `${where} ${name}`, path);
    }
  }
}

/**
 * Checks a Helm chart (the repo dir `chartDir` of the bundle, with its subcharts, unpacked or
 * packaged) before `helm template` runs; throws a `BundleError` naming the file for:
 *
 * - a `Chart.yaml` dependency with a `file://` repository that is absolute or leaves the bundle
 *   (dependencies from chart repositories and OCI registries are never pulled at render time:
 *   `helm template` runs without `--dependency-update` and uses only what `charts/` holds);
 * - a `values.schema.json` (also inside `charts/*.tgz`) whose `$ref` is not a local `#...`
 *   reference or whose `$schema` is not a standard draft: helm would load it from the network
 *   or the hub's disk while validating values.
 */
export async function checkHelmChart(
  tree: FileTree,
  bundle: Bundle,
  chartDir: string,
): Promise<void> {
  const index = new BundleIndex(bundle);
  const decoder = new TextDecoder();
  const prefix = chartDir === '' ? '' : `${chartDir}/`;
  for (const file of bundle.files) {
    if (!file.startsWith(prefix)) continue;
    const base = posix.basename(file);
    if (base === 'Chart.yaml') {
      const [chart] = parseYaml(bundle, decoder.decode(await tree.read(file)), file);
      if (!isObject(chart)) continue;
      for (const [i, dep] of objectsOf(chart.dependencies)) {
        const repo = dep.repository;
        if (typeof repo !== 'string' || !repo.startsWith('file://')) continue;
        index.resolve(
          posix.dirname(file),
          repo.slice('file://'.length),
          `${file} dependencies[${i}].repository`,
          file,
        );
      }
    } else if (base === 'values.schema.json') {
      checkSchema(bundle, decoder.decode(await tree.read(file)), file, file);
    } else if (file.endsWith('.tgz') && posix.basename(posix.dirname(file)) === 'charts') {
      checkArchive(bundle, await tree.read(file), file, file);
    }
  }
}

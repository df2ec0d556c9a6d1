// Finding the bundles of a GitRepo: every directory under its paths that holds manifests, a
// Kustomization, a Helm chart or a fleet.yaml. A bundle owns its subdirectories (overlays,
// templates, charts) unless one of them has a fleet.yaml of its own.
import { posix } from 'node:path';
import type { BundleKind, BundleSource } from './bundle-source.js';
import { remoteReason } from './confine.js';
import { BundleError } from './errors.js';
import { normalizeTreePath, type FileTree, type TreeEntry } from './file-tree.js';
import { chartSource } from './chart-source.js';
import { parseFleetYaml, type FleetYaml, type HelmOptions } from './fleet-yaml.js';
import { findReferences } from './substitution.js';

/** What discovery found: the bundles, and the problems of bundles (or paths) it had to skip. */
export interface Discovery {
  /** Bundles sorted by name. */
  bundles: BundleSource[];
  /** One error per skipped bundle or unusable path; the other bundles are unaffected. */
  errors: BundleError[];
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const MANIFEST = /\.(ya?ml|json)$/;

/** True when a directory with these files is a bundle root. */
function isBundleRoot(files: string[]): boolean {
  return files.some(
    (name) =>
      name === 'fleet.yaml' ||
      name === 'Chart.yaml' ||
      KUSTOMIZATION_FILES.includes(name) ||
      MANIFEST.test(name),
  );
}

function join(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** True when the path is (inside) a directory whose name starts with a dot, like `.github`. */
function isHidden(name: string): boolean {
  return name.startsWith('.');
}

/**
 * Resolves `rel` (a path from fleet.yaml) against the bundle dir; throws `BundleError` when it is
 * a URL or remote reference (remote Helm charts are not supported), absolute or leaves the
 * bundle. Returns the path relative to the bundle dir ('' for itself).
 */
export function pathInBundle(
  bundle: { name: string; dir: string },
  rel: string,
  field: string,
): string {
  const remote = remoteReason(rel);
  if (remote !== undefined) {
    throw new BundleError(
      `${bundle.name}: fleet.yaml ${field}: ${JSON.stringify(rel)} ${remote}; only paths inside the bundle are allowed here (a remote chart is named with helm.repo, an oci:// reference or an https:// .tgz URL in helm.chart)`,
      { bundle: bundle.name, path: join(bundle.dir, 'fleet.yaml') },
    );
  }
  return localPathInBundle(bundle, rel, field);
}

/**
 * Like `pathInBundle` for a path known to be local (a file of the bundle, whatever its name):
 * throws `BundleError` only when it is absolute or leaves the bundle.
 */
export function localPathInBundle(
  bundle: { name: string; dir: string },
  rel: string,
  field: string,
): string {
  const slashed = rel.replaceAll('\\', '/');
  const normal = posix.normalize(slashed === '' ? '.' : slashed).replace(/\/+$/, '');
  if (slashed.startsWith('/') || /^[A-Za-z]:/.test(slashed)) {
    throw new BundleError(
      `${bundle.name}: fleet.yaml ${field}: ${JSON.stringify(rel)} must be a path inside the bundle, not absolute`,
      { bundle: bundle.name, path: join(bundle.dir, 'fleet.yaml') },
    );
  }
  if (normal === '..' || normal.startsWith('../')) {
    throw new BundleError(
      `${bundle.name}: fleet.yaml ${field}: ${JSON.stringify(rel)} leaves the bundle directory`,
      { bundle: bundle.name, path: join(bundle.dir, 'fleet.yaml') },
    );
  }
  return normal === '.' ? '' : normal;
}

/** True when the helm options name a chart not in the repository (repo, oci://, URL). */
function remoteChart(helm: HelmOptions | undefined): boolean {
  return helm !== undefined && chartSource(helm).kind !== 'path';
}

/** Every path of a fleet.yaml that must stay inside the bundle, with its field name. */
export function fleetPaths(fleet: FleetYaml): [field: string, path: string][] {
  const out: [string, string][] = [];
  const helmPaths = (helm: HelmOptions | undefined, at: string): void => {
    if (helm?.chart !== undefined && !remoteChart(helm)) out.push([`${at}helm.chart`, helm.chart]);
    helm?.valuesFiles?.forEach((file, i) => out.push([`${at}helm.valuesFiles[${i}]`, file]));
  };
  if (fleet.kustomize?.dir !== undefined) out.push(['kustomize.dir', fleet.kustomize.dir]);
  helmPaths(fleet.helm, '');
  fleet.targetCustomizations.forEach((t, i) => {
    const at = `targetCustomizations[${i}].`;
    if (t.kustomize?.dir !== undefined) out.push([`${at}kustomize.dir`, t.kustomize.dir]);
    helmPaths(t.helm, at);
  });
  fleet.customizations.forEach((c, i) => {
    if (c.kustomize !== undefined)
      out.push([`customizations[${i}].kustomize.dir`, c.kustomize.dir]);
  });
  return out;
}

interface Pending {
  name: string;
  dir: string;
  rootFiles: string[];
  files: string[];
}

/**
 * Finds the bundles under `paths` (relative to the repo root; '' or '.' is the root) of the
 * GitRepo `gitrepoName`. A directory is a bundle root when it holds a `fleet.yaml`, a
 * `Chart.yaml`, a Kustomization file or manifests (`*.yaml`, `*.yml`, `*.json`); it owns its
 * subdirectories unless one has its own fleet.yaml. Directories whose names start with a dot
 * (`.git`, `.github`) are never searched.
 *
 * Names come from the bundle's full directory, relative to the deepest directory that holds
 * every path (see `bundleName`): `<gitrepo>/<dir relative to that directory>`. With one path
 * that directory is the path itself, so `apps/web` under path `apps` is `<gitrepo>/web`; with
 * paths `single-cluster` and `multi-cluster` it is the repo root, so their `helm` directories
 * are `<gitrepo>/single-cluster/helm` and `<gitrepo>/multi-cluster/helm` and never collide.
 *
 * Problems are isolated: a malformed fleet.yaml (or a fleet.yaml path leaving the bundle) skips
 * that bundle only, a missing path skips that path, and bundles sharing a name are all skipped;
 * each problem is one `BundleError` in `errors`. Kind: `helm` with a `Chart.yaml`, a non-empty
 * `helm.chart` or a `helm.repo` (in the fleet.yaml or a targetCustomization); `kustomize` with a
 * Kustomization file at the root, a non-empty `kustomize.dir` (fleet.yaml or
 * targetCustomization), or a customization's `kustomize.dir`; `yaml` otherwise.
 */
export async function discoverBundles(
  tree: FileTree,
  gitrepoName: string,
  paths: string[],
): Promise<Discovery> {
  const errors: BundleError[] = [];
  const pending = new Map<string, Pending>();

  const walk = async (
    dir: string,
    entries: TreeEntry[],
    owner: Pending | undefined,
  ): Promise<void> => {
    const files = entries.filter((e) => e.type === 'file').map((e) => e.name);
    const subdirs = entries.filter((e) => e.type === 'dir' && !isHidden(e.name));
    let current = owner;
    if (files.includes('fleet.yaml') || (owner === undefined && isBundleRoot(files))) {
      if (pending.has(dir)) return; // reached again through an overlapping path
      current = { name: bundleName(gitrepoName, root, dir), dir, rootFiles: files, files: [] };
      pending.set(dir, current);
    }
    if (current !== undefined) current.files.push(...files.map((f) => join(dir, f)));
    await Promise.all(
      subdirs.map(async (sub) => {
        const subdir = join(dir, sub.name);
        await walk(subdir, await tree.list(subdir), current);
      }),
    );
  };

  const valid: [raw: string, base: string][] = [];
  for (const raw of paths) {
    try {
      const remote = remoteReason(raw);
      if (remote !== undefined) {
        throw new Error(`${remote}; paths are directories of the repository`);
      }
      valid.push([raw, normalizeTreePath(raw)]);
    } catch (err) {
      errors.push(pathError(gitrepoName, raw, err));
    }
  }
  // Names do not depend on which paths exist: a misspelled path leaves the others' names alone.
  const root = commonDirectory(valid.map(([, base]) => base));
  for (const [raw, base] of valid) {
    let entries: TreeEntry[];
    try {
      entries = await tree.list(base);
    } catch (err) {
      errors.push(pathError(gitrepoName, raw, err));
      continue;
    }
    await walk(base, entries, undefined);
  }

  const loaded = await Promise.all(
    [...pending.values()].map(async (p): Promise<BundleSource | BundleError> => {
      try {
        return await loadBundle(tree, p);
      } catch (err) {
        // The bundle keeps its directory and the kind its files tell, even when broken.
        const context = { bundle: p.name, dir: p.dir, kind: kindOfFiles(p.rootFiles) };
        if (err instanceof BundleError) {
          return new BundleError(
            err.message,
            { ...context, path: err.path ?? p.dir },
            { cause: err },
          );
        }
        return new BundleError(
          `${p.name}: ${(err as Error).message}`,
          { ...context, path: p.dir },
          { cause: err },
        );
      }
    }),
  );

  const byName = new Map<string, BundleSource[]>();
  for (const result of loaded) {
    if (result instanceof BundleError) {
      errors.push(result);
      continue;
    }
    byName.set(result.name, [...(byName.get(result.name) ?? []), result]);
  }
  const bundles: BundleSource[] = [];
  for (const [name, same] of byName) {
    if (same.length === 1) {
      bundles.push(...same);
      continue;
    }
    const dirs = same.map((b) => JSON.stringify(b.dir)).join(', ');
    errors.push(
      new BundleError(`duplicate bundle name ${JSON.stringify(name)}: directories ${dirs}`, {
        bundle: name,
        path: same[0]?.dir,
        dir: same[0]?.dir,
        kind: same[0]?.kind,
      }),
    );
  }
  bundles.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { bundles, errors };
}

/** The kind a bundle's top-level files tell, before its fleet.yaml is read. */
function kindOfFiles(rootFiles: string[]): BundleKind {
  if (rootFiles.includes('Chart.yaml')) return 'helm';
  if (rootFiles.some((f) => KUSTOMIZATION_FILES.includes(f))) return 'kustomize';
  return 'yaml';
}

function pathError(gitrepoName: string, raw: string, err: unknown): BundleError {
  return new BundleError(
    `GitRepo ${gitrepoName}: path ${JSON.stringify(raw)}: ${(err as Error).message}`,
    { path: raw },
  );
}

/** The deepest directory that holds every one of `dirs` ('' for the repo root or none). */
export function commonDirectory(dirs: readonly string[]): string {
  const [first, ...rest] = dirs.map((d) => (d === '' ? [] : d.split('/')));
  if (first === undefined) return '';
  let common = first;
  for (const parts of rest) {
    let i = 0;
    while (i < common.length && i < parts.length && common[i] === parts[i]) i++;
    common = common.slice(0, i);
  }
  return common.join('/');
}

/**
 * The name of the bundle in directory `dir` of GitRepo `gitrepo`, whose paths all lie under
 * `root` (their `commonDirectory`): `<gitrepo>/<dir relative to root>`; the bundle at `root`
 * itself is `<gitrepo>/<basename of root>`, or `<gitrepo>` when `root` is the repo root.
 * With a single path this is the name relative to the path, as it has always been.
 */
export function bundleName(gitrepo: string, root: string, dir: string): string {
  const rel = posix.relative(root, dir);
  if (rel !== '') return `${gitrepo}/${rel}`;
  return root === '' ? gitrepo : `${gitrepo}/${posix.basename(root)}`;
}

async function loadBundle(tree: FileTree, p: Pending): Promise<BundleSource> {
  const decoder = new TextDecoder();
  let fleet: FleetYaml;
  if (p.rootFiles.includes('fleet.yaml')) {
    const path = join(p.dir, 'fleet.yaml');
    fleet = parseFleetYaml(decoder.decode(await tree.read(path)), path, p.name);
  } else {
    fleet = parseFleetYaml('', join(p.dir, 'fleet.yaml'), p.name);
  }
  try {
    if (fleet.helm !== undefined) chartSource(fleet.helm);
  } catch (err) {
    throw new BundleError(`${join(p.dir, 'fleet.yaml')}: ${(err as Error).message}`, {
      bundle: p.name,
      path: join(p.dir, 'fleet.yaml'),
    });
  }
  for (const [field, path] of fleetPaths(fleet)) pathInBundle(p, path, field);

  let kind: BundleKind = kindOfFiles(p.rootFiles);
  const helms = [fleet.helm, ...fleet.targetCustomizations.map((t) => t.helm)];
  if (kind === 'helm' || helms.some((h) => h?.chart !== undefined || h?.repo !== undefined)) {
    kind = 'helm';
  } else if (
    kind === 'kustomize' ||
    fleet.kustomize?.dir !== undefined ||
    fleet.targetCustomizations.some((t) => t.kustomize?.dir !== undefined) ||
    fleet.customizations.some((c) => c.kustomize !== undefined)
  ) {
    kind = 'kustomize';
  }

  const files = [...p.files].sort();
  const references = new Set<string>();
  if (fleet.substitute) {
    for (const file of files) {
      for (const ref of findReferences(decoder.decode(await tree.read(file)))) references.add(ref);
    }
  }
  return { name: p.name, dir: p.dir, kind, fleet, files, references: [...references].sort() };
}

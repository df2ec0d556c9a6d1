// Finding the bundles of a GitRepo: every directory under its paths that holds manifests, a
// Kustomization, a Helm chart or a fleet.yaml. A bundle owns its subdirectories (overlays,
// templates, charts) unless one of them has a fleet.yaml of its own.
import { posix } from 'node:path';
import { remoteReason } from './confine.js';
import { BundleError } from './errors.js';
import { normalizeTreePath, type FileTree, type TreeEntry } from './file-tree.js';
import { chartSource } from './chart-source.js';
import { parseFleetYaml, type FleetYaml, type HelmOptions } from './fleet-yaml.js';
import { findReferences } from './substitution.js';

/** How a bundle is rendered. */
export type BundleKind = 'yaml' | 'kustomize' | 'helm';

/** A bundle found in a GitRepo, ready to be planned and rendered. */
export interface BundleSource {
  /** `<gitrepo>/<dir relative to the GitRepo path>` (see `discoverBundles`). */
  name: string;
  /** The bundle's directory, relative to the repo root ('' for the root). */
  dir: string;
  kind: BundleKind;
  /** The validated fleet.yaml (all defaults when the bundle has none). */
  fleet: FleetYaml;
  /** Every file the bundle owns, relative to the repo root, sorted. */
  files: string[];
  /**
   * The `${cluster.…}` references in its files (`cluster.name`, `cluster.labels.KEY`, sorted),
   * only when `fleet.substitute` is true; empty otherwise.
   */
  references: string[];
}

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
 * Names: `<gitrepo>/<dir relative to the path>`; a path that is itself a bundle root gives
 * `<gitrepo>/<basename of the path>`, or `<gitrepo>` for the repo root.
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
    base: string,
    entries: TreeEntry[],
    owner: Pending | undefined,
  ): Promise<void> => {
    const files = entries.filter((e) => e.type === 'file').map((e) => e.name);
    const subdirs = entries.filter((e) => e.type === 'dir' && !isHidden(e.name));
    let current = owner;
    if (files.includes('fleet.yaml') || (owner === undefined && isBundleRoot(files))) {
      if (pending.has(dir)) return; // reached again through an overlapping path
      const rel = posix.relative(base, dir);
      const name =
        rel !== ''
          ? `${gitrepoName}/${rel}`
          : base === ''
            ? gitrepoName
            : `${gitrepoName}/${posix.basename(base)}`;
      current = { name, dir, rootFiles: files, files: [] };
      pending.set(dir, current);
    }
    if (current !== undefined) current.files.push(...files.map((f) => join(dir, f)));
    await Promise.all(
      subdirs.map(async (sub) => {
        const subdir = join(dir, sub.name);
        await walk(subdir, base, await tree.list(subdir), current);
      }),
    );
  };

  for (const raw of paths) {
    let base: string;
    let entries: TreeEntry[];
    try {
      const remote = remoteReason(raw);
      if (remote !== undefined) {
        throw new Error(`${remote}; paths are directories of the repository`);
      }
      base = normalizeTreePath(raw);
      entries = await tree.list(base);
    } catch (err) {
      errors.push(
        new BundleError(
          `GitRepo ${gitrepoName}: path ${JSON.stringify(raw)}: ${(err as Error).message}`,
          {
            path: raw,
          },
        ),
      );
      continue;
    }
    await walk(base, base, entries, undefined);
  }

  const loaded = await Promise.all(
    [...pending.values()].map(async (p): Promise<BundleSource | BundleError> => {
      try {
        return await loadBundle(tree, p);
      } catch (err) {
        if (err instanceof BundleError) return err;
        return new BundleError(
          `${p.name}: ${(err as Error).message}`,
          { bundle: p.name, path: p.dir },
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
      }),
    );
  }
  bundles.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { bundles, errors };
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
  for (const [field, path] of fleetPaths(fleet)) pathInBundle(p, path, field);

  let kind: BundleKind = 'yaml';
  const helms = [fleet.helm, ...fleet.targetCustomizations.map((t) => t.helm)];
  if (
    helms.some((h) => h?.chart !== undefined || h?.repo !== undefined) ||
    p.rootFiles.includes('Chart.yaml')
  ) {
    kind = 'helm';
  } else if (
    p.rootFiles.some((f) => KUSTOMIZATION_FILES.includes(f)) ||
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

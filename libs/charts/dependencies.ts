// What `helm dependency build` does for a chart in the repository: its Chart.yaml dependencies
// from Helm repositories and OCI registries (at the versions Chart.lock pins, else the newest
// matching the range) are fetched by the hub and appear under the chart's charts/ directory.
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { parse } from 'yaml';
import { chartSource, type RemoteChartSource } from '../bundles/chart-source.js';
import type { BundleSource } from '../bundles/bundle-source.js';
import { BundleError } from '../bundles/errors.js';
import type { FileTree, TreeEntry } from '../bundles/file-tree.js';
import type { PinnedChart, SyncChartFetcher } from './chart-fetcher.js';

/** A bundle with its chart's dependencies in place, and the charts that were fetched for it. */
export interface WithDependencies {
  tree: FileTree;
  bundle: BundleSource;
  pins: PinnedChart[];
}

/** A tree with files of the hub's disk laid over it (read-only, like the tree). */
class OverlayTree implements FileTree {
  private readonly dirs = new Map<string, Map<string, TreeEntry['type']>>();

  constructor(
    private readonly base: FileTree,
    /** Repo path → absolute path on disk. */
    private readonly files: Map<string, string>,
  ) {
    for (const file of files.keys()) {
      let child = file;
      let type: TreeEntry['type'] = 'file';
      for (let dir = posix.dirname(file); ; dir = posix.dirname(dir)) {
        const key = dir === '.' ? '' : dir;
        const entries = this.dirs.get(key) ?? new Map<string, TreeEntry['type']>();
        entries.set(posix.basename(child), type);
        this.dirs.set(key, entries);
        if (key === '') break;
        child = key;
        type = 'dir';
      }
    }
  }

  async list(dir: string): Promise<TreeEntry[]> {
    const extra = this.dirs.get(dir);
    if (extra === undefined) return this.base.list(dir);
    const entries = new Map<string, TreeEntry['type']>();
    for (const e of await this.base.list(dir).catch(() => [])) entries.set(e.name, e.type);
    for (const [name, type] of extra) entries.set(name, type);
    return [...entries]
      .map(([name, type]) => ({ name, type }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async read(path: string): Promise<Uint8Array> {
    const disk = this.files.get(path);
    return disk === undefined ? this.base.read(path) : readFile(disk);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface Dependency {
  name: string;
  version?: string;
  repository: string;
}

function dependenciesOf(value: unknown): Dependency[] {
  if (!isObject(value) || !Array.isArray(value.dependencies)) return [];
  return value.dependencies.flatMap((d): Dependency[] =>
    isObject(d) && typeof d.name === 'string' && typeof d.repository === 'string'
      ? [
          {
            name: d.name,
            repository: d.repository,
            ...(typeof d.version === 'string' || typeof d.version === 'number'
              ? { version: String(d.version) }
              : {}),
          },
        ]
      : [],
  );
}

/**
 * For a Helm bundle whose chart is in the repository: fetches every `Chart.yaml` dependency
 * whose `repository` is an `https://`/`http://` Helm repository or an `oci://` registry and that
 * the chart does not vendor (`charts/<name>-*.tgz` or `charts/<name>/`), at the version
 * `Chart.lock` pins for it, else the newest satisfying the dependency's range (as `helm
 * dependency build` / `update` do), and lays it out as `charts/<name>/` in the returned tree and
 * bundle. Repository aliases (`@name`, `alias:name`) of a local Helm configuration are refused.
 * Anything else (other bundles, `file://` dependencies) is returned unchanged.
 */
export async function withChartDependencies(
  tree: FileTree,
  bundle: BundleSource,
  fetch: SyncChartFetcher,
): Promise<WithDependencies> {
  const unchanged = { tree, bundle, pins: [] };
  if (bundle.kind !== 'helm') return unchanged;
  let path: string;
  try {
    const source = chartSource(bundle.fleet.helm ?? {});
    if (source.kind !== 'path') return unchanged;
    path = source.path;
  } catch {
    return unchanged; // rendering reports the field
  }
  const chartDir = posix.normalize([bundle.dir, path].filter((p) => p !== '').join('/') || '.');
  const dir = chartDir === '.' ? '' : chartDir;
  const at = (file: string) => (dir === '' ? file : `${dir}/${file}`);
  if (!bundle.files.includes(at('Chart.yaml'))) return unchanged;
  const decoder = new TextDecoder();
  const read = async (file: string): Promise<unknown> => {
    try {
      return parse(decoder.decode(await tree.read(file)));
    } catch (err) {
      throw new BundleError(`${bundle.name}: ${file}: ${(err as Error).message.split('\n')[0]}`, {
        bundle: bundle.name,
        path: file,
      });
    }
  };
  const deps = dependenciesOf(await read(at('Chart.yaml')));
  const locked = bundle.files.includes(at('Chart.lock'))
    ? dependenciesOf(await read(at('Chart.lock')))
    : [];
  const overlay = new Map<string, string>();
  const pins: PinnedChart[] = [];
  for (const [i, dep] of deps.entries()) {
    const where = `${at('Chart.yaml')} dependencies[${i}] (${dep.name})`;
    const repo = dep.repository.trim();
    if (repo === '' || repo.startsWith('file://')) continue;
    const vendored = bundle.files.some(
      (f) =>
        f.startsWith(at(`charts/${dep.name}/`)) ||
        (f.startsWith(at(`charts/${dep.name}-`)) && f.endsWith('.tgz')),
    );
    if (vendored) continue;
    if (repo.startsWith('@') || /^alias:/.test(repo)) {
      throw new BundleError(
        `${bundle.name}: ${where}: repository ${JSON.stringify(repo)} names a local Helm repository alias; use the repository's URL`,
        { bundle: bundle.name, path: at('Chart.yaml') },
      );
    }
    const lock = locked.find((l) => l.name === dep.name && l.repository.trim() === repo);
    const version = lock?.version ?? dep.version;
    let source: RemoteChartSource;
    if (repo.startsWith('oci://')) {
      source = {
        kind: 'oci',
        ref: `${repo.replace(/\/+$/, '')}/${dep.name}`,
        ...(version === undefined ? {} : { version }),
      };
    } else if (/^https?:\/\//.test(repo)) {
      source = {
        kind: 'repo',
        repo,
        chart: dep.name,
        ...(version === undefined ? {} : { version }),
      };
    } else {
      throw new BundleError(
        `${bundle.name}: ${where}: repository ${JSON.stringify(repo)} is not an https://, http:// or oci:// URL`,
        { bundle: bundle.name, path: at('Chart.yaml') },
      );
    }
    let chart: PinnedChart;
    try {
      chart = await fetch(source, bundle.name);
    } catch (err) {
      const message = (err as Error).message.replace(`${bundle.name}: `, '');
      throw new BundleError(`${bundle.name}: ${where}: ${message}`, {
        bundle: bundle.name,
        path: at('Chart.yaml'),
      });
    }
    pins.push(chart);
    for (const file of chart.files)
      overlay.set(at(`charts/${dep.name}/${file}`), join(chart.dir, file));
  }
  if (overlay.size === 0) return unchanged;
  return {
    tree: new OverlayTree(tree, overlay),
    bundle: { ...bundle, files: [...bundle.files, ...overlay.keys()].sort() },
    pins,
  };
}

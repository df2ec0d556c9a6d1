// Which bundles a sync may take away: bundles that left Git are removed from every cluster,
// unless their leaving looks like an accident.
import type { Discovery } from './discover.js';
import type { BundleError } from './errors.js';
import { normalizeTreePath } from './file-tree.js';

/** A bundle as the hub knows it, before this sync. */
export interface KnownBundle {
  name: string;
  /** Its directory, relative to the repo root. */
  dir: string;
  /** The last commit it resolved cleanly at; null when it never did (nothing deployed). */
  commit: string | null;
}

/** What the sync found and the bundles known before it. */
export interface RemovalInput {
  /** The GitRepo's paths, as written in its spec. */
  paths: readonly string[];
  /** Every bundle of the GitRepo the hub knows. */
  existing: readonly KnownBundle[];
  /** Names of the bundles found at `commit`, broken ones included. */
  found: ReadonlySet<string>;
  /** Directories of the bundles found at `commit`, broken ones included. */
  foundDirs: readonly string[];
  /** Problems with the paths themselves (missing, leaving the repository, ...). */
  pathErrors: readonly string[];
  commit: string;
}

/** What a discovery found, broken bundles included, sorted for {@link removableBundles}. */
export interface FoundBundles {
  /** Names of the bundles found, broken ones included. */
  found: Set<string>;
  /** Directories of the bundles found, broken ones included. */
  foundDirs: string[];
  /** Problems with the paths themselves (no bundle named). */
  pathErrors: string[];
  /** Bundles whose fleet.yaml is broken: each keeps its last good revision everywhere. */
  broken: (BundleError & { bundle: string })[];
}

/** Sorts a discovery's errors into path problems and broken bundles (which count as found). */
export function foundInDiscovery(discovery: Discovery): FoundBundles {
  const found = new Set(discovery.bundles.map((b) => b.name));
  const foundDirs = discovery.bundles.map((b) => b.dir);
  const pathErrors: string[] = [];
  const broken: (BundleError & { bundle: string })[] = [];
  for (const error of discovery.errors) {
    if (error.bundle === undefined) {
      pathErrors.push(error.message);
      continue;
    }
    found.add(error.bundle);
    if (error.dir !== undefined) foundDirs.push(error.dir);
    broken.push(error as BundleError & { bundle: string });
  }
  return { found, foundDirs, pathErrors, broken };
}

/** Bundles named in one problem, at most; the rest are elided. */
const NAMED = 20;

function isUnder(dir: string, path: string): boolean {
  return path === '' || dir === path || dir.startsWith(`${path}/`);
}

/**
 * The bundles that left Git and may be removed, and the problems (for the GitRepo's status) that
 * keep the others. Nothing is removed while a path is unusable (a misspelled or deleted
 * directory), and every bundle of a path that had deployed bundles and now has none (an emptied
 * directory, a move gone wrong) is kept: both are far likelier accidents than the wish to remove
 * everything, which a user says by removing the path from the GitRepo (or deleting the GitRepo).
 */
export function removableBundles(input: RemovalInput): { remove: string[]; problems: string[] } {
  const gone = input.existing.filter((b) => !input.found.has(b.name));
  const problems = input.pathErrors.map((e) =>
    gone.length > 0
      ? `${e}; no bundle is removed while a path is unusable (${gone.length} kept)`
      : `${e}; nothing was removed`,
  );
  if (input.pathErrors.length > 0) return { remove: [], problems };
  const kept = new Set<string>();
  for (const raw of input.paths) {
    let path: string;
    try {
      path = normalizeTreePath(raw);
    } catch {
      continue; // an unusable path is one of the pathErrors
    }
    if (input.foundDirs.some((d) => isUnder(d, path))) continue;
    const had = input.existing.filter((b) => b.commit !== null && isUnder(b.dir, path));
    if (had.length === 0) continue;
    for (const b of had) kept.add(b.name);
    const names = had.map((b) => b.name);
    const listed = names.slice(0, NAMED).join(', ') + (names.length > NAMED ? ', ...' : '');
    problems.push(
      `path ${JSON.stringify(raw)} has no bundles at ${input.commit.slice(0, 8)} (it had ${had.length}: ${listed}); they are kept where they run; to remove them, remove the path from the GitRepo`,
    );
  }
  return { remove: gone.map((b) => b.name).filter((n) => !kept.has(n)), problems };
}

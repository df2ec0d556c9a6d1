// Helm repository index files (`index.yaml`) and picking a chart version as `helm pull` does:
// an exact match first, else the highest version satisfying the range, stable versions only
// unless the range asks for a prerelease.
import semver from 'semver';
import { parseDocument } from 'yaml';
import { ChartFetchError } from './errors.js';

/** One version of a chart in a repository index. */
export interface IndexEntry {
  name: string;
  version: string;
  /** sha256 (hex) of the archive when the index states it. */
  digest?: string;
  /** Where the archive is: absolute, or relative to the repository URL. */
  urls: string[];
}

/** A parsed index: chart name → its versions as listed. */
export type RepoIndex = Map<string, IndexEntry[]>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses an `index.yaml` (YAML or JSON) as `helm repo index` writes it: `apiVersion: v1` and
 * `entries` of chart name → versions, each with `version`, `urls` and usually `digest`. Entries
 * without a version or URL are skipped; a malformed document is a `ChartFetchError` naming
 * `where`.
 */
export function parseRepoIndex(text: string, where: string): RepoIndex {
  const doc = parseDocument(text, { uniqueKeys: false });
  const [error] = doc.errors;
  if (error !== undefined) {
    throw new ChartFetchError(
      `${where}: index.yaml is not valid YAML: ${(error.message.split('\n')[0] ?? '').trim()}`,
    );
  }
  const value: unknown = doc.toJS({ maxAliasCount: 10_000 });
  if (!isObject(value) || !isObject(value.entries)) {
    throw new ChartFetchError(`${where}: index.yaml has no "entries"; is this a Helm repository?`);
  }
  const index: RepoIndex = new Map();
  for (const [name, versions] of Object.entries(value.entries)) {
    if (!Array.isArray(versions)) continue;
    const list: IndexEntry[] = [];
    for (const v of versions) {
      if (!isObject(v)) continue;
      const version = typeof v.version === 'string' ? v.version : undefined;
      const urls = Array.isArray(v.urls)
        ? v.urls.filter((u): u is string => typeof u === 'string' && u !== '')
        : [];
      if (version === undefined || urls.length === 0) continue;
      const digest =
        typeof v.digest === 'string' && /^(sha256:)?[0-9a-f]{64}$/i.test(v.digest)
          ? v.digest.replace(/^sha256:/i, '').toLowerCase()
          : undefined;
      list.push({ name, version, urls, ...(digest === undefined ? {} : { digest }) });
    }
    index.set(name, list);
  }
  return index;
}

/**
 * The version to use among `available` for `wanted` (exact, a semver range, or undefined for
 * the newest stable one), as Helm picks: a version spelled exactly as asked wins, otherwise the
 * highest that satisfies the range; prereleases only when the range names one. Versions that
 * are not semver are never picked by a range. Undefined when none fits.
 */
export function pickVersion(
  available: readonly string[],
  wanted: string | undefined,
): string | undefined {
  if (wanted !== undefined && wanted !== '' && available.includes(wanted)) return wanted;
  const range = wanted === undefined || wanted === '' ? '*' : wanted;
  const valid = available.filter((v) => semver.valid(v, { loose: true }) !== null);
  try {
    return semver.maxSatisfying(valid, range, { loose: true }) ?? undefined;
  } catch {
    return undefined;
  }
}

/** "1.0.0, 1.1.0, … (12 more)": the highest versions, for messages. */
export function listVersions(available: readonly string[], max = 8): string {
  if (available.length === 0) return 'none';
  const sorted = [...available].sort((a, b) => {
    const va = semver.valid(a, { loose: true });
    const vb = semver.valid(b, { loose: true });
    if (va !== null && vb !== null) return semver.rcompare(va, vb, { loose: true });
    return va !== null ? -1 : vb !== null ? 1 : a < b ? 1 : -1;
  });
  const shown = sorted.slice(0, max).join(', ');
  return sorted.length > max ? `${shown}, … (${sorted.length - max} more)` : shown;
}

/** The entry of chart `chart` at the version `wanted` picks, or a `ChartFetchError` saying why not. */
export function findEntry(
  index: RepoIndex,
  chart: string,
  wanted: string | undefined,
  where: string,
): IndexEntry {
  const entries = index.get(chart);
  if (entries === undefined || entries.length === 0) {
    throw new ChartFetchError(`${where}: the repository has no chart ${JSON.stringify(chart)}`);
  }
  const versions = entries.map((e) => e.version);
  const picked = pickVersion(versions, wanted);
  const entry = entries.find((e) => e.version === picked);
  if (entry === undefined) {
    const asked =
      wanted === undefined || wanted === ''
        ? 'a stable version'
        : `version ${JSON.stringify(wanted)}`;
    throw new ChartFetchError(
      `${where}: chart ${JSON.stringify(chart)} has no ${asked} (available: ${listVersions(versions)})`,
    );
  }
  return entry;
}

/** The URL of an index entry's archive: its first URL, resolved against the repository URL. */
export function archiveUrl(repoUrl: string, entry: IndexEntry): URL {
  const base = repoUrl.endsWith('/') ? repoUrl : `${repoUrl}/`;
  return new URL(entry.urls[0] ?? '', base);
}

/** The index URL of a repository: `<repo>/index.yaml`. */
export function indexUrl(repoUrl: string): URL {
  const base = repoUrl.endsWith('/') ? repoUrl : `${repoUrl}/`;
  return new URL('index.yaml', base);
}

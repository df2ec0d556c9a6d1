// Where a Helm bundle's chart comes from, read from fleet.yaml `helm.chart`, `helm.repo` and
// `helm.version` with Rancher Fleet's meaning. The render path hands non-local sources to the
// chart fetcher (the hub downloads charts; agents never do).
import semver from 'semver';

/**
 * A Helm chart's source:
 * - `path`: a chart directory of the repository, relative to the bundle dir ('' is the bundle
 *   dir itself, Fleet's meaning of an empty or absent `helm.chart`);
 * - `repo`: chart `chart` of the HTTP(S) Helm repository `repo` (its `index.yaml`), at `version`
 *   (exact or a semver range; absent means the newest stable version);
 * - `oci`: an `oci://host/path/chart` reference, at `version` (a tag, or a semver range over the
 *   repository's tags; absent means the newest);
 * - `url`: a chart archive (`.tgz`) at an HTTP(S) URL.
 */
export type HelmChartSource =
  | { kind: 'path'; path: string }
  | { kind: 'repo'; repo: string; chart: string; version?: string }
  | { kind: 'oci'; ref: string; version?: string }
  | { kind: 'url'; url: string };

/** A chart that is not in the repository: fetched by the hub. */
export type RemoteChartSource = Exclude<HelmChartSource, { kind: 'path' }>;

/** A fetched chart, ready for `helm template`. */
export interface FetchedChart {
  /** A local directory holding the unpacked chart (its `Chart.yaml` at the top). */
  dir: string;
  /** The exact version fetched (a range resolved). */
  version: string;
  /** sha256 of the chart archive, part of the revision's identity. */
  digest: string;
}

/**
 * Fetches a remote chart for the bundle named `bundle`; throws `BundleError` when it cannot.
 * The caller owns nothing under `dir` (the fetcher's cache does).
 */
export type ChartFetcher = (source: RemoteChartSource, bundle: string) => Promise<FetchedChart>;

/** The `helm` fields that say where the chart is. */
export interface ChartFields {
  chart?: string;
  repo?: string;
  version?: string;
}

const OCI = /^oci:\/\/[^/\s]+(\/[^/\s]+)+$/;

function httpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `text` is a chart version Fleet accepts: an exact version (`1.2.3`, `v1.2.3`) or a
 * semver range (`^1.2`, `~1.2.0`, `>=1.0.0 <2.0.0`, `1.x`).
 */
export function isChartVersion(text: string): boolean {
  return semver.valid(text, { loose: true }) !== null || semver.validRange(text) !== null;
}

/**
 * Reads the chart source from `helm.chart`, `helm.repo` and `helm.version` as Fleet does:
 * with `repo`, `chart` is the chart's name in that repository (an `oci://` `repo` is the full
 * chart reference, Fleet's HelmOps form); without it, `chart` is an `oci://` reference, an
 * HTTP(S) URL of a chart archive, or a path (empty or absent: the bundle dir). Throws an `Error`
 * whose message names the field (`helm.repo: ...`) when the combination is invalid: a version
 * on a local chart or a URL, a repo without a chart name, a malformed URL or reference, a
 * version that is neither exact nor a semver range, another URL scheme (`git::`, `s3::` ...).
 */
export function chartSource(fields: ChartFields): HelmChartSource {
  const chart = fields.chart ?? '';
  const repo = fields.repo ?? '';
  const version = fields.version === '' ? undefined : fields.version;
  if (version !== undefined && !isChartVersion(version)) {
    throw new Error(
      `helm.version: ${JSON.stringify(version)} is neither a version nor a semver range`,
    );
  }
  if (repo !== '') {
    if (repo.startsWith('oci://')) {
      if (!OCI.test(repo)) {
        throw new Error(
          `helm.repo: ${JSON.stringify(repo)} is not an OCI reference like oci://registry/path/chart`,
        );
      }
      const last = repo.slice(repo.lastIndexOf('/') + 1);
      if (chart !== '' && chart !== last) {
        throw new Error(
          `helm.chart: ${JSON.stringify(chart)} must be empty (or ${JSON.stringify(last)}) when helm.repo is an oci:// reference, which names the chart itself`,
        );
      }
      return { kind: 'oci', ref: repo, ...(version === undefined ? {} : { version }) };
    }
    const url = httpUrl(repo);
    if (url === undefined) {
      throw new Error(
        `helm.repo: ${JSON.stringify(repo)} must be an https:// (or http://) Helm repository URL or an oci:// reference`,
      );
    }
    if (chart === '') {
      throw new Error('helm.chart: is required with helm.repo (the name of the chart in it)');
    }
    if (chart.includes('/') || chart.includes('://')) {
      throw new Error(
        `helm.chart: ${JSON.stringify(chart)} must be the name of a chart in helm.repo, not a path or URL`,
      );
    }
    return { kind: 'repo', repo, chart, ...(version === undefined ? {} : { version }) };
  }
  if (chart.startsWith('oci://')) {
    if (!OCI.test(chart)) {
      throw new Error(
        `helm.chart: ${JSON.stringify(chart)} is not an OCI reference like oci://registry/path/chart`,
      );
    }
    return { kind: 'oci', ref: chart, ...(version === undefined ? {} : { version }) };
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(chart)) {
    throw new Error(
      `helm.chart: ${JSON.stringify(chart)}: go-getter sources are not supported; use a chart path, an https:// .tgz URL, helm.repo or an oci:// reference`,
    );
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(chart)) {
    if (httpUrl(chart) === undefined) {
      throw new Error(
        `helm.chart: ${JSON.stringify(chart)}: only https:// (or http://) chart archive URLs and oci:// references are supported`,
      );
    }
    if (version !== undefined) {
      throw new Error(
        'helm.version: has no meaning for a chart archive URL (the archive is one version); remove it',
      );
    }
    return { kind: 'url', url: chart };
  }
  if (version !== undefined) {
    throw new Error(
      'helm.version: applies to charts from helm.repo or an oci:// reference, not to a chart in the repository',
    );
  }
  return { kind: 'path', path: chart };
}

/** A short description of a chart source for messages (`chart nginx 1.2.x from https://...`). */
export function describeChartSource(source: HelmChartSource): string {
  switch (source.kind) {
    case 'path':
      return `chart ${JSON.stringify(source.path === '' ? '.' : source.path)}`;
    case 'repo':
      return `chart ${source.chart}${source.version === undefined ? '' : ` ${source.version}`} from ${source.repo}`;
    case 'oci':
      return `chart ${source.ref}${source.version === undefined ? '' : ` ${source.version}`}`;
    case 'url':
      return `chart ${source.url}`;
  }
}

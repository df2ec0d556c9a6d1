// The hub's chart fetcher: charts from HTTP(S) Helm repositories (index.yaml), OCI registries
// and .tgz URLs, checked against their digests, kept in a cache keyed by digest. Agents never
// fetch charts; they receive rendered objects.
import type { FetchedChart, RemoteChartSource } from '../bundles/chart-source.js';
import { describeChartSource } from '../bundles/chart-source.js';
import { checkHelmChart } from '../bundles/confine.js';
import { BundleError } from '../bundles/errors.js';
import { DiskTree } from '../bundles/file-tree.js';
import { ChartCache, sha256, type CachedChart } from './chart-cache.js';
import { authorization, credentialFor, type HelmRepoCredentials } from './credentials.js';
import { ChartFetchError } from './errors.js';
import { expectOk, httpGet, safeUrl } from './http.js';
import { OciRepository, parseOciRef } from './oci.js';
import {
  archiveUrl,
  findEntry,
  indexUrl,
  parseRepoIndex,
  pickVersion,
  listVersions,
  type RepoIndex,
} from './repo-index.js';

/** Where the cache is and the limits of what is fetched. */
export interface ChartFetcherOptions {
  /** Cache directory (the hub uses `<dataDir>/helm-charts`). */
  cacheDir: string;
  /** Largest index.yaml; default 64 MiB. */
  maxIndexBytes?: number;
  /** Largest chart archive; default 20 MiB. */
  maxChartBytes?: number;
  /** Largest unpacked chart; default 100 MiB. */
  maxUnpackedBytes?: number;
  /** A request with no data for this long fails; default 30 s. */
  idleTimeoutMs?: number;
}

/** What a GitRepo allows its charts to be fetched with. */
export interface ChartFetchContext {
  credentials: HelmRepoCredentials;
  /** Plain http to repositories and registries (loopback tests, private networks). */
  allowHttp: boolean;
}

/** A fetched chart: where it is unpacked, what it is, and where it came from. */
export interface PinnedChart extends FetchedChart {
  name: string;
  /** Its files, relative to `dir`. */
  files: string[];
  /** The archive's URL, or `oci://registry/repo:tag`. */
  from: string;
}

/**
 * A `ChartFetcher` that says what it fetched (`PinnedChart`); `pinned` is the same without
 * the bundle's name on errors (they are `ChartFetchError`s).
 */
export type SyncChartFetcher = ((
  source: RemoteChartSource,
  bundle: string,
) => Promise<PinnedChart>) & {
  pinned: (source: RemoteChartSource) => Promise<PinnedChart>;
};

const MiB = 1024 * 1024;

/** Fetches remote charts into a cache keyed by digest (see `ChartFetcherOptions`). */
export class HelmChartFetcher {
  private readonly cache: ChartCache;
  private readonly maxIndexBytes: number;
  private readonly maxChartBytes: number;
  private readonly idleTimeoutMs: number;

  constructor(options: ChartFetcherOptions) {
    this.cache = new ChartCache(options.cacheDir, options.maxUnpackedBytes ?? 100 * MiB);
    this.maxIndexBytes = options.maxIndexBytes ?? 64 * MiB;
    this.maxChartBytes = options.maxChartBytes ?? 20 * MiB;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  }

  /**
   * A `ChartFetcher` for one sync of one GitRepo: index files and archive URLs are read once per
   * fetcher (a range resolves the same way for every bundle of the sync), and every failure is a
   * `BundleError` naming the bundle and the chart.
   */
  forSync(context: ChartFetchContext): SyncChartFetcher {
    const indexes = new Map<string, Promise<RepoIndex>>();
    const urls = new Map<string, Promise<PinnedChart>>();
    const pinned = (source: RemoteChartSource): Promise<PinnedChart> => {
      switch (source.kind) {
        case 'repo':
          return this.fromRepo(source, context, indexes);
        case 'oci':
          return this.fromOci(source, context);
        case 'url': {
          let found = urls.get(source.url);
          if (found === undefined) {
            found = this.fromUrl(new URL(source.url), context, undefined);
            urls.set(source.url, found);
          }
          return found;
        }
      }
    };
    const fetcher = async (source: RemoteChartSource, bundle: string): Promise<PinnedChart> => {
      try {
        const chart = await pinned(source);
        await checkFetched(chart);
        return chart;
      } catch (err) {
        const reason =
          err instanceof ChartFetchError
            ? err.message
            : `unexpected error: ${(err as Error).message}`;
        throw new BundleError(
          `${bundle}: cannot fetch ${describeChartSource(source)}: ${reason}`,
          { bundle },
          { cause: err },
        );
      }
    };
    return Object.assign(fetcher, { pinned });
  }

  private readIndex(
    repo: string,
    context: ChartFetchContext,
    indexes: Map<string, Promise<RepoIndex>>,
  ): Promise<RepoIndex> {
    let found = indexes.get(repo);
    if (found === undefined) {
      found = (async () => {
        const url = indexUrl(repo);
        const credential = credentialFor(url.toString(), context.credentials);
        const auth = authorization(credential);
        const res = await httpGet(url, {
          headers: auth === undefined ? {} : { authorization: auth },
          ca: credential?.caBundle,
          maxBytes: this.maxIndexBytes,
          allowHttp: context.allowHttp,
          idleTimeoutMs: this.idleTimeoutMs,
          what: 'index.yaml',
        });
        expectOk(res, `repository ${safeUrl(repo)}`);
        return parseRepoIndex(res.body.toString('utf8'), `repository ${safeUrl(repo)}`);
      })();
      indexes.set(repo, found);
      found.catch(() => indexes.delete(repo));
    }
    return found;
  }

  private async fromRepo(
    source: Extract<RemoteChartSource, { kind: 'repo' }>,
    context: ChartFetchContext,
    indexes: Map<string, Promise<RepoIndex>>,
  ): Promise<PinnedChart> {
    const index = await this.readIndex(source.repo, context, indexes);
    const entry = findEntry(
      index,
      source.chart,
      source.version,
      `repository ${safeUrl(source.repo)}`,
    );
    const url = archiveUrl(source.repo, entry);
    if (entry.digest !== undefined) {
      const cached = await this.cache.get(entry.digest);
      if (cached !== undefined) return pin(cached, url.toString());
    }
    // The repository's credential goes to its own origin only (helm's default, no
    // --pass-credentials), unless another prefix names the archive's URL.
    const sameOrigin = url.origin === new URL(source.repo).origin;
    return this.fromUrl(url, context, entry.digest, sameOrigin ? source.repo : undefined);
  }

  private async fromUrl(
    url: URL,
    context: ChartFetchContext,
    digest: string | undefined,
    repo?: string,
  ): Promise<PinnedChart> {
    const credential =
      credentialFor(url.toString(), context.credentials) ??
      (repo === undefined ? undefined : credentialFor(repo, context.credentials));
    const auth = authorization(credential);
    const res = await httpGet(url, {
      headers: auth === undefined ? {} : { authorization: auth },
      ca: credential?.caBundle,
      maxBytes: this.maxChartBytes,
      allowHttp: context.allowHttp,
      idleTimeoutMs: this.idleTimeoutMs,
      what: 'chart archive',
    });
    expectOk(res, 'chart archive');
    const actual = sha256(res.body);
    if (digest !== undefined && actual !== digest) {
      throw new ChartFetchError(
        `${safeUrl(url)}: the archive's sha256 is ${actual}, the repository index says ${digest}`,
      );
    }
    return pin(await this.cache.put(res.body, safeUrl(url)), safeUrl(url));
  }

  private async fromOci(
    source: Extract<RemoteChartSource, { kind: 'oci' }>,
    context: ChartFetchContext,
  ): Promise<PinnedChart> {
    const ref = parseOciRef(source.ref);
    const where = `oci://${ref.registry}/${ref.repository}`;
    const credential = credentialFor(where, context.credentials);
    const repo = new OciRepository(ref, {
      credential,
      allowHttp: context.allowHttp,
      idleTimeoutMs: this.idleTimeoutMs,
      maxManifestBytes: 4 * MiB,
      maxChartBytes: this.maxChartBytes,
    });
    let tag: string;
    if (ref.tag !== undefined) {
      if (source.version !== undefined && source.version !== ref.tag.replaceAll('_', '+')) {
        throw new ChartFetchError(
          `${source.ref}: the reference's tag differs from helm.version ${JSON.stringify(source.version)}`,
        );
      }
      tag = ref.tag;
    } else if (
      source.version !== undefined &&
      /^v?\d+\.\d+\.\d+([-+][\w.+-]*)?$/.test(source.version)
    ) {
      // An exact version is a tag (`+` is not allowed in tags: Helm writes `_`).
      tag = source.version.replaceAll('+', '_');
    } else {
      const tags = await repo.tags();
      const versions = tags.map((t) => t.replaceAll('_', '+'));
      const picked = pickVersion(versions, source.version);
      if (picked === undefined) {
        const asked =
          source.version === undefined
            ? 'a stable version'
            : `version ${JSON.stringify(source.version)}`;
        throw new ChartFetchError(`${where}: has no ${asked} (tags: ${listVersions(versions)})`);
      }
      tag = picked.replaceAll('+', '_');
    }
    const layer = await repo.chartLayer(tag);
    const from = `${where}:${tag}`;
    const cached = await this.cache.get(layer.digest);
    if (cached !== undefined) return pin(cached, from);
    const blob = await repo.blob(layer.digest);
    if (sha256(blob) !== layer.digest) {
      throw new ChartFetchError(
        `${from}: the chart blob does not match its digest sha256:${layer.digest}`,
      );
    }
    return pin(await this.cache.put(blob, from), from);
  }
}

function pin(chart: CachedChart, from: string): PinnedChart {
  const { dir, name, version, digest, files } = chart;
  return { dir, name, version, digest, files, from };
}

/**
 * The checks a chart of the repository gets (`checkHelmChart`), on a fetched chart: no
 * `values.schema.json` (also in its subcharts) loading from the network or the hub's disk, no
 * `file://` dependency leaving the chart.
 */
async function checkFetched(chart: PinnedChart): Promise<void> {
  const at = `chart ${chart.name} ${chart.version}`;
  try {
    await checkHelmChart(new DiskTree(chart.dir), { name: at, dir: '', files: chart.files }, '');
  } catch (err) {
    if (err instanceof BundleError) throw new ChartFetchError(err.message);
    throw err;
  }
}

// Charts from where charts live: HTTP(S) Helm repositories, OCI registries and .tgz URLs,
// fetched by the hub (never by agents), verified, and cached by digest.

/** The fetcher, its options and what it returns. */
export { HelmChartFetcher } from './chart-fetcher.js';
export type {
  ChartFetchContext,
  ChartFetcherOptions,
  PinnedChart,
  SyncChartFetcher,
} from './chart-fetcher.js';
/** The on-disk cache of unpacked charts. */
export { ChartCache, sha256, unpackChart } from './chart-cache.js';
export type { CachedChart } from './chart-cache.js';
/** Per-GitRepo credentials keyed by URL prefix. */
export { authorization, credentialFor, helmCredentialsProblem } from './credentials.js';
export type { HelmRepoCredential, HelmRepoCredentials } from './credentials.js';
/** Why a chart could not be fetched. */
export { ChartFetchError } from './errors.js';
/** Repository index files and version picking. */
export {
  archiveUrl,
  findEntry,
  indexUrl,
  listVersions,
  parseRepoIndex,
  pickVersion,
} from './repo-index.js';
export type { IndexEntry, RepoIndex } from './repo-index.js';
/** The OCI Distribution API subset Helm uses. */
export { HELM_MEDIA_TYPES, OciRepository, parseOciRef } from './oci.js';
export type { OciRef } from './oci.js';
/** The remote charts a bundle may render from. */
export { chartSourcesOf } from './bundle-charts.js';
export type { ChartsOfFleet } from './bundle-charts.js';
/** Chart.yaml dependencies from repositories, fetched as `helm dependency build` would. */
export { withChartDependencies } from './dependencies.js';
export type { WithDependencies } from './dependencies.js';

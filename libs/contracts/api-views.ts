/**
 * The shapes of the REST API's responses that clients read: the hub's handlers are typed against
 * them and the web dashboard (`web/`) imports them, so both sides share one definition. Plain
 * types only (no imports), so a browser bundle can use them.
 */

/** A page of a list: `continue` is the token for the next page, absent on the last. */
export interface PageView<T> {
  items: T[];
  continue?: string;
}

/** A cluster as REST returns it. */
export interface ClusterView {
  name: string;
  labels: Record<string, string>;
  state: string;
  lastSeen: string | null;
  agentVersion: string | null;
  kubernetesVersion: string | null;
  createdAt: string;
}

/** Cluster counts by connection state. */
export interface ClusterCounts {
  total: number;
  online: number;
  offline: number;
  pending: number;
}

/** A deployment (one bundle on one cluster) as the API shows it. */
export interface DeploymentView {
  bundle: string;
  cluster: string;
  commit: string | null;
  desiredRevision: string | null;
  appliedRevision: string | null;
  state: string;
  message: string;
  resources: unknown[];
  reportedAt: string | null;
}

/** A cluster with its deployments (`GET /api/v1/clusters/{name}`). */
export type ClusterDetailView = ClusterView & { deployments: DeploymentView[] };

/** Fleet-wide status (`GET /api/v1/status`). */
export interface FleetStatusView {
  clusters: ClusterCounts;
  deployments: { total: number; byState: Record<string, number> };
  /**
   * Worst first; `drift` is what changed out of band in one line (see `driftSummary` in
   * libs/status), on Modified deployments only.
   */
  nonReady: { cluster: string; bundle: string; state: string; message: string; drift?: string }[];
  /**
   * When the counts were computed (ISO 8601): the hub computes them at most once a second and
   * serves the last result, so they may be up to about a second (more under load) old.
   */
  computedAt: string;
}

/** Deployments counted by state. */
export interface SummaryView {
  desired: number;
  ready: number;
  byState: Record<string, number>;
  /** When the counts were computed (ISO 8601; see `FleetStatusView.computedAt`). */
  computedAt?: string;
}

/** A GitRepo with its sync status (`GET /api/v1/gitrepos`). */
export interface GitRepoView {
  name: string;
  url: string;
  branch: string | null;
  revision: string | null;
  paths: string[];
  pollingInterval: string;
  targets: {
    clusterSelector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
    clusterGroup?: string;
    clusterName?: string;
  }[];
  /** How the hub authenticates to Git: `token`, `basic`, or null (none). */
  auth: 'token' | 'basic' | null;
  webhookSecret: 'set' | null;
  helmRepoCredentials: Record<string, string> | null;
  helmAllowHttp: boolean;
  createdAt: string;
  generation: number;
  status: {
    commit: string | null;
    lastSyncedAt: string | null;
    lastChangedAt: string | null;
    error: string | null;
    warnings: { reason: string; message: string }[];
    bundles: string[];
    bundleErrors: { bundle: string; commit: string | null; message: string | null }[];
    summary: SummaryView;
  };
}

/** A bundle in a list (`GET /api/v1/bundles`). */
export interface BundleListItemView {
  name: string;
  gitrepo: string;
  kind: string;
  commit: string | null;
  error: string | null;
  summary: SummaryView;
}

/** A bundle's variant at its commit: the revision it renders and the clusters asked to run it. */
export interface VariantView {
  key: string;
  revision: string;
  clusters: string[];
}

/** A bundle with its variants and deployments (`GET /api/v1/bundles/{name}`). */
export interface BundleDetailView extends BundleListItemView {
  dir: string;
  errorCommit: string | null;
  revisions: string[];
  variants: VariantView[];
  deployments: {
    cluster: string;
    state: string;
    message: string;
    commit: string | null;
    desiredRevision: string | null;
    appliedRevision: string | null;
    reportedAt: string | null;
  }[];
}

/** One cluster of a rollout stage. */
export interface RolloutClusterView {
  name: string;
  state: string;
  reason?: string;
  releasedAt: string | null;
  readySince: string | null;
}

/** One stage of a rollout. */
export interface RolloutStageView {
  name: string;
  state: string;
  approved: boolean;
  /** How long all its clusters must be Ready before the next stage starts (ms; 0: none). */
  bakeTimeMs: number;
  /** Whether the stage waits for an operator's promote. */
  requireApproval: boolean;
  startedAt: string | null;
  bakedSince: string | null;
  clusters: RolloutClusterView[];
}

/** A rollout: stages with their clusters, failures, timestamps (`GET /api/v1/rollouts`). */
export interface RolloutView {
  id: string;
  bundle: string;
  fromCommit: string | null;
  toCommit: string;
  state: string;
  reason: string | null;
  /** Failed clusters counted against the strategy's maxFailures. */
  failures: number;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  stages: RolloutStageView[];
  unmatched: string[];
}

/** One entry of a rollout's audit trail. */
export interface RolloutAuditView {
  at: string;
  actor: string;
  action: string;
  from: string | null;
  to: string | null;
  cluster?: string;
  reason?: string;
  [detail: string]: unknown;
}

/** A rollout with its audit trail (`GET /api/v1/rollouts/{id}`). */
export type RolloutDetailView = RolloutView & { audit: RolloutAuditView[] };

/** Who the caller is (`GET /api/v1/whoami`); role null when the hub runs without authentication. */
export interface WhoamiView {
  name: string | null;
  role: 'viewer' | 'operator' | 'admin' | null;
  /** Whether the hub checks API tokens at all. */
  authEnabled: boolean;
}

/** One row of the fleet matrix: a cluster, or a group of clusters sharing a label value. */
export interface MatrixRowView {
  /** The cluster's name, or the label value of the group (`(none)` when a cluster lacks it). */
  key: string;
  clusters: number;
  /** Per bundle (same order as `bundles`): deployments by state; empty when none there. */
  cells: Record<string, number>[];
}

/** The clusters × bundles matrix, aggregated (`GET /api/v1/fleet/matrix`). */
export interface FleetMatrixView {
  /** The label key rows are grouped by; null: one row per cluster. */
  groupBy: string | null;
  bundles: string[];
  /** Clusters that matched the selector and the search. */
  clusters: number;
  rows: MatrixRowView[];
}

/** What the live stream (`GET /api/v1/events`, server-sent events) says changed. */
export interface LiveEventView {
  kind: 'cluster' | 'deployment' | 'gitrepo' | 'bundle' | 'rollout' | 'group';
  name: string;
  at: string;
}

import { z } from 'zod';
import {
  type ClusterEvent,
  ClusterEventType,
  type GitRepoEvent,
  GitRepoEventType,
  type RolloutChangeEvent,
  RolloutChangeType,
} from '../contracts/events.js';
import { RolloutState } from '../contracts/rollouts.js';

/** Kinds of notification events a rule can select. */
export const NotificationEventKind = {
  /** A rollout was started for a new commit or revision of a bundle. */
  RolloutStarted: 'RolloutStarted',
  /** A stage of a rollout completed. */
  RolloutStageDone: 'RolloutStageDone',
  /** A rollout was paused (by an operator or its strategy). */
  RolloutPaused: 'RolloutPaused',
  /** A rollout failed (or was aborted). */
  RolloutFailed: 'RolloutFailed',
  /** A rollout was rolled back. */
  RolloutRolledBack: 'RolloutRolledBack',
  /** A rollout reached every targeted cluster. */
  RolloutSucceeded: 'RolloutSucceeded',
  /** A bundle's commit is being deployed to its clusters (not every cluster Ready yet). */
  BundleProgressing: 'BundleProgressing',
  /** Every cluster a bundle targets runs its commit and reports Ready. */
  BundleReady: 'BundleReady',
  /** A cluster failed to apply a bundle's commit. */
  BundleFailed: 'BundleFailed',
  /** A cluster reports that objects of a bundle were changed outside Git (Modified). */
  DriftDetected: 'DriftDetected',
  /** A GitRepo synced, but some of its bundles failed to parse or render. */
  BundleRenderError: 'BundleRenderError',
  /** A GitRepo could not be fetched or resolved. */
  GitRepoFetchError: 'GitRepoFetchError',
  /** A cluster's heartbeat lease lapsed. */
  ClusterOffline: 'ClusterOffline',
  /** A cluster came back (or connected for the first time). */
  ClusterOnline: 'ClusterOnline',
} as const;
export type NotificationEventKind =
  (typeof NotificationEventKind)[keyof typeof NotificationEventKind];
export const notificationEventKinds = Object.values(NotificationEventKind) as [
  NotificationEventKind,
  ...NotificationEventKind[],
];

/** How bad an event is, least first; a rule's `severity` is the least it forwards. */
export const Severity = { Info: 'info', Warning: 'warning', Error: 'error' } as const;
export type Severity = (typeof Severity)[keyof typeof Severity];
export const severities = Object.values(Severity) as [Severity, ...Severity[]];

/** Rank of a severity: a higher one is worse. */
export function severityRank(s: Severity): number {
  return severities.indexOf(s);
}

/** What is notified: built from a hub event, stored in the outbox, rendered per target. */
export const NotificationEventSchema = z.object({
  /** Stable id: the same hub event gives the same id on every replica (idempotent outbox). */
  id: z.string().min(1),
  kind: z.enum(notificationEventKinds),
  severity: z.enum(severities),
  message: z.string(),
  /** ISO time of the hub event. */
  at: z.string(),
  gitrepo: z.string().optional(),
  bundle: z.string().optional(),
  cluster: z.string().optional(),
  /** Labels of `cluster` (rules' cluster selectors match them). */
  clusterLabels: z.record(z.string(), z.string()).optional(),
  commit: z.string().optional(),
  rollout: z.string().optional(),
});
export type NotificationEvent = z.infer<typeof NotificationEventSchema>;

const rolloutStateKinds: Partial<Record<RolloutState, [NotificationEventKind, Severity]>> = {
  [RolloutState.Paused]: [NotificationEventKind.RolloutPaused, Severity.Warning],
  [RolloutState.Failed]: [NotificationEventKind.RolloutFailed, Severity.Error],
  [RolloutState.Aborted]: [NotificationEventKind.RolloutFailed, Severity.Error],
  [RolloutState.RolledBack]: [NotificationEventKind.RolloutRolledBack, Severity.Error],
  [RolloutState.Succeeded]: [NotificationEventKind.RolloutSucceeded, Severity.Info],
};

/**
 * The notification events of a rollout change: its start, each stage that completed, and the
 * rollout's new state when it is one worth telling (paused, failed, rolled back, succeeded).
 */
export function fromRolloutChange(
  e: RolloutChangeEvent,
  gitrepo: string | undefined,
): NotificationEvent[] {
  const base = {
    at: e.at,
    bundle: e.bundle,
    commit: e.toCommit,
    rollout: e.id,
    ...(gitrepo === undefined ? {} : { gitrepo }),
  };
  const out: NotificationEvent[] = [];
  if (e.type === RolloutChangeType.RolloutCreated) {
    out.push({
      ...base,
      id: `rollout:${e.id}:started`,
      kind: NotificationEventKind.RolloutStarted,
      severity: Severity.Info,
      message: `rollout of bundle ${e.bundle} to commit ${short(e.toCommit)} started`,
    });
  }
  for (const t of e.events) {
    if (t.type === 'StageStateChanged' && t.stage !== undefined && t.to === 'Succeeded') {
      out.push({
        ...base,
        id: `rollout:${e.id}:stage:${t.stage}:done`,
        kind: NotificationEventKind.RolloutStageDone,
        severity: Severity.Info,
        message: `rollout of bundle ${e.bundle}: stage ${t.stage} done`,
      });
    }
  }
  const stateChanged = e.events.some((t) => t.type === 'RolloutStateChanged' && t.to === e.state);
  const kind = rolloutStateKinds[e.state];
  if (kind !== undefined && (stateChanged || e.type === RolloutChangeType.RolloutCreated)) {
    const reason = e.events.find(
      (t) => t.type === 'RolloutStateChanged' && t.to === e.state,
    )?.reason;
    out.push({
      ...base,
      id: `rollout:${e.id}:${e.state}:${e.at}`,
      kind: kind[0],
      severity: kind[1],
      message:
        `rollout of bundle ${e.bundle} to commit ${short(e.toCommit)}: ${e.state}` +
        (reason === undefined ? '' : ` (${reason})`),
    });
  }
  return out;
}

/** The notification event of a cluster going Online or Offline; none for other cluster events. */
export function fromClusterEvent(e: ClusterEvent): NotificationEvent[] {
  if (e.type !== ClusterEventType.StateChanged || e.previousState === e.cluster.state) return [];
  const base = { at: e.at, cluster: e.cluster.name, clusterLabels: e.cluster.labels };
  if (e.cluster.state === 'Offline') {
    return [
      {
        ...base,
        id: `cluster:${e.cluster.name}:Offline:${e.at}`,
        kind: NotificationEventKind.ClusterOffline,
        severity: Severity.Warning,
        message: `cluster ${e.cluster.name} is offline (last seen ${e.cluster.lastSeen ?? 'never'})`,
      },
    ];
  }
  if (e.cluster.state === 'Online') {
    return [
      {
        ...base,
        id: `cluster:${e.cluster.name}:Online:${e.at}`,
        kind: NotificationEventKind.ClusterOnline,
        severity: Severity.Info,
        message: `cluster ${e.cluster.name} is online`,
      },
    ];
  }
  return [];
}

/** The notification event of a failed GitRepo sync, or of a sync that left bundle errors. */
export function fromGitRepoEvent(e: GitRepoEvent, at: string): NotificationEvent[] {
  if (e.type === GitRepoEventType.SyncFailed) {
    return [
      {
        id: `gitrepo:${e.gitrepo}:SyncFailed:${at}`,
        kind: NotificationEventKind.GitRepoFetchError,
        severity: Severity.Error,
        message: `GitRepo ${e.gitrepo} could not be synced: ${e.error}`,
        at,
        gitrepo: e.gitrepo,
      },
    ];
  }
  if (e.type === GitRepoEventType.Synced && e.error !== undefined && e.error !== '') {
    return [
      {
        id: `gitrepo:${e.gitrepo}:${e.commit}:error`,
        kind: NotificationEventKind.BundleRenderError,
        severity: Severity.Error,
        message: `GitRepo ${e.gitrepo} at ${short(e.commit)}: ${e.error}`,
        at,
        gitrepo: e.gitrepo,
        commit: e.commit,
      },
    ];
  }
  return [];
}

/** Where a bundle's commit stands on the clusters it targets. */
export const BundleProgress = {
  Progressing: 'Progressing',
  Ready: 'Ready',
  Failed: 'Failed',
} as const;
export type BundleProgress = (typeof BundleProgress)[keyof typeof BundleProgress];

/** The deployments of one bundle, as the hub stores them. */
export interface BundleDeployment {
  cluster: string;
  /** The commit Git asks the cluster to run (null when it is no longer targeted). */
  targetCommit: string | null;
  /** The commit the cluster was told to run. */
  desiredCommit: string | null;
  state: string;
}

/**
 * Where `commit` of a bundle stands: Failed when a targeted cluster failed to apply it, Ready
 * when every targeted cluster runs it and is Ready, Progressing otherwise; null when no cluster
 * is targeted at that commit.
 */
export function bundleProgress(
  deployments: readonly BundleDeployment[],
  commit: string,
): BundleProgress | null {
  const targeted = deployments.filter((d) => d.targetCommit === commit);
  if (targeted.length === 0) return null;
  const atCommit = (d: BundleDeployment) => d.desiredCommit === commit;
  if (targeted.some((d) => atCommit(d) && d.state === 'ErrApplied')) return BundleProgress.Failed;
  if (targeted.every((d) => atCommit(d) && d.state === 'Ready')) return BundleProgress.Ready;
  return BundleProgress.Progressing;
}

/** The notification event for a bundle's progress at a commit (one per progress and commit). */
export function fromBundleProgress(input: {
  bundle: string;
  gitrepo: string;
  commit: string;
  progress: BundleProgress;
  at: string;
}): NotificationEvent {
  const kinds: Record<BundleProgress, [NotificationEventKind, Severity, string]> = {
    Progressing: [NotificationEventKind.BundleProgressing, Severity.Info, 'is rolling out'],
    Ready: [NotificationEventKind.BundleReady, Severity.Info, 'is Ready on every targeted cluster'],
    Failed: [NotificationEventKind.BundleFailed, Severity.Error, 'failed to apply'],
  };
  const [kind, severity, text] = kinds[input.progress];
  return {
    id: `bundle:${input.bundle}:${input.commit}:${input.progress}`,
    kind,
    severity,
    message: `bundle ${input.bundle} at commit ${short(input.commit)} ${text}`,
    at: input.at,
    gitrepo: input.gitrepo,
    bundle: input.bundle,
    commit: input.commit,
  };
}

/** The notification event of a cluster reporting drift (Modified) of a bundle. */
export function driftEvent(input: {
  bundle: string;
  gitrepo: string;
  cluster: string;
  clusterLabels: Record<string, string>;
  at: string;
}): NotificationEvent {
  return {
    id: `drift:${input.bundle}:${input.cluster}:${input.at}`,
    kind: NotificationEventKind.DriftDetected,
    severity: Severity.Warning,
    message: `cluster ${input.cluster}: objects of bundle ${input.bundle} were changed outside Git (drift)`,
    at: input.at,
    gitrepo: input.gitrepo,
    bundle: input.bundle,
    cluster: input.cluster,
    clusterLabels: input.clusterLabels,
  };
}

/** The state a commit status reports for an event, or null when the event sets none. */
export function commitStateOf(e: NotificationEvent): 'pending' | 'success' | 'failure' | null {
  switch (e.kind) {
    case NotificationEventKind.RolloutStarted:
    case NotificationEventKind.RolloutPaused:
    case NotificationEventKind.BundleProgressing:
      return 'pending';
    case NotificationEventKind.RolloutSucceeded:
    case NotificationEventKind.BundleReady:
      return 'success';
    case NotificationEventKind.RolloutFailed:
    case NotificationEventKind.RolloutRolledBack:
    case NotificationEventKind.BundleFailed:
      return 'failure';
    // A stage done says nothing new of the commit (still pending), and may be told after the
    // last cluster's Ready set `success`: it must not turn that back to `pending`.
    case NotificationEventKind.RolloutStageDone:
    case NotificationEventKind.DriftDetected:
    case NotificationEventKind.BundleRenderError:
    case NotificationEventKind.GitRepoFetchError:
    case NotificationEventKind.ClusterOffline:
    case NotificationEventKind.ClusterOnline:
      return null;
  }
}

function short(commit: string): string {
  return commit.slice(0, 12);
}

import { z } from 'zod';
import { RolloutState } from './rollouts.js';
import { clusterStates } from './states.js';

/**
 * Hub-internal change events on `flotilla.events.<kind>.<name>`: their names and payloads. A
 * subscriber parses what it receives with the schema of its kind and ignores what does not parse.
 */

/** Kinds of `flotilla.events.cluster.<name>` events. */
export const ClusterEventType = {
  /** A cluster was registered (by a manager or its agent). */
  Registered: 'Registered',
  /** A cluster's labels were replaced. */
  Updated: 'Updated',
  /** A cluster's liveness changed (Pending, Online, Offline), from its heartbeats. */
  StateChanged: 'StateChanged',
  /** A cluster was deleted. */
  Deleted: 'Deleted',
} as const;
export type ClusterEventType = (typeof ClusterEventType)[keyof typeof ClusterEventType];

/** Published on `flotilla.events.cluster.<name>` whenever a cluster is created, changed or deleted. */
export const ClusterEventSchema = z.object({
  type: z.enum(ClusterEventType),
  cluster: z.object({
    name: z.string(),
    labels: z.record(z.string(), z.string()),
    state: z.enum(clusterStates as [string, ...string[]]),
    lastSeen: z.string().nullable(),
  }),
  previousState: z.string().nullable(),
  at: z.string(),
});
export type ClusterEvent = z.infer<typeof ClusterEventSchema>;

/** The `flotilla.events.cluster.<name>` event for a change of `cluster`. */
export function clusterEvent(
  type: ClusterEventType,
  cluster: { name: string; labels: Record<string, string>; state: string; lastSeen: Date | null },
  previousState: string | null = null,
): ClusterEvent {
  return {
    type,
    cluster: {
      name: cluster.name,
      labels: cluster.labels,
      state: cluster.state,
      lastSeen: cluster.lastSeen?.toISOString() ?? null,
    },
    previousState,
    at: new Date().toISOString(),
  };
}

/**
 * Whether a cluster event can change which bundles target which clusters: targeting depends on
 * the clusters that exist and their labels (group membership too is a matter of labels), never
 * on their liveness.
 */
export function changesTargeting(type: ClusterEventType): boolean {
  switch (type) {
    case ClusterEventType.Registered:
    case ClusterEventType.Updated:
    case ClusterEventType.Deleted:
      return true;
    case ClusterEventType.StateChanged:
      return false;
  }
}

/** Kinds of `flotilla.events.group.<name>` events. */
export const GroupEventType = {
  /** A cluster group was created or its selector replaced. */
  Changed: 'Changed',
  /** A cluster group was deleted. */
  Deleted: 'Deleted',
} as const;
export type GroupEventType = (typeof GroupEventType)[keyof typeof GroupEventType];

/** Published on `flotilla.events.group.<name>` when a cluster group is created, changed or deleted. */
export const GroupEventSchema = z.object({
  type: z.enum(GroupEventType),
  group: z.string(),
  at: z.string(),
});
export type GroupEvent = z.infer<typeof GroupEventSchema>;

/** Kinds of `flotilla.events.gitrepo.<name>` events. */
export const GitRepoEventType = {
  /** A GitRepo was created or its spec replaced (API): the resolver syncs it. */
  Changed: 'Changed',
  /** A sync was asked for (API or a push webhook): the resolver syncs it. */
  SyncRequested: 'SyncRequested',
  /** A GitRepo was deleted (API): its bundles leave every cluster. */
  Deleted: 'Deleted',
  /** The resolver synced it at `commit`; `error` holds the GitRepo's problems, if any. */
  Synced: 'Synced',
  /** The resolver could not sync it (fetch or resolution failed); `error` says why. */
  SyncFailed: 'SyncFailed',
} as const;
export type GitRepoEventType = (typeof GitRepoEventType)[keyof typeof GitRepoEventType];

/** Published on `flotilla.events.gitrepo.<name>` by the API, webhooks and the resolver. */
export const GitRepoEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.enum([
      GitRepoEventType.Changed,
      GitRepoEventType.SyncRequested,
      GitRepoEventType.Deleted,
    ]),
    gitrepo: z.string(),
    at: z.string(),
  }),
  z.object({
    type: z.literal(GitRepoEventType.Synced),
    gitrepo: z.string(),
    commit: z.string(),
    error: z.string().optional(),
  }),
  z.object({
    type: z.literal(GitRepoEventType.SyncFailed),
    gitrepo: z.string(),
    error: z.string(),
  }),
]);
export type GitRepoEvent = z.infer<typeof GitRepoEventSchema>;

/** The event the API and webhooks publish about `gitrepo`. */
export function gitRepoEvent(
  type:
    | typeof GitRepoEventType.Changed
    | typeof GitRepoEventType.SyncRequested
    | typeof GitRepoEventType.Deleted,
  gitrepo: string,
): GitRepoEvent {
  return { type, gitrepo, at: new Date().toISOString() };
}

/** Kinds of `flotilla.events.bundle.<token>` events. */
export const BundleEventType = {
  /** The resolver changed what Git asks clusters to run of the bundle: delivery acts on it. */
  TargetsChanged: 'TargetsChanged',
} as const;
export type BundleEventType = (typeof BundleEventType)[keyof typeof BundleEventType];

/**
 * Published on `flotilla.events.bundle.<token>` (the name with the characters a subject token
 * may not hold replaced): the payload carries the bundle's real name.
 */
export const BundleEventSchema = z.object({
  type: z.literal(BundleEventType.TargetsChanged),
  bundle: z.string().min(1),
  /**
   * The sync that resolved the bundle, when one did: delivery keeps what the sync's bundles
   * change for each cluster until the sync has announced its last bundle
   * ({@link SyncAnnouncedEvent}), so that an agent gets the whole commit in one message.
   */
  sync: z.string().min(1).optional(),
});
export type BundleEvent = z.infer<typeof BundleEventSchema>;

/** Kinds of `flotilla.events.sync.<gitrepo>` events. */
export const SyncEventType = {
  /** A sync announced every bundle it changed (TargetsChanged events carrying its id). */
  SyncAnnounced: 'SyncAnnounced',
} as const;

/**
 * Published on `flotilla.events.sync.<gitrepo token>` after the last TargetsChanged event of a
 * sync: `bundles` are those it announced. Delivery sends the desired state their passes wrote
 * once those passes have run.
 */
export const SyncAnnouncedEventSchema = z.object({
  type: z.literal(SyncEventType.SyncAnnounced),
  sync: z.string().min(1),
  gitrepo: z.string(),
  bundles: z.array(z.string()),
});
export type SyncAnnouncedEvent = z.infer<typeof SyncAnnouncedEventSchema>;

/** Kinds of `flotilla.events.deployment.<cluster>` events. */
export const DeploymentEventType = {
  /** Deployments of one cluster changed state: every deployment one write changed. */
  DeploymentsChanged: 'DeploymentsChanged',
  /** One deployment changed state (what earlier hubs published). */
  DeploymentChanged: 'DeploymentChanged',
} as const;
export type DeploymentEventType = (typeof DeploymentEventType)[keyof typeof DeploymentEventType];

/**
 * Published on `flotilla.events.deployment.<cluster>` when status reports (or an agent's sync)
 * changed deployments of that cluster: every deployment one write changed, in one event.
 */
export const DeploymentsChangedEventSchema = z.object({
  type: z.literal(DeploymentEventType.DeploymentsChanged),
  cluster: z.string(),
  deployments: z.array(z.object({ bundle: z.string(), state: z.string() })),
  at: z.string(),
});
export type DeploymentsChangedEvent = z.infer<typeof DeploymentsChangedEventSchema>;

/** One deployment whose reported state changed. */
export interface DeploymentChange {
  bundle: string;
  cluster: string;
  state: string;
  at: string;
}

/**
 * What a subscriber accepts on `flotilla.events.deployment.<cluster>`: a
 * {@link DeploymentsChangedEvent} whose entries are read one by one (one without a bundle is
 * skipped, not the event), or the single event of earlier hubs.
 */
const ReceivedDeploymentEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal(DeploymentEventType.DeploymentsChanged),
    cluster: z.string(),
    deployments: z.array(z.unknown()),
    at: z.string().optional(),
  }),
  z.object({
    type: z.literal(DeploymentEventType.DeploymentChanged),
    cluster: z.string(),
    bundle: z.string(),
    state: z.unknown().optional(),
    at: z.string().optional(),
  }),
]);
const ReceivedDeploymentSchema = z.object({ bundle: z.string(), state: z.unknown().optional() });

/** The deployments a `flotilla.events.deployment.<cluster>` event is about; anything else is about none. */
export function deploymentChangesOf(event: unknown): DeploymentChange[] {
  const parsed = ReceivedDeploymentEventSchema.safeParse(event);
  if (!parsed.success) return [];
  const e = parsed.data;
  const at = e.at ?? new Date().toISOString();
  if (e.type === DeploymentEventType.DeploymentChanged) {
    return [{ bundle: e.bundle, cluster: e.cluster, state: String(e.state), at }];
  }
  return e.deployments.flatMap((d) => {
    const entry = ReceivedDeploymentSchema.safeParse(d);
    return entry.success
      ? [{ bundle: entry.data.bundle, cluster: e.cluster, state: String(entry.data.state), at }]
      : [];
  });
}

/** Kinds of `flotilla.events.rollout.<id>` events. */
export const RolloutChangeType = {
  /** A rollout was started (a new commit or revision of a bundle with a `rolloutStrategy`). */
  RolloutCreated: 'RolloutCreated',
  /** A rollout's record changed: its state, or transitions of its stages and clusters. */
  RolloutChanged: 'RolloutChanged',
} as const;
export type RolloutChangeType = (typeof RolloutChangeType)[keyof typeof RolloutChangeType];

/** One transition of a rollout, its stages or clusters, as the rollout controller recorded it. */
export const RolloutTransitionSchema = z.object({
  type: z.string(),
  stage: z.string().optional(),
  cluster: z.string().optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  reason: z.string().optional(),
  /** The operator, when an action caused it. */
  by: z.string().optional(),
  at: z.number().optional(),
});
export type RolloutTransition = z.infer<typeof RolloutTransitionSchema>;

/**
 * Published on `flotilla.events.rollout.<id>` when a rollout is created or changes: every
 * replica follows from them which bundles roll out, and `rollout watch` shows the changes.
 */
export const RolloutChangeEventSchema = z.object({
  type: z.enum(RolloutChangeType),
  id: z.string(),
  bundle: z.string(),
  state: z.enum(RolloutState),
  toCommit: z.string(),
  events: z.array(RolloutTransitionSchema),
  at: z.string(),
});
export type RolloutChangeEvent = z.infer<typeof RolloutChangeEventSchema>;

/** The `flotilla.events.rollout.<id>` event for a change of `rollout`, with its transitions. */
export function rolloutChangeEvent(
  type: RolloutChangeType,
  rollout: { id: string; bundle: string; state: RolloutState; toCommit: string },
  events: RolloutTransition[] = [],
): RolloutChangeEvent {
  return {
    type,
    id: rollout.id,
    bundle: rollout.bundle,
    state: rollout.state,
    toCommit: rollout.toCommit,
    events,
    at: new Date().toISOString(),
  };
}

/**
 * A request for a plan (api → resolver, on `control('plans')`): render `gitrepo` at a revision,
 * a branch, or its own branch head, and store what it would change; deploys nothing.
 */
export const PlanRequestSchema = z.object({
  gitrepo: z.string(),
  revision: z.string().optional(),
  branch: z.string().optional(),
  /** `api`, or `webhook:<provider>` for a pull/merge request. */
  trigger: z.string(),
});
export type PlanRequest = z.infer<typeof PlanRequestSchema>;

/** The resolver's answer to a plan request: the stored plan's id, or an HTTP status and why. */
export const PlanReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), id: z.string() }),
  z.object({ ok: z.literal(false), status: z.number().int(), message: z.string() }),
]);
export type PlanReply = z.infer<typeof PlanReplySchema>;

import { z } from 'zod';
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
  type: z.enum(Object.values(ClusterEventType) as [ClusterEventType, ...ClusterEventType[]]),
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
  type: z.enum(Object.values(GroupEventType) as [GroupEventType, ...GroupEventType[]]),
  group: z.string(),
  at: z.string(),
});
export type GroupEvent = z.infer<typeof GroupEventSchema>;

/** Connection state of a cluster, as the status service derives it from heartbeats. */
export const ClusterState = {
  /** Registered, but its agent has never connected. */
  Pending: 'Pending',
  /** Its heartbeat lease is current. */
  Online: 'Online',
  /** Its heartbeat lease lapsed. */
  Offline: 'Offline',
} as const;
export type ClusterState = (typeof ClusterState)[keyof typeof ClusterState];

export const clusterStates: readonly ClusterState[] = Object.values(ClusterState);

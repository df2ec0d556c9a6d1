import { ClusterState } from '../contracts/states.js';
import { DeploymentState } from '../contracts/delivery.js';

/** What is known of one deployment, to derive its state from. */
export interface DeploymentFacts {
  clusterState: string;
  desiredRevision: string | null;
  /** Revision of the agent's last report (the one applied or being applied). */
  reportedRevision: string | null;
  /** State of the agent's last report, or Pending before any. */
  reportedState: string;
  /** Target revision Git asks for, when a rollout holds the cluster back from it. */
  heldBackFrom?: string | null;
}

/**
 * The state users see for a deployment: Offline when the cluster's lease lapsed; OutOfSync
 * when a rollout holds it back from what Git asks; Pending until the agent reports the desired
 * revision; otherwise what the agent reported for it.
 */
export function effectiveDeploymentState(f: DeploymentFacts): DeploymentState {
  if (f.clusterState === ClusterState.Offline) return DeploymentState.Offline;
  if (f.heldBackFrom && f.heldBackFrom !== f.desiredRevision) return DeploymentState.OutOfSync;
  if (f.desiredRevision === null || f.reportedRevision !== f.desiredRevision)
    return DeploymentState.Pending;
  const known = Object.values(DeploymentState) as string[];
  return known.includes(f.reportedState)
    ? (f.reportedState as DeploymentState)
    : DeploymentState.Pending;
}

/** States worst first, for sorting non-ready lists. */
export const stateSeverity: readonly DeploymentState[] = [
  DeploymentState.ErrApplied,
  DeploymentState.Offline,
  DeploymentState.WaitApplied,
  DeploymentState.Modified,
  DeploymentState.OutOfSync,
  DeploymentState.Pending,
  DeploymentState.NotReady,
  DeploymentState.Ready,
];

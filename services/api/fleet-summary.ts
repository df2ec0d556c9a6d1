import type { DeploymentRow } from '../../libs/db/index.js';
import { effectiveDeploymentState, stateSeverity } from '../../libs/status/deployment-state.js';

import type { DeploymentView } from '../../libs/contracts/api-views.js';

export type { DeploymentView };

export function deploymentView(d: DeploymentRow): DeploymentView {
  const state = effectiveDeploymentState({
    clusterState: d.clusterState,
    desiredRevision: d.desiredRevision,
    reportedRevision: d.appliedRevision,
    reportedState: d.state,
    heldBackFrom: d.targetRevision,
  });
  let message = d.message;
  if (state === 'Offline') message = `cluster ${d.cluster} is offline`;
  else if (state === 'OutOfSync') {
    message = d.holdReason ?? `commit ${d.targetCommit?.slice(0, 8) ?? ''} not delivered yet`;
  } else if (state === 'Pending' && d.appliedRevision !== d.desiredRevision) {
    message =
      d.clusterState === 'Pending'
        ? `cluster ${d.cluster} has not connected yet`
        : d.state === 'Pending' && d.message !== ''
          ? d.message // why the hub set it back to Pending (the cluster removed it, ...)
          : 'waiting for the agent to apply the desired revision';
  }
  return {
    bundle: d.bundle,
    cluster: d.cluster,
    commit: d.desiredCommit,
    desiredRevision: d.desiredRevision,
    appliedRevision: d.appliedRevision,
    state,
    message,
    resources: d.resources,
    reportedAt: d.reportedAt?.toISOString() ?? null,
  };
}

/** A bundle's or GitRepo's summary from its deployments counted by state. */
export function summaryOf(byState: Record<string, number>): {
  desired: number;
  ready: number;
  byState: Record<string, number>;
} {
  return { desired: totalOf(byState), ready: byState.Ready ?? 0, byState };
}

/** Deployments in all, from their counts by state. */
export function totalOf(byState: Record<string, number>): number {
  return Object.values(byState).reduce((sum, n) => sum + n, 0);
}

/** Counts by state and every non-ready deployment, worst first. */
export function summarize(rows: DeploymentRow[]): {
  total: number;
  byState: Record<string, number>;
  nonReady: DeploymentView[];
} {
  const byState: Record<string, number> = {};
  const nonReady: DeploymentView[] = [];
  for (const row of rows) {
    const view = deploymentView(row);
    byState[view.state] = (byState[view.state] ?? 0) + 1;
    if (view.state !== 'Ready') nonReady.push(view);
  }
  const rank = (s: string) => {
    const i = stateSeverity.indexOf(s as (typeof stateSeverity)[number]);
    return i === -1 ? stateSeverity.length : i;
  };
  nonReady.sort(
    (a, b) =>
      rank(a.state) - rank(b.state) ||
      a.cluster.localeCompare(b.cluster) ||
      a.bundle.localeCompare(b.bundle),
  );
  return { total: rows.length, byState, nonReady };
}

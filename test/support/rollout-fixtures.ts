/** Fixtures of the rollout tests: a canary → rest strategy and a Deployment to roll out. */

/** fleet.yaml of a bundle rolled out to the `ring=canary` cluster first, then the rest. */
export function ringStrategy({
  canaryBake,
  restBake,
}: {
  canaryBake: string;
  restBake?: string;
}): string {
  return `rolloutStrategy:
  stages:
    - name: canary
      clusterSelector: {matchLabels: {ring: canary}}
      bakeTime: ${canaryBake}
    - name: rest
      maxUnavailable: 2${restBake ? `\n      bakeTime: ${restBake}` : ''}
  onFailure: rollback
`;
}

/** A Deployment that the simulated cluster makes Ready (or fails) after `readyAfter`. */
export function appDeployment(
  version: string,
  { outcome = 'ready', readyAfter = '300ms' } = {},
): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  annotations:
    sim.flotilla.dev/ready-after: ${readyAfter}
    sim.flotilla.dev/outcome: ${outcome}
    version: "${version}"
spec:
  replicas: 1
  selector: {matchLabels: {app: app}}
  template: {metadata: {labels: {app: app}}, spec: {containers: [{name: app, image: app}]}}
`;
}

/** Five clusters; c1 is the canary. */
export const ringClusters = ['c1', 'c2', 'c3', 'c4', 'c5'];

/** The body registering the GitRepo `ring` at `url`: every cluster, never polled. */
export function ringGitRepo(url: string) {
  return { name: 'ring', url, pollingInterval: '0', targets: [{ clusterSelector: '' }] };
}

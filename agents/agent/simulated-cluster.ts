import type { ClusterDriver } from './cluster-driver.js';

/** Kubernetes version a simulated cluster reports. */
export const SIMULATED_KUBERNETES_VERSION = 'v1.31.0+flotilla-sim';

/**
 * An in-memory cluster for `flotilla agent --simulate`: no Kubernetes API server needed, so one
 * machine can run thousands of agents. It holds no objects yet.
 */
export class SimulatedCluster implements ClusterDriver {
  readonly kind = 'simulated' as const;
  private closed = false;

  kubernetesVersion(): Promise<string> {
    if (this.closed) return Promise.reject(new Error('simulated cluster is closed'));
    return Promise.resolve(SIMULATED_KUBERNETES_VERSION);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

/**
 * What the agent needs from the cluster it manages. Two implementations: a real Kubernetes API
 * server ({@link KubernetesCluster}) and an in-memory cluster for demos, tests and benchmarks
 * ({@link SimulatedCluster}).
 */
export interface ClusterDriver {
  /** Which kind of cluster this is; reported in logs. */
  readonly kind: 'simulated' | 'kubernetes';
  /** The Kubernetes server version (e.g. `v1.31.2`); rejects when the cluster cannot be asked. */
  kubernetesVersion(): Promise<string>;
  /** Releases what the driver holds (connections, timers); safe to call more than once. */
  close(): Promise<void>;
}

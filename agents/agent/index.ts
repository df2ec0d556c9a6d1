/** The Flotilla agent: one per cluster; bootstraps at the hub and heartbeats over NATS. */
export {
  AGENT_TOKEN_FILE,
  UNKNOWN_KUBERNETES_VERSION,
  startAgent,
  type AgentOptions,
  type RunningAgent,
} from './agent.js';
export type { ClusterDriver } from './cluster-driver.js';
export { HubError, clusterNameFromHostname } from './hub-client.js';
export {
  KubernetesCluster,
  runsInPod,
  type KubernetesClusterOptions,
} from './kubernetes-cluster.js';
export { SIMULATED_KUBERNETES_VERSION, SimulatedCluster } from './simulated-cluster.js';

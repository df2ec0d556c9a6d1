/**
 * The Flotilla agent: one per cluster; bootstraps at the hub, heartbeats over NATS, and applies
 * the desired state the hub sends with its cluster driver, reporting status back.
 */
export {
  AGENT_TOKEN_FILE,
  UNKNOWN_KUBERNETES_VERSION,
  startAgent,
  type AgentOptions,
  type RunningAgent,
} from './agent.js';
export {
  isApplier,
  type Applier,
  type ApplyResult,
  type BundleStatus,
  type ClusterDriver,
  type HeldBundle,
} from './cluster-driver.js';
export {
  CONTENT_ERROR_HEADER,
  ContentCache,
  ContentFetcher,
  InvalidContentError,
  parseContent,
  type ContentFetcherOptions,
  type RevisionRef,
} from './content.js';
export { Delivery, type DeliveryOptions } from './delivery.js';
export { HubError, clusterNameFromHostname } from './hub-client.js';
export {
  KubernetesCluster,
  runsInPod,
  type KubernetesClusterOptions,
} from './kubernetes-cluster.js';
export {
  DEFAULT_WORKLOAD_READY_AFTER_MS,
  SIMULATED_FAILURE_MESSAGE,
  SIMULATED_KUBERNETES_VERSION,
  SIMULATED_WORKLOAD_KINDS,
  SIM_OUTCOME_ANNOTATION,
  SIM_READY_AFTER_ANNOTATION,
  SimulatedCluster,
} from './simulated-cluster.js';
export {
  StatusReporter,
  type StatusReporterOptions,
  type StatusUpdate,
} from './status-reporter.js';

import type { DeploymentOptions, ResourceStatus } from '../../libs/contracts/index.js';
import type { KubeObject } from '../../libs/manifests/index.js';

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

/** What one apply did, as object keys (`apiVersion/kind/namespace/name`). */
export interface ApplyResult {
  created: string[];
  configured: string[];
  unchanged: string[];
  pruned: string[];
  /**
   * Objects that could not be applied (`<key>: <why>`), as {@link Applier.bundleStatus} shows
   * them; absent or empty when every object was applied.
   */
  failed?: string[];
}

/** Health of a bundle's resources in the cluster. */
export interface BundleStatus {
  /** The revision last applied (also when that apply failed). */
  revision: string;
  /** ErrApplied: the apply failed or a resource failed; Modified: a resource drifted; NotReady: some resource is not ready yet. */
  state: 'NotReady' | 'Ready' | 'ErrApplied' | 'Modified';
  /** Why it is not Ready (names the resources); empty when Ready. */
  message: string;
  /** Every resource of the bundle, in apply order. */
  resources: ResourceStatus[];
}

/** A bundle applied to the cluster, at the revision and with the options of its last apply. */
export interface HeldBundle {
  bundle: string;
  revision: string;
  options: DeploymentOptions;
}

/** A cluster driver that can apply bundles, prune, and watch their health. */
export interface Applier {
  /**
   * Applies `objects` as `revision` of `bundle`: creates and updates them in apply order, and
   * prunes what the bundle applied before but no longer holds. Content problems (an invalid
   * object, a conflict) do not reject: they show as ErrApplied in {@link bundleStatus}. Rejects
   * only when the cluster cannot be reached (worth retrying). `objects` may be shared with other
   * bundles (the content cache): the driver must not change them.
   */
  apply(
    bundle: string,
    revision: string,
    objects: readonly KubeObject[],
    options: DeploymentOptions,
  ): Promise<ApplyResult>;
  /** Deletes the bundle's objects (keeps them with `keepResources`) and forgets the bundle. */
  remove(bundle: string, options: { keepResources: boolean }): Promise<void>;
  /** Health of a bundle; undefined when the cluster does not hold it. */
  bundleStatus(bundle: string): Promise<BundleStatus | undefined>;
  /** Every bundle the cluster holds (after an agent restart, this is what it resyncs with). */
  heldBundles(): Promise<HeldBundle[]>;
  /**
   * Calls `listener` with a bundle's name whenever its health changes on its own (a workload
   * became ready or failed), not as the direct result of an apply or remove. Returns an
   * unsubscribe function.
   */
  onChange(listener: (bundle: string) => void): () => void;
}

/** True when the driver applies bundles (implements {@link Applier}). */
export function isApplier(driver: ClusterDriver): driver is ClusterDriver & Applier {
  const d = driver as Partial<Applier>;
  return (
    typeof d.apply === 'function' &&
    typeof d.remove === 'function' &&
    typeof d.bundleStatus === 'function' &&
    typeof d.heldBundles === 'function' &&
    typeof d.onChange === 'function'
  );
}

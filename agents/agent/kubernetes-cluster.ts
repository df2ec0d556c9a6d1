import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino, type Logger } from 'pino';
import {
  DeploymentOptionsSchema,
  type DeploymentOptions,
  type ResourceStatus,
} from '../../libs/contracts/index.js';
import {
  FLOTILLA_FIELD_MANAGER,
  INVENTORY_LABEL,
  INVENTORY_NAMESPACE,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  appliedFieldsOf,
  assessHealth,
  bundleNamespaceObject,
  customResourceScopes,
  describeRef,
  driftedFields,
  formatObjectKey,
  hasDesiredFields,
  inventoryConfigMap,
  inventoryName,
  isPlainObject,
  managedFieldsOf,
  markOwned,
  namespaceFieldManager,
  namespaceToDelete,
  objectProblem,
  ownerBundle,
  parseInventory,
  parseObjectKey,
  pruneKeys,
  scopedRef,
  sortForApply,
  sortKeysForDelete,
  reportedDrift,
  summarizeDrift,
  summarizeRevert,
  withoutComparedFields,
  withoutIgnoredConditions,
  type FieldDiff,
  type Inventory,
  type KubeObject,
  type ObjectRef,
} from '../../libs/manifests/index.js';
import { listMessages, rollUpBundleStatus } from './bundle-status.js';
import type {
  Applier,
  ApplyResult,
  BundleStatus,
  ClusterDriver,
  HeldBundle,
} from './cluster-driver.js';
import { backoffDelayMs } from './hub-client.js';
import { KubeApiError, KubeClient, describeError, type ResourceInfo } from './kube/kube-client.js';
import { KubeConnection, SERVICE_ACCOUNT_DIR } from './kube/kube-config.js';
import { ResourceWatcher } from './kube/resource-watcher.js';

/** Where a pod finds its service account token (in-cluster configuration). */
const SERVICE_ACCOUNT_TOKEN = `${SERVICE_ACCOUNT_DIR}/token`;

/** Options of {@link KubernetesCluster}. */
export interface KubernetesClusterOptions {
  /**
   * Kubeconfig file to use. Without it: the in-cluster service account when running in a pod,
   * else `$KUBECONFIG` or `~/.kube/config`.
   */
  kubeconfigPath?: string;
  /** How long one API request may take before it fails; default 10 s. */
  requestTimeoutMs?: number;
  /** How long the server version is remembered; default 10 minutes. */
  versionCacheMs?: number;
  /** How long an apply waits for a CRD of the bundle to be Established; default 30 s. */
  crdEstablishedTimeoutMs?: number;
  /** Default: `pino({ name: 'flotilla-agent' })`. */
  logger?: Logger;
}

/** True when this process runs in a Kubernetes pod with a service account. */
export function runsInPod(): boolean {
  return (process.env.KUBERNETES_SERVICE_HOST ?? '') !== '' && existsSync(SERVICE_ACCOUNT_TOKEN);
}

/**
 * A real cluster, reached through its Kubernetes API server (kubeconfig and authenticators of
 * @kubernetes/client-node, see {@link KubeConnection}; requests in `kube/kube-client.ts`): applies
 * bundles with server-side apply (field manager `flotilla-agent`), prunes by an inventory kept in
 * the cluster, watches the health of what it applied, and detects (and optionally reverts) drift.
 *
 * - Apply order: CRDs, Namespaces, other cluster-scoped objects, namespaced objects; a custom
 *   resource whose CRD is in the same bundle waits (bounded) for the CRD to be Established.
 * - Every object carries the bundle and revision annotations and the managed-by label.
 * - The inventory of a bundle is a ConfigMap `flotilla-inventory-<hash>` in `flotilla-system`
 *   (created on demand) with the keys, revision, options and a compressed copy of the applied
 *   objects, written before (old ∪ new keys) and after each apply: prune stays right across agent
 *   restarts and the loss of the hub, and {@link heldBundles} reads it back.
 * - Health comes from one watch per resource type in use (label-selected), re-established on
 *   errors; {@link onChange} fires when a bundle's status changes.
 * - Drift: a field the agent applied whose live value another manager changed makes the bundle
 *   Modified; with `correctDrift` the agent re-applies (taking the fields back) and says so.
 */
export class KubernetesCluster implements ClusterDriver, Applier {
  readonly kind = 'kubernetes' as const;
  /** The API server URL, for messages. */
  readonly server: string;
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly requestTimeoutMs: number;
  private readonly versionCacheMs: number;
  private readonly crdTimeoutMs: number;
  private cachedVersion: { value: string; until: number } | undefined;
  private pendingVersion: Promise<string> | undefined;
  private closed = false;
  private readonly records = new Map<string, BundleRecord>();
  /** Which bundles hold an object key (also while an apply is under way). */
  private readonly keyIndex = new Map<string, Set<string>>();
  private readonly watchers = new Map<string, ResourceWatcher>();
  private readonly listeners = new Set<(bundle: string) => void>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly reverts = new Map<string, RevertState>();
  /** Bundles being applied or removed: no drift correction meanwhile. */
  private readonly busy = new Set<string>();
  private inventoryNamespaceReady = false;

  /** Loads the configuration; throws a readable error when there is none or it is broken. */
  constructor(options: KubernetesClusterOptions = {}) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.versionCacheMs = options.versionCacheMs ?? 10 * 60_000;
    this.crdTimeoutMs = options.crdEstablishedTimeoutMs ?? 30_000;
    this.log = options.logger ?? pino({ name: 'flotilla-agent', level: 'info' });
    const connection = loadKubeConfig(options.kubeconfigPath);
    this.server = connection.cluster.server;
    this.client = new KubeClient(connection, this.requestTimeoutMs);
  }

  /** The API server's `gitVersion`, asked at most once per cache period. */
  kubernetesVersion(): Promise<string> {
    if (this.closed) return Promise.reject(new Error('Kubernetes cluster driver is closed'));
    if (this.cachedVersion !== undefined && Date.now() < this.cachedVersion.until) {
      return Promise.resolve(this.cachedVersion.value);
    }
    this.pendingVersion ??= this.fetchVersion().finally(() => {
      this.pendingVersion = undefined;
    });
    return this.pendingVersion;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.client.abortAll(new Error('driver closed'));
    this.client.connection.close();
    for (const watcher of this.watchers.values()) watcher.stop();
    this.watchers.clear();
    for (const revert of this.reverts.values()) clearTimeout(revert.timer);
    this.reverts.clear();
    this.listeners.clear();
    return Promise.resolve();
  }

  async apply(
    bundle: string,
    revision: string,
    objects: readonly KubeObject[],
    options: DeploymentOptions,
  ): Promise<ApplyResult> {
    this.assertOpen();
    const result: ApplyResult = { created: [], configured: [], unchanged: [], pruned: [] };
    this.busy.add(bundle);
    try {
      const prior = this.records.get(bundle) ?? (await this.adopt(bundle));
      const invalid = objects
        .map((o, i) => [i, objectProblem(o)] as const)
        .filter(([, p]) => p !== undefined)
        .map(([i, p]) => `object ${i + 1}: ${p}`);
      const planned = invalid.length === 0 ? await this.plan(objects, options) : undefined;
      const problems = [...invalid, ...(planned?.problems ?? [])];
      if (problems.length > 0 || planned === undefined) {
        const record = prior ?? this.newRecord(bundle, revision, options, []);
        record.revision = revision;
        record.options = options;
        record.applyError = `invalid content, nothing applied: ${listMessages(problems)}`;
        this.records.set(bundle, record);
        record.lastSignature = signature(this.statusOf(record));
        return result;
      }
      const keys = planned.entries.map((e) => e.key);
      const previousKeys = prior?.keys ?? [];
      for (const key of keys) this.index(key, bundle);
      await this.writeInventory({
        bundle,
        revision: prior?.revision ?? '',
        options: prior?.options ?? options,
        keys: [...new Set([...previousKeys, ...keys])],
        objects: prior === undefined ? undefined : [...prior.desired.values()],
      });
      const errors = new Map<string, string>();
      const desired = new Map<string, KubeObject>();
      const reverted: string[] = [];
      const namespaceError = await this.applyNamespaceMetadata(bundle, options);
      for (const entry of planned.entries) {
        const marked = markForApply(entry, bundle, revision);
        desired.set(entry.key, marked);
        const outcome = await this.applyEntry(entry, marked, options, planned.entries);
        if (outcome.error !== undefined) {
          errors.set(entry.key, outcome.error);
          continue;
        }
        result[outcome.change].push(entry.key);
        if (outcome.reverted !== undefined) reverted.push(outcome.reverted);
      }
      const stale = pruneKeys(previousKeys, keys);
      const kept: string[] = [];
      for (const key of stale) {
        const outcome = await this.deleteKey(key, bundle);
        if (outcome === 'deleted') result.pruned.push(key);
        if (outcome === 'failed') kept.push(key);
      }
      await this.writeInventory({
        bundle,
        revision,
        options,
        keys: [...keys, ...kept],
        objects: [...desired.values()],
      });
      const record = this.newRecord(bundle, revision, options, keys);
      record.desired = desired;
      record.errors = errors;
      record.applyError = namespaceError;
      if (reverted.length > 0) {
        record.reverted = `reverted drift: ${listMessages(reverted)}`;
        this.log.info({ bundle, message: record.reverted }, 'drift reverted');
      }
      for (const key of kept) {
        record.errors.set(key, 'could not be pruned; kept in the inventory to try again');
        record.keys.push(key);
      }
      this.records.set(bundle, record);
      for (const key of previousKeys) if (!record.keys.includes(key)) this.unindex(key, bundle);
      this.stopUnusedWatchers();
      record.lastSignature = signature(this.statusOf(record));
      const failed = [...errors].map(([key, error]) => `${key}: ${error}`);
      if (namespaceError !== undefined) failed.unshift(namespaceError);
      if (failed.length > 0) {
        result.failed = failed;
        this.log.error(
          { bundle, revision, failed: result.failed },
          'cannot apply some objects of a bundle',
        );
      }
      return result;
    } finally {
      this.busy.delete(bundle);
    }
  }

  async remove(bundle: string, options: { keepResources: boolean }): Promise<void> {
    this.assertOpen();
    const record = this.records.get(bundle) ?? (await this.adopt(bundle));
    if (record === undefined) return;
    this.busy.add(bundle);
    try {
      await this.removeRecord(record, options.keepResources);
    } finally {
      this.busy.delete(bundle);
    }
  }

  private async removeRecord(record: BundleRecord, keepResources: boolean): Promise<void> {
    const bundle = record.bundle;
    for (const key of record.keys) {
      clearTimeout(this.reverts.get(key)?.timer);
      this.reverts.delete(key);
    }
    if (!keepResources) {
      const failures: string[] = [];
      for (const key of sortKeysForDelete(record.keys)) {
        try {
          const outcome = await this.deleteKey(key, bundle, true);
          if (outcome === 'failed') failures.push(key);
        } catch (err) {
          failures.push(`${key}: ${errorText(err)}`);
        }
      }
      if (failures.length > 0) {
        throw new Error(`cannot delete ${listMessages(failures)}`);
      }
    }
    // Fleet's deleteNamespace: the bundle's namespace goes with it (with whatever else is in it).
    const namespace = namespaceToDelete(record.options, keepResources);
    if (namespace !== undefined) {
      await this.client.deleteObject(NAMESPACE, {
        apiVersion: 'v1',
        kind: 'Namespace',
        name: namespace,
      });
    }
    await this.deleteInventory(bundle);
    this.records.delete(bundle);
    for (const key of record.keys) this.unindex(key, bundle);
    this.stopUnusedWatchers();
  }

  async bundleStatus(bundle: string): Promise<BundleStatus | undefined> {
    this.assertOpen();
    const record = this.records.get(bundle) ?? (await this.adopt(bundle));
    if (record === undefined) return undefined;
    await this.synced(record);
    const status = this.statusOf(record);
    record.lastSignature = signature(status);
    return status;
  }

  async heldBundles(): Promise<HeldBundle[]> {
    this.assertOpen();
    const list = await this.client.listObjects(
      CONFIGMAP,
      `${INVENTORY_LABEL}=true`,
      INVENTORY_NAMESPACE,
    );
    const held: HeldBundle[] = [];
    for (const item of list.items) {
      let inventory: Inventory;
      try {
        inventory = parseInventory(item);
      } catch (err) {
        this.log.warn({ reason: errorText(err) }, 'skipping a malformed inventory');
        continue;
      }
      const record = this.records.get(inventory.bundle) ?? this.recordOf(inventory);
      held.push({ bundle: record.bundle, revision: record.revision, options: record.options });
    }
    return held.sort((a, b) => a.bundle.localeCompare(b.bundle));
  }

  onChange(listener: (bundle: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Fleet's namespaceLabels and namespaceAnnotations: makes sure the bundle's namespace exists and
   * carries them, merged over its other labels and annotations (server-side apply as the bundle's
   * own field manager, see {@link namespaceFieldManager}). Returns why it could not, if so.
   */
  private async applyNamespaceMetadata(
    bundle: string,
    options: DeploymentOptions,
  ): Promise<string | undefined> {
    const object = bundleNamespaceObject(options);
    if (object === undefined) return undefined;
    const ref: ObjectRef = { apiVersion: 'v1', kind: 'Namespace', name: options.defaultNamespace! };
    try {
      await this.client.applyObject(NAMESPACE, ref, object, true, namespaceFieldManager(bundle));
      return undefined;
    } catch (err) {
      if (err instanceof KubeApiError && !err.retryable) {
        return `cannot set the labels and annotations of namespace ${ref.name}: ${err.message}`;
      }
      throw err;
    }
  }

  /** Resolves types and keys; problems are content problems (duplicates, unknown kinds). */
  private async plan(
    objects: readonly KubeObject[],
    options: DeploymentOptions,
  ): Promise<{ entries: PlannedEntry[]; problems: string[] }> {
    const crdScopes = customResourceScopes(objects);
    const entries: PlannedEntry[] = [];
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const object of sortForApply(objects)) {
      const apiVersion = object.apiVersion as string;
      const kind = object.kind as string;
      const info = await this.client.resourceInfo(apiVersion, kind);
      const namespaced = info?.namespaced ?? crdScopes.get(`${apiVersion}/${kind}`);
      const ref = scopedRef(object, namespaced, options.defaultNamespace);
      const key = formatObjectKey(ref);
      if (seen.has(key)) problems.push(`${describeRef(ref)} appears more than once`);
      seen.add(key);
      if (namespaced === undefined) {
        problems.push(
          `${describeRef(ref)}: the API server does not serve ${apiVersion} ${kind} (is its CustomResourceDefinition installed?)`,
        );
      }
      entries.push({ key, ref, object, info, namespaced: namespaced ?? true });
    }
    return { entries, problems };
  }

  /**
   * Applies one object. Other managers' fields are taken over (`force`) with `forceConflicts`,
   * and with `correctDrift`: then the fields of the bundle another manager changed are taken
   * back, and `reverted` says which.
   */
  private async applyEntry(
    entry: PlannedEntry,
    marked: KubeObject,
    options: DeploymentOptions,
    all: readonly PlannedEntry[],
  ): Promise<
    | { change: 'created' | 'configured' | 'unchanged'; reverted?: string; error?: undefined }
    | { error: string }
  > {
    try {
      const info = entry.info ?? (await this.waitForCustomType(entry, all));
      const watcher = this.watcherFor(info);
      const live = await this.client.getObject(info, entry.ref);
      const owner = live === undefined ? undefined : ownerBundle(live);
      const bundle = ownerBundle(marked);
      if (owner !== undefined && owner !== bundle) {
        return { error: `owned by bundle ${owner}; not taken over` };
      }
      if (live !== undefined && hasDesiredFields(marked, live)) {
        watcher.remember(entry.key, live);
        return { change: 'unchanged' };
      }
      const force = options.forceConflicts || options.correctDrift;
      // Drift only of what the agent applied before (an object it adopts has none).
      const owned = live === undefined ? undefined : appliedFieldsOf(live, FLOTILLA_FIELD_MANAGER);
      const drift =
        live === undefined || owned === undefined || !options.correctDrift
          ? []
          : driftedFields(marked, live, owned);
      const applied = await this.client.applyObject(info, entry.ref, marked, force);
      watcher.remember(entry.key, applied);
      if (live === undefined) return { change: 'created' };
      return drift.length === 0
        ? { change: 'configured' }
        : { change: 'configured', reverted: `${describeRef(entry.ref)} ${summarizeRevert(drift)}` };
    } catch (err) {
      if (err instanceof KubeApiError && !err.retryable) return { error: err.message };
      if (err instanceof CustomTypeError) return { error: err.message };
      throw err;
    }
  }

  /** Waits for the CRD of a custom resource in the same bundle to be Established; its type then. */
  private async waitForCustomType(
    entry: PlannedEntry,
    all: readonly PlannedEntry[],
  ): Promise<ResourceInfo> {
    const [group] = entry.ref.apiVersion.split('/');
    const crd = all.find((e) => {
      const spec = e.object.spec as { group?: unknown; names?: { kind?: unknown } } | undefined;
      return (
        e.ref.kind === 'CustomResourceDefinition' &&
        spec?.group === group &&
        spec?.names?.kind === entry.ref.kind
      );
    });
    if (crd === undefined) {
      throw new CustomTypeError(
        `the API server does not serve ${entry.ref.apiVersion} ${entry.ref.kind}`,
      );
    }
    const deadline = Date.now() + this.crdTimeoutMs;
    try {
      await this.waitFor(
        crd.key,
        (o) => o !== undefined && assessHealth(o).state === 'Ready',
        this.crdTimeoutMs,
      );
    } catch {
      const live = this.cached(crd.key);
      const why = live === undefined ? 'not found' : assessHealth(live).message;
      throw new CustomTypeError(
        `CustomResourceDefinition ${crd.ref.name} is not Established after ${this.crdTimeoutMs} ms (${why})`,
      );
    }
    // Discovery may lag a moment behind the Established condition.
    for (let attempt = 0; ; attempt++) {
      this.client.forgetDiscovery(entry.ref.apiVersion);
      const info = await this.client.resourceInfo(entry.ref.apiVersion, entry.ref.kind);
      if (info !== undefined) return info;
      if (Date.now() > deadline) {
        throw new CustomTypeError(
          `CustomResourceDefinition ${crd.ref.name} is Established but ${entry.ref.apiVersion} ${entry.ref.kind} is not served`,
        );
      }
      await sleep(Math.min(100 * 2 ** attempt, 1_000));
    }
  }

  /** Resolves once the cached object satisfies `predicate`; rejects after `timeoutMs`. */
  private waitFor(
    key: string,
    predicate: (object: KubeObject | undefined) => boolean,
    timeoutMs: number,
  ): Promise<void> {
    if (predicate(this.cached(key))) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const set = this.waiters.get(key) ?? new Set<() => void>();
      this.waiters.set(key, set);
      const check = (): void => {
        if (!predicate(this.cached(key))) return;
        finish();
        resolve();
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out waiting for ${key}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        set.delete(check);
        if (set.size === 0) this.waiters.delete(key);
      };
      set.add(check);
    });
  }

  /** Deletes an object of `bundle` unless another bundle took it over. */
  private async deleteKey(
    key: string,
    bundle: string,
    rethrow = false,
  ): Promise<'deleted' | 'gone' | 'skipped' | 'failed'> {
    const ref = parseObjectKey(key);
    try {
      const info = await this.client.resourceInfo(ref.apiVersion, ref.kind);
      if (info === undefined) return 'gone';
      const live = await this.client.getObject(info, ref);
      if (live === undefined) return 'gone';
      const owner = ownerBundle(live);
      if (owner !== undefined && owner !== bundle) return 'skipped';
      return (await this.client.deleteObject(info, ref)) ? 'deleted' : 'gone';
    } catch (err) {
      if (err instanceof KubeApiError && !err.retryable && !rethrow) {
        this.log.warn({ bundle, key, reason: err.message }, 'cannot prune an object');
        return 'failed';
      }
      throw err;
    }
  }

  private async writeInventory(inventory: Inventory): Promise<void> {
    if (!this.inventoryNamespaceReady) {
      await this.client.applyObject(
        NAMESPACE,
        { apiVersion: 'v1', kind: 'Namespace', name: INVENTORY_NAMESPACE },
        {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: {
            name: INVENTORY_NAMESPACE,
            labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
          },
        },
        false,
      );
      this.inventoryNamespaceReady = true;
    }
    const configMap = inventoryConfigMap(inventory);
    await this.client.applyObject(CONFIGMAP, inventoryRef(inventory.bundle), configMap, true);
  }

  private async deleteInventory(bundle: string): Promise<void> {
    await this.client.deleteObject(CONFIGMAP, inventoryRef(bundle));
  }

  /** The record of a bundle the cluster holds but this driver has not seen yet (a restart). */
  private async adopt(bundle: string): Promise<BundleRecord | undefined> {
    const configMap = await this.client.getObject(CONFIGMAP, inventoryRef(bundle));
    if (configMap === undefined) return undefined;
    return this.records.get(bundle) ?? this.recordOf(parseInventory(configMap));
  }

  private recordOf(inventory: Inventory): BundleRecord {
    const parsed = DeploymentOptionsSchema.safeParse(inventory.options);
    const options = parsed.success ? parsed.data : DeploymentOptionsSchema.parse({});
    const record = this.newRecord(inventory.bundle, inventory.revision, options, inventory.keys);
    for (const object of inventory.objects ?? []) {
      const key = inventory.keys.find((k) => sameObject(k, object));
      if (key !== undefined) record.desired.set(key, object);
    }
    this.records.set(record.bundle, record);
    for (const key of record.keys) this.index(key, record.bundle);
    return record;
  }

  private newRecord(
    bundle: string,
    revision: string,
    options: DeploymentOptions,
    keys: string[],
  ): BundleRecord {
    return {
      bundle,
      revision,
      options,
      keys: [...keys],
      desired: new Map(),
      errors: new Map(),
      applyError: undefined,
      reverted: undefined,
      lastSignature: '',
    };
  }

  /** Waits until the watches of every type the bundle uses have listed. */
  private async synced(record: BundleRecord): Promise<void> {
    const types = new Map<string, ObjectRef>();
    for (const key of record.keys) {
      const ref = parseObjectKey(key);
      types.set(`${ref.apiVersion}/${ref.kind}`, ref);
    }
    for (const ref of types.values()) {
      const info = await this.client.resourceInfo(ref.apiVersion, ref.kind);
      if (info === undefined) continue;
      await this.watcherFor(info).synced(this.requestTimeoutMs * 3);
    }
  }

  private watcherFor(info: ResourceInfo): ResourceWatcher {
    const id = `${info.apiVersion}/${info.kind}`;
    let watcher = this.watchers.get(id);
    if (watcher === undefined) {
      watcher = new ResourceWatcher(
        info,
        this.client,
        `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
        (key) => this.keyIndex.has(key),
        (key) => this.objectChanged(key),
        this.log,
        slim,
      );
      this.watchers.set(id, watcher);
      watcher.start();
    }
    return watcher;
  }

  private stopUnusedWatchers(): void {
    const used = new Set<string>();
    for (const key of this.keyIndex.keys()) {
      const ref = parseObjectKey(key);
      used.add(`${ref.apiVersion}/${ref.kind}`);
    }
    for (const [id, watcher] of this.watchers) {
      if (!used.has(id)) {
        watcher.stop();
        this.watchers.delete(id);
      }
    }
  }

  private cached(key: string): KubeObject | undefined {
    const ref = parseObjectKey(key);
    return this.watchers.get(`${ref.apiVersion}/${ref.kind}`)?.objects.get(key);
  }

  private index(key: string, bundle: string): void {
    const set = this.keyIndex.get(key) ?? new Set<string>();
    set.add(bundle);
    this.keyIndex.set(key, set);
  }

  private unindex(key: string, bundle: string): void {
    const set = this.keyIndex.get(key);
    if (set === undefined) return;
    set.delete(bundle);
    if (set.size === 0) this.keyIndex.delete(key);
  }

  /** A watched object changed: wake waiters, tell listeners, revert drift. */
  private objectChanged(key: string): void {
    for (const check of [...(this.waiters.get(key) ?? [])]) check();
    for (const bundle of this.keyIndex.get(key) ?? []) {
      const record = this.records.get(bundle);
      if (record === undefined || this.busy.has(bundle)) continue;
      if (record.options.correctDrift) this.scheduleRevert(record, key);
      this.statusMaybeChanged(record);
    }
  }

  private statusMaybeChanged(record: BundleRecord): void {
    if (this.closed) return;
    const next = signature(this.statusOf(record));
    if (next === record.lastSignature) return;
    record.lastSignature = next;
    for (const listener of [...this.listeners]) {
      try {
        listener(record.bundle);
      } catch (err) {
        this.log.warn(
          { bundle: record.bundle, reason: errorText(err) },
          'a status listener failed',
        );
      }
    }
  }

  /** The drift of one object of a bundle: missing, or its changed fields; undefined when none. */
  private driftOf(record: BundleRecord, key: string): FieldDiff[] | 'missing' | undefined {
    const stored = record.desired.get(key);
    if (stored === undefined || record.errors.has(key)) return undefined;
    // Fleet's diff.comparePatches: fields the drift check ignores.
    const { comparePatches, defaultNamespace } = record.options;
    const desired = withoutComparedFields(stored, comparePatches, defaultNamespace);
    const ref = parseObjectKey(key);
    const watcher = this.watchers.get(`${ref.apiVersion}/${ref.kind}`);
    const live = watcher?.objects.get(key);
    if (live === undefined) return watcher === undefined ? undefined : 'missing';
    const diffs = driftedFields(desired, live, appliedFieldsOf(live, FLOTILLA_FIELD_MANAGER));
    return diffs.length > 0 ? diffs : undefined;
  }

  private scheduleRevert(record: BundleRecord, key: string): void {
    const drift = this.driftOf(record, key);
    if (drift === undefined) return;
    const state = this.reverts.get(key) ?? { attempt: 0, timer: undefined, last: 0 };
    this.reverts.set(key, state);
    if (state.timer !== undefined) return;
    if (Date.now() - state.last > REVERT_RESET_MS) state.attempt = 0;
    const delayMs =
      state.attempt === 0 ? 0 : backoffDelayMs(state.attempt, 1_000, REVERT_MAX_DELAY_MS);
    state.timer = setTimeout(() => {
      state.timer = undefined;
      state.last = Date.now();
      state.attempt++;
      void this.revert(record.bundle, key).catch((err: unknown) => {
        this.log.warn(
          { bundle: record.bundle, key, reason: errorText(err) },
          'cannot revert drift',
        );
      });
    }, delayMs);
  }

  private async revert(bundle: string, key: string): Promise<void> {
    const record = this.records.get(bundle);
    if (record === undefined || this.closed || this.busy.has(bundle)) return;
    const drift = this.driftOf(record, key);
    const desired = record.desired.get(key);
    if (drift === undefined || desired === undefined) return;
    const ref = parseObjectKey(key);
    const info = await this.client.resourceInfo(ref.apiVersion, ref.kind);
    if (info === undefined) return;
    const applied = await this.client.applyObject(info, ref, desired, true);
    this.watcherFor(info).remember(key, applied);
    record.reverted =
      drift === 'missing'
        ? `reverted drift: re-created ${describeRef(ref)}`
        : `reverted drift: ${describeRef(ref)} ${summarizeRevert(drift)}`;
    this.log.info({ bundle, key, message: record.reverted }, 'drift reverted');
    this.statusMaybeChanged(record);
  }

  private statusOf(record: BundleRecord): BundleStatus {
    const revision = record.revision;
    const resources: ResourceStatus[] = record.keys.map((key) => {
      const ref = parseObjectKey(key);
      const base = { ...ref, state: 'Ready' as ResourceStatus['state'], message: '' };
      const error = record.errors.get(key);
      if (error !== undefined) return { ...base, state: 'Failed', message: error };
      const live = this.cached(key);
      if (live === undefined)
        return { ...base, state: 'Missing', message: 'not found in the cluster' };
      const drift = this.driftOf(record, key);
      if (Array.isArray(drift)) {
        return {
          ...base,
          state: 'Modified',
          message: `modified: ${summarizeDrift(drift)}`,
          drift: reportedDrift(drift),
        };
      }
      // Fleet's ignore.conditions: conditions the health check ignores.
      const health = assessHealth(withoutIgnoredConditions(live, record.options.ignoreConditions));
      return { ...base, state: health.state, message: health.message };
    });
    return rollUpBundleStatus(revision, resources, {
      applyError: record.applyError,
      readyMessage: record.reverted ?? '',
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('Kubernetes cluster driver is closed');
  }

  private async fetchVersion(): Promise<string> {
    try {
      const version = await this.client.version();
      this.cachedVersion = { value: version, until: Date.now() + this.versionCacheMs };
      return version;
    } catch (err) {
      throw new Error(
        `cannot get the Kubernetes version from the API server at ${this.server}: ${describeError(err)}`,
        { cause: err },
      );
    }
  }
}

/** A custom resource whose type is not served (its CRD is missing or not Established). */
class CustomTypeError extends Error {
  override readonly name = 'CustomTypeError';
}

interface PlannedEntry {
  key: string;
  ref: ObjectRef;
  object: KubeObject;
  /** Undefined for a custom resource whose CRD (in the same bundle) is not served yet. */
  info: ResourceInfo | undefined;
  namespaced: boolean;
}

interface BundleRecord {
  bundle: string;
  revision: string;
  options: DeploymentOptions;
  /** Keys of the bundle's objects (its inventory), in apply order. */
  keys: string[];
  /** The objects as last applied, by key (after a restart: from the inventory, if it fit). */
  desired: Map<string, KubeObject>;
  /** Per-object errors of the last apply. */
  errors: Map<string, string>;
  /** Why the last apply was refused as a whole (invalid content). */
  applyError: string | undefined;
  /** What the last drift correction did. */
  reverted: string | undefined;
  /** Status last seen by the listeners. */
  lastSignature: string;
}

interface RevertState {
  attempt: number;
  timer: NodeJS.Timeout | undefined;
  last: number;
}

/** Drift reverts of one object back off up to this delay (another controller may fight back). */
const REVERT_MAX_DELAY_MS = 5 * 60_000;
/** After this long without a revert, an object's backoff starts over. */
const REVERT_RESET_MS = 10 * 60_000;
/** How many resources a bundle message names before it counts the rest. */

const CONFIGMAP: ResourceInfo = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
};
const NAMESPACE: ResourceInfo = {
  apiVersion: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  namespaced: false,
};

function inventoryRef(bundle: string): ObjectRef {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: INVENTORY_NAMESPACE,
    name: inventoryName(bundle),
  };
}

/** The object as the agent applies it: ownership marks, its namespace (or none), nothing server-set. */
function markForApply(entry: PlannedEntry, bundle: string, revision: string): KubeObject {
  const marked = markOwned(entry.object, bundle, revision, entry.ref.namespace);
  const meta = marked.metadata as Record<string, unknown>;
  if (entry.ref.namespace === undefined) delete meta.namespace;
  for (const field of [
    'resourceVersion',
    'uid',
    'creationTimestamp',
    'generation',
    'managedFields',
  ]) {
    delete meta[field];
  }
  delete marked.status;
  return marked;
}

/** True when the object (as applied) has this key. */
function sameObject(key: string, object: KubeObject): boolean {
  const ref = parseObjectKey(key);
  const meta = isPlainObject(object.metadata) ? object.metadata : {};
  return (
    object.apiVersion === ref.apiVersion &&
    object.kind === ref.kind &&
    meta.name === ref.name &&
    (meta.namespace ?? undefined) === ref.namespace
  );
}

/** The object without other managers' managed fields (the cache keeps only what it needs). */
function slim(object: KubeObject): KubeObject {
  const meta = isPlainObject(object.metadata) ? object.metadata : undefined;
  if (meta === undefined || !Array.isArray(meta.managedFields)) return object;
  return {
    ...object,
    metadata: {
      ...meta,
      managedFields: managedFieldsOf(object).filter((e) => e.manager === FLOTILLA_FIELD_MANAGER),
    },
  };
}

function signature(status: BundleStatus): string {
  return JSON.stringify([status.state, status.message, status.revision, status.resources]);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function loadKubeConfig(path: string | undefined): KubeConnection {
  try {
    if (path !== undefined) return KubeConnection.fromFiles([path]);
    if (runsInPod()) return KubeConnection.inCluster();
    const paths = KubeConnection.defaultPaths();
    if (paths === undefined) {
      throw new Error(
        'no kubeconfig given, not running in a pod, and neither $KUBECONFIG nor ~/.kube/config exists',
      );
    }
    return KubeConnection.fromFiles(paths);
  } catch (err) {
    throw new Error(`cannot load the Kubernetes configuration: ${describeError(err)}`, {
      cause: err,
    });
  }
}

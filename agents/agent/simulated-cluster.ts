import { randomUUID } from 'node:crypto';
import { parseDuration } from '../../libs/config/config.js';
import { listMessages, rollUpBundleStatus } from './bundle-status.js';
import type { DeploymentOptions, ResourceStatus } from '../../libs/contracts/index.js';
import {
  annotationsOf,
  bundleNamespaceObject,
  describeRef,
  diffOwnedFields,
  isPlainObject,
  markOwned,
  namespaceToDelete,
  objectKey,
  objectProblem,
  objectRef,
  parseObjectKey,
  planApply,
  reportedDrift,
  sortForApply,
  sortKeysForDelete,
  summarizeDrift,
  withoutComparedFields,
  type KubeObject,
} from '../../libs/manifests/index.js';
import type {
  Applier,
  ApplyResult,
  BundleStatus,
  ClusterDriver,
  HeldBundle,
} from './cluster-driver.js';

/** Kubernetes version a simulated cluster reports. */
export const SIMULATED_KUBERNETES_VERSION = 'v1.31.0+flotilla-sim';

/** Annotation: how long after being created or changed a resource becomes ready (`500ms`, `2s`). */
export const SIM_READY_AFTER_ANNOTATION = 'sim.flotilla.dev/ready-after';
/** Annotation: `ready` (default), `fail` or `never-ready`. */
export const SIM_OUTCOME_ANNOTATION = 'sim.flotilla.dev/outcome';
/** How long workloads take to become ready without a ready-after annotation. */
export const DEFAULT_WORKLOAD_READY_AFTER_MS = 1_000;
/** Kinds that take time to become ready; every other kind is ready at once unless annotated. */
export const SIMULATED_WORKLOAD_KINDS: ReadonlySet<string> = new Set([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
]);

/** Resource message of a resource that failed because of `sim.flotilla.dev/outcome: fail`. */
export const SIMULATED_FAILURE_MESSAGE = `simulated failure (${SIM_OUTCOME_ANNOTATION}: fail)`;

type Outcome = 'ready' | 'fail' | 'never-ready';
const OUTCOMES: ReadonlySet<string> = new Set<Outcome>(['ready', 'fail', 'never-ready']);

/** How many resources a bundle message names before it counts the rest. */

interface LiveObject {
  object: KubeObject;
  /** What the bundle last applied (live fields that differ from it are drift). */
  applied?: KubeObject;
  /** The bundle that owns it; undefined once left behind by a remove with keepResources. */
  bundle: string | undefined;
  health: 'Ready' | 'NotReady' | 'Failed';
  message: string;
  timer: NodeJS.Timeout | undefined;
}

interface BundleRecord {
  revision: string;
  options: DeploymentOptions;
  /** Keys of the last valid apply's objects, in apply order. */
  desired: string[];
  /** Keys the bundle applied and owns (its inventory). */
  owned: Set<string>;
  /** Per-object apply errors of the last apply (conflicts). */
  errors: Map<string, string>;
  /** Why the last apply was refused as a whole (invalid content). */
  applyError: string | undefined;
  /** Status last seen, to tell listeners only about changes. */
  lastSeen: string;
}

/**
 * An in-memory cluster for `flotilla agent --simulate`: no Kubernetes API server needed, so one
 * machine can run thousands of agents. It keeps the objects applied to it, with an inventory per
 * bundle, and simulates health:
 *
 * - Deployment, StatefulSet, DaemonSet and Job become Ready `sim.flotilla.dev/ready-after`
 *   (default 1 s) after they are created or their spec (or sim annotations) change; other kinds
 *   are Ready at once unless they carry the annotation themselves.
 * - `sim.flotilla.dev/outcome: fail` makes the resource Failed — and its bundle ErrApplied —
 *   when the ready-after delay is over (the apply itself succeeds, as with a real workload that
 *   crashes or misses its progress deadline); `never-ready` keeps it NotReady for good.
 * - An object without apiVersion, kind or metadata.name, a duplicate, or a bad sim annotation
 *   makes the whole apply refused (nothing applied or pruned) and the bundle ErrApplied.
 * - An object another bundle owns is not taken over: that object is Failed, the bundle
 *   ErrApplied, and the rest of the bundle is applied.
 */
export class SimulatedCluster implements ClusterDriver, Applier {
  readonly kind = 'simulated' as const;
  private closed = false;
  private readonly objects = new Map<string, LiveObject>();
  private readonly bundles = new Map<string, BundleRecord>();
  private readonly listeners = new Set<(bundle: string) => void>();
  private resourceVersion = 0;

  kubernetesVersion(): Promise<string> {
    if (this.closed) return Promise.reject(new Error('simulated cluster is closed'));
    return Promise.resolve(SIMULATED_KUBERNETES_VERSION);
  }

  /** Stops every readiness timer and forgets the listeners; the objects stay readable. */
  close(): Promise<void> {
    this.closed = true;
    for (const live of this.objects.values()) clearTimeout(live.timer);
    this.listeners.clear();
    return Promise.resolve();
  }

  apply(
    bundle: string,
    revision: string,
    objects: readonly KubeObject[],
    options: DeploymentOptions,
  ): Promise<ApplyResult> {
    if (this.closed) return Promise.reject(new Error('simulated cluster is closed'));
    const result: ApplyResult = { created: [], configured: [], unchanged: [], pruned: [] };
    const record = this.bundles.get(bundle) ?? {
      revision,
      options,
      desired: [],
      owned: new Set<string>(),
      errors: new Map<string, string>(),
      applyError: undefined,
      lastSeen: '',
    };
    this.bundles.set(bundle, record);
    record.revision = revision;
    record.options = options;

    const problems = contentProblems(objects, options.defaultNamespace);
    if (problems.length > 0) {
      record.applyError = `invalid bundle content, nothing applied: ${listMessages(problems)}`;
      record.lastSeen = statusSignature(this.statusOf(bundle, record));
      return Promise.resolve(result);
    }

    const desired = objects.map((o) => {
      const ref = objectRef(o, options.defaultNamespace);
      return markOwned(o, bundle, revision, ref.namespace);
    });
    const live = new Map<string, KubeObject>();
    for (const o of desired) {
      const key = objectKey(o);
      const current = this.objects.get(key);
      if (current !== undefined) live.set(key, current.object);
    }
    const plan = planApply(desired, record.owned, live);
    const owned = new Set<string>();
    const errors = new Map<string, string>();

    for (const { key, object } of plan.create) {
      const entry: LiveObject = {
        object: withServerFields(object, undefined, ++this.resourceVersion),
        applied: object,
        bundle,
        health: 'NotReady',
        message: '',
        timer: undefined,
      };
      this.objects.set(key, entry);
      this.startHealth(entry);
      owned.add(key);
      result.created.push(key);
    }
    for (const { key, object } of plan.update) {
      const entry = this.objects.get(key)!;
      const owner = entry.bundle;
      if (owner !== undefined && owner !== bundle && this.bundles.get(owner)?.owned.has(key)) {
        errors.set(key, `already applied by bundle "${owner}"`);
        continue;
      }
      const restart = healthRelevantChange(object, entry.object);
      entry.object = withServerFields(object, entry.object, ++this.resourceVersion, restart);
      entry.applied = object;
      entry.bundle = bundle;
      if (restart) this.startHealth(entry);
      owned.add(key);
      result.configured.push(key);
    }
    for (const { key } of plan.unchanged) {
      this.objects.get(key)!.bundle = bundle;
      owned.add(key);
      result.unchanged.push(key);
    }
    for (const key of plan.prune) {
      const entry = this.objects.get(key);
      if (entry?.bundle !== bundle) continue;
      clearTimeout(entry.timer);
      this.objects.delete(key);
      result.pruned.push(key);
    }

    // Namespace labels other bundles set survive this bundle's own Namespace object replacing it.
    const replaced = new Set([...plan.create, ...plan.update].map((e) => e.key));
    for (const [name, other] of this.bundles) {
      const wanted = bundleNamespaceObject(other.options);
      if (wanted === undefined) continue;
      if (name === bundle || replaced.has(objectKey(wanted))) this.applyNamespaceMetadata(wanted);
    }
    record.desired = sortForApply(desired).map((o) => objectKey(o));
    record.owned = owned;
    record.errors = errors;
    record.applyError = undefined;
    if (errors.size > 0) result.failed = [...errors].map(([key, error]) => `${key}: ${error}`);
    record.lastSeen = statusSignature(this.statusOf(bundle, record));
    return Promise.resolve(result);
  }

  remove(bundle: string, options: { keepResources: boolean }): Promise<void> {
    if (this.closed) return Promise.reject(new Error('simulated cluster is closed'));
    const record = this.bundles.get(bundle);
    if (record === undefined) return Promise.resolve();
    for (const key of sortKeysForDelete([...record.owned])) {
      const entry = this.objects.get(key);
      if (entry?.bundle !== bundle) continue;
      clearTimeout(entry.timer);
      entry.timer = undefined;
      if (options.keepResources) entry.bundle = undefined;
      else this.objects.delete(key);
    }
    this.bundles.delete(bundle);
    const namespace = namespaceToDelete(record.options, options.keepResources);
    if (namespace !== undefined) this.deleteNamespace(namespace);
    return Promise.resolve();
  }

  /**
   * Fleet's namespaceLabels and namespaceAnnotations (`wanted`, see {@link bundleNamespaceObject}):
   * the bundle's namespace exists and carries them, merged over the labels and annotations it has.
   */
  private applyNamespaceMetadata(wanted: KubeObject): void {
    const key = objectKey(wanted);
    const entry = this.objects.get(key);
    if (entry === undefined) {
      const created: LiveObject = {
        object: withServerFields(wanted, undefined, ++this.resourceVersion),
        bundle: undefined,
        health: 'NotReady',
        message: '',
        timer: undefined,
      };
      this.objects.set(key, created);
      this.startHealth(created);
      return;
    }
    const object = structuredClone(entry.object);
    const meta = isPlainObject(object.metadata) ? object.metadata : {};
    const add = wanted.metadata as Record<string, Record<string, string> | undefined>;
    for (const field of ['labels', 'annotations'] as const) {
      if (add[field] === undefined) continue;
      const current = isPlainObject(meta[field]) ? meta[field] : {};
      meta[field] = { ...current, ...add[field] };
    }
    object.metadata = meta;
    entry.object = withServerFields(object, entry.object, ++this.resourceVersion);
  }

  /** Deletes a namespace and every object in it, as the API server does. */
  private deleteNamespace(namespace: string): void {
    const touched = new Set<string>();
    for (const [key, entry] of [...this.objects]) {
      const ref = parseObjectKey(key);
      const isIt = ref.kind === 'Namespace' && ref.apiVersion === 'v1' && ref.name === namespace;
      if (!isIt && ref.namespace !== namespace) continue;
      clearTimeout(entry.timer);
      this.objects.delete(key);
      if (entry.bundle !== undefined) touched.add(entry.bundle);
    }
    for (const bundle of touched) this.healthChanged(bundle);
  }

  bundleStatus(bundle: string): Promise<BundleStatus | undefined> {
    if (this.closed) return Promise.reject(new Error('simulated cluster is closed'));
    const record = this.bundles.get(bundle);
    return Promise.resolve(record === undefined ? undefined : this.statusOf(bundle, record));
  }

  heldBundles(): Promise<HeldBundle[]> {
    if (this.closed) return Promise.reject(new Error('simulated cluster is closed'));
    return Promise.resolve(
      [...this.bundles].map(([bundle, r]) => ({
        bundle,
        revision: r.revision,
        options: r.options,
      })),
    );
  }

  onChange(listener: (bundle: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Test hook: a copy of the live object with this key, or undefined. */
  liveObject(key: string): KubeObject | undefined {
    const entry = this.objects.get(key);
    return entry === undefined ? undefined : structuredClone(entry.object);
  }

  /** Test hook: the keys of every live object, sorted. */
  liveKeys(): string[] {
    return [...this.objects.keys()].sort();
  }

  /**
   * Test hook: changes a live object as someone with kubectl would (for drift). Its health stays
   * as it is; listeners hear about its bundle when the bundle's status changes.
   */
  editLiveObject(key: string, edit: (object: KubeObject) => void): void {
    const entry = this.objects.get(key);
    if (entry === undefined) throw new Error(`no live object ${key}`);
    const object = structuredClone(entry.object);
    edit(object);
    entry.object = withServerFields(object, entry.object, ++this.resourceVersion);
    if (entry.bundle !== undefined) this.healthChanged(entry.bundle);
  }

  /** Test hook: deletes a live object behind the bundle's back; it then shows as Missing. */
  deleteLiveObject(key: string): void {
    const entry = this.objects.get(key);
    if (entry === undefined) throw new Error(`no live object ${key}`);
    clearTimeout(entry.timer);
    this.objects.delete(key);
    if (entry.bundle !== undefined) this.healthChanged(entry.bundle);
  }

  /** Sets the resource's health after it was created or changed, and its timer. */
  private startHealth(entry: LiveObject): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    const { outcome, delayMs } = simulation(entry.object);
    const waiting = notReadyMessage(entry.object);
    const settle = (): void => {
      if (outcome === 'fail') {
        entry.health = 'Failed';
        entry.message = SIMULATED_FAILURE_MESSAGE;
      } else {
        entry.health = 'Ready';
        entry.message = '';
      }
    };
    entry.health = 'NotReady';
    entry.message = waiting;
    if (outcome === 'never-ready') return;
    if (delayMs <= 0) {
      settle();
      return;
    }
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      settle();
      if (entry.bundle !== undefined) this.healthChanged(entry.bundle);
    }, delayMs);
    entry.timer.unref();
  }

  /** Tells the listeners when the bundle's status differs from the one they last saw. */
  private healthChanged(bundle: string): void {
    const record = this.bundles.get(bundle);
    if (record === undefined || this.closed) return;
    const signature = statusSignature(this.statusOf(bundle, record));
    if (signature === record.lastSeen) return;
    record.lastSeen = signature;
    for (const listener of [...this.listeners]) {
      try {
        listener(bundle);
      } catch {
        // A listener's failure is its own business; the others still hear about the change.
      }
    }
  }

  private statusOf(bundle: string, record: BundleRecord): BundleStatus {
    const revision = record.revision;
    const resources: ResourceStatus[] = record.desired.map((key) => {
      const ref = parseObjectKey(key);
      const error = record.errors.get(key);
      const entry = this.objects.get(key);
      const resource = { ...ref, state: 'Ready' as ResourceStatus['state'], message: '' };
      if (error !== undefined) return { ...resource, state: 'Failed', message: error };
      if (entry?.bundle !== bundle) {
        return { ...resource, state: 'Missing', message: 'not found in the cluster' };
      }
      // An edit made out of band (`editLiveObject`) shows as drift, field by field, except in
      // the fields Fleet's diff.comparePatches leave out of the drift check.
      const drift =
        entry.applied === undefined
          ? []
          : diffOwnedFields(
              withoutComparedFields(
                entry.applied,
                record.options.comparePatches,
                record.options.defaultNamespace,
              ),
              entry.object,
            );
      if (drift.length > 0) {
        return {
          ...resource,
          state: 'Modified',
          message: `modified: ${summarizeDrift(drift)}`,
          drift: reportedDrift(drift),
        };
      }
      return { ...resource, state: entry.health, message: entry.message };
    });
    return rollUpBundleStatus(revision, resources, { applyError: record.applyError });
  }
}

/** Every reason the content cannot be applied: invalid objects, duplicates, bad sim annotations. */
function contentProblems(objects: readonly KubeObject[], defaultNamespace?: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  objects.forEach((object, index) => {
    const problem = objectProblem(object);
    if (problem !== undefined) {
      problems.push(`object ${index + 1}: ${problem}`);
      return;
    }
    const ref = objectRef(object, defaultNamespace);
    const key = objectKey(object, defaultNamespace);
    if (seen.has(key)) problems.push(`${describeRef(ref)} appears more than once`);
    seen.add(key);
    const annotationProblem = simulationProblem(object);
    if (annotationProblem !== undefined) problems.push(`${describeRef(ref)}: ${annotationProblem}`);
  });
  return problems;
}

function simulationProblem(object: KubeObject): string | undefined {
  const annotations = annotationsOf(object);
  const outcome = annotations[SIM_OUTCOME_ANNOTATION];
  if (outcome !== undefined && !OUTCOMES.has(outcome)) {
    return `${SIM_OUTCOME_ANNOTATION} must be ready, fail or never-ready, not "${outcome}"`;
  }
  const readyAfter = annotations[SIM_READY_AFTER_ANNOTATION];
  if (readyAfter !== undefined) {
    try {
      parseDuration(readyAfter);
    } catch {
      return `${SIM_READY_AFTER_ANNOTATION} "${readyAfter}" is not a duration (use e.g. 500ms, 2s)`;
    }
  }
  return undefined;
}

/** The outcome and delay the annotations ask for (validated beforehand). */
function simulation(object: KubeObject): { outcome: Outcome; delayMs: number } {
  const annotations = annotationsOf(object);
  const outcome = (annotations[SIM_OUTCOME_ANNOTATION] ?? 'ready') as Outcome;
  const readyAfter = annotations[SIM_READY_AFTER_ANNOTATION];
  const delayMs =
    readyAfter !== undefined
      ? parseDuration(readyAfter)
      : typeof object.kind === 'string' && SIMULATED_WORKLOAD_KINDS.has(object.kind)
        ? DEFAULT_WORKLOAD_READY_AFTER_MS
        : 0;
  return { outcome, delayMs };
}

/** What `kubectl get` would say about a resource that is not ready yet. */
function notReadyMessage(object: KubeObject): string {
  const spec = isPlainObject(object.spec) ? object.spec : {};
  const count = (value: unknown): number =>
    typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 1;
  switch (object.kind) {
    case 'Deployment':
      return `0/${count(spec.replicas)} replicas available`;
    case 'StatefulSet':
      return `0/${count(spec.replicas)} replicas ready`;
    case 'DaemonSet':
      return '0/1 scheduled pods ready';
    case 'Job':
      return `0/${count(spec.completions)} completions`;
    default:
      return 'not ready';
  }
}

/** True when the change restarts the resource's rollout: anything beyond metadata, or a sim annotation. */
function healthRelevantChange(desired: KubeObject, live: KubeObject): boolean {
  const specChanged = diffOwnedFields(desired, live).some((d) => !d.path.startsWith('metadata'));
  if (specChanged) return true;
  const a = annotationsOf(desired);
  const b = annotationsOf(live);
  return (
    a[SIM_OUTCOME_ANNOTATION] !== b[SIM_OUTCOME_ANNOTATION] ||
    a[SIM_READY_AFTER_ANNOTATION] !== b[SIM_READY_AFTER_ANNOTATION]
  );
}

/** The object with the metadata an API server sets: uid, resourceVersion, generation, creationTimestamp. */
function withServerFields(
  object: KubeObject,
  previous: KubeObject | undefined,
  resourceVersion: number,
  bumpGeneration = false,
): KubeObject {
  const copy = structuredClone(object);
  const meta = isPlainObject(copy.metadata) ? copy.metadata : {};
  const before =
    previous !== undefined && isPlainObject(previous.metadata) ? previous.metadata : {};
  const generation = typeof before.generation === 'number' ? before.generation : 0;
  copy.metadata = {
    ...meta,
    uid: typeof before.uid === 'string' ? before.uid : randomUUID(),
    creationTimestamp:
      typeof before.creationTimestamp === 'string'
        ? before.creationTimestamp
        : new Date().toISOString(),
    resourceVersion: String(resourceVersion),
    generation: previous === undefined ? 1 : bumpGeneration ? generation + 1 : generation,
  };
  return copy;
}

function statusSignature(status: BundleStatus): string {
  return JSON.stringify(status);
}

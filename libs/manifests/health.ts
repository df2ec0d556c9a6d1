import { isPlainObject, metadataOf, type KubeObject } from './types.js';

/** Health of one live object: Ready, still converging (NotReady), or given up (Failed). */
export const HealthState = {
  Ready: 'Ready',
  NotReady: 'NotReady',
  Failed: 'Failed',
} as const;
export type HealthState = (typeof HealthState)[keyof typeof HealthState];

/** The health of a live object and why (empty when Ready). */
export interface Health {
  state: HealthState;
  message: string;
}

/** A condition of `status.conditions`. */
interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

const READY: Health = { state: 'Ready', message: '' };

/**
 * The health of a live object from its `status`, as `kubectl rollout status` and Argo CD / Flux
 * health checks judge it: Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, Pod,
 * PersistentVolumeClaim, Service (LoadBalancer), CustomResourceDefinition, and any other object
 * with `status.observedGeneration` and/or a `Ready` (or `Stalled`) condition. Objects without a
 * status to judge (ConfigMap, Secret, RBAC, ...) are Ready. Messages name no object (callers
 * prefix `Kind name: `), e.g. `1/3 replicas available`.
 */
export function assessHealth(object: KubeObject): Health {
  const status = isPlainObject(object.status) ? object.status : undefined;
  switch (object.kind) {
    case 'Deployment':
      return deploymentHealth(object, status);
    case 'StatefulSet':
      return statefulSetHealth(object, status);
    case 'DaemonSet':
      return daemonSetHealth(object, status);
    case 'ReplicaSet':
      return replicaSetHealth(object, status);
    case 'Job':
      return jobHealth(object, status);
    case 'Pod':
      return podHealth(status);
    case 'PersistentVolumeClaim':
      return pvcHealth(status);
    case 'Service':
      return serviceHealth(object, status);
    case 'CustomResourceDefinition':
      return crdHealth(status);
    default:
      return genericHealth(object, status);
  }
}

function notReady(message: string): Health {
  return { state: 'NotReady', message };
}

function failed(message: string): Health {
  return { state: 'Failed', message };
}

function num(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function specOf(object: KubeObject): Record<string, unknown> {
  return isPlainObject(object.spec) ? object.spec : {};
}

function generationOf(object: KubeObject): number | undefined {
  const generation = metadataOf(object)?.generation;
  return typeof generation === 'number' ? generation : undefined;
}

/** The message when the controller has not seen the newest spec yet, else undefined. */
function unobserved(
  object: KubeObject,
  status: Record<string, unknown> | undefined,
): string | undefined {
  const generation = generationOf(object);
  if (generation === undefined) return undefined;
  const observed = status?.observedGeneration;
  if (typeof observed !== 'number') return 'waiting for the controller to observe it';
  if (observed < generation) {
    return `waiting for the controller to observe generation ${generation} (at ${observed})`;
  }
  return undefined;
}

function conditionsOf(status: Record<string, unknown> | undefined): Condition[] {
  const list = status?.conditions;
  if (!Array.isArray(list)) return [];
  return list.filter(isPlainObject).map((c) => ({
    type: typeof c.type === 'string' ? c.type : '',
    status: typeof c.status === 'string' ? c.status : '',
    reason: typeof c.reason === 'string' ? c.reason : '',
    message: typeof c.message === 'string' ? c.message : '',
  }));
}

function condition(
  status: Record<string, unknown> | undefined,
  type: string,
): Condition | undefined {
  return conditionsOf(status).find((c) => c.type === type);
}

/** `reason: message`, or whichever of them there is, or the fallback. */
function explain(c: Condition, fallback: string): string {
  const parts = [c.reason, c.message].filter((p) => p !== '');
  return parts.length > 0 ? parts.join(': ') : fallback;
}

function deploymentHealth(object: KubeObject, status: Record<string, unknown> | undefined): Health {
  const waiting = unobserved(object, status);
  if (waiting !== undefined) return notReady(waiting);
  const progressing = condition(status, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return failed(explain(progressing, 'progress deadline exceeded'));
  }
  const desired = num(specOf(object).replicas, 1);
  const updated = num(status?.updatedReplicas);
  const available = num(status?.availableReplicas);
  const total = num(status?.replicas);
  if (updated < desired) return notReady(`${updated}/${desired} replicas updated`);
  if (total > updated) return notReady(`${total - updated} old replicas pending termination`);
  if (available < desired) return notReady(`${available}/${desired} replicas available`);
  return READY;
}

function statefulSetHealth(
  object: KubeObject,
  status: Record<string, unknown> | undefined,
): Health {
  const waiting = unobserved(object, status);
  if (waiting !== undefined) return notReady(waiting);
  const spec = specOf(object);
  const desired = num(spec.replicas, 1);
  const ready = num(status?.readyReplicas);
  if (ready < desired) return notReady(`${ready}/${desired} replicas ready`);
  const strategy = isPlainObject(spec.updateStrategy) ? spec.updateStrategy : {};
  if (strategy.type === 'OnDelete') return READY;
  const rolling = isPlainObject(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
  const partition = num(rolling.partition);
  const updated = num(status?.updatedReplicas);
  if (updated < desired - partition) {
    return notReady(`${updated}/${desired - partition} replicas updated`);
  }
  if (
    partition === 0 &&
    typeof status?.updateRevision === 'string' &&
    status.currentRevision !== status.updateRevision
  ) {
    return notReady(`rolling out revision ${status.updateRevision}`);
  }
  return READY;
}

function daemonSetHealth(object: KubeObject, status: Record<string, unknown> | undefined): Health {
  const waiting = unobserved(object, status);
  if (waiting !== undefined) return notReady(waiting);
  const desired = num(status?.desiredNumberScheduled);
  const updated = num(status?.updatedNumberScheduled);
  const available = num(status?.numberAvailable);
  const strategy = specOf(object).updateStrategy;
  const onDelete = isPlainObject(strategy) && strategy.type === 'OnDelete';
  if (!onDelete && updated < desired) return notReady(`${updated}/${desired} pods updated`);
  if (available < desired) return notReady(`${available}/${desired} pods available`);
  return READY;
}

function replicaSetHealth(object: KubeObject, status: Record<string, unknown> | undefined): Health {
  const waiting = unobserved(object, status);
  if (waiting !== undefined) return notReady(waiting);
  const failure = condition(status, 'ReplicaFailure');
  if (failure?.status === 'True') return failed(explain(failure, 'replica failure'));
  const desired = num(specOf(object).replicas, 1);
  const available = num(status?.availableReplicas);
  if (available < desired) return notReady(`${available}/${desired} replicas available`);
  return READY;
}

function jobHealth(object: KubeObject, status: Record<string, unknown> | undefined): Health {
  const failedCondition = condition(status, 'Failed');
  if (failedCondition?.status === 'True') return failed(explain(failedCondition, 'job failed'));
  const complete = condition(status, 'Complete');
  if (complete?.status === 'True') return READY;
  const completions = num(specOf(object).completions, 1);
  const succeeded = num(status?.succeeded);
  return notReady(`${succeeded}/${completions} completions`);
}

function podHealth(status: Record<string, unknown> | undefined): Health {
  const phase = typeof status?.phase === 'string' ? status.phase : 'Pending';
  if (phase === 'Succeeded') return READY;
  if (phase === 'Failed') {
    return failed(
      typeof status?.reason === 'string' ? `pod failed: ${status.reason}` : 'pod failed',
    );
  }
  const containers = Array.isArray(status?.containerStatuses) ? status.containerStatuses : [];
  for (const c of containers.filter(isPlainObject)) {
    const state = isPlainObject(c.state) ? c.state : {};
    const waiting = isPlainObject(state.waiting) ? state.waiting : undefined;
    if (typeof waiting?.reason === 'string' && waiting.reason !== 'ContainerCreating') {
      const name = typeof c.name === 'string' ? c.name : 'container';
      return notReady(`container ${name}: ${waiting.reason}`);
    }
  }
  const ready = condition(status, 'Ready');
  if (phase === 'Running' && ready?.status === 'True') return READY;
  return notReady(ready !== undefined && ready.reason !== '' ? ready.reason : `phase ${phase}`);
}

function pvcHealth(status: Record<string, unknown> | undefined): Health {
  const phase = typeof status?.phase === 'string' ? status.phase : 'Pending';
  if (phase === 'Bound') return READY;
  if (phase === 'Lost') return failed('the bound volume is lost');
  return notReady(`phase ${phase}, not Bound`);
}

function serviceHealth(object: KubeObject, status: Record<string, unknown> | undefined): Health {
  if (specOf(object).type !== 'LoadBalancer') return READY;
  const lb = isPlainObject(status?.loadBalancer) ? status.loadBalancer : {};
  const ingress = Array.isArray(lb.ingress) ? lb.ingress : [];
  return ingress.length > 0 ? READY : notReady('waiting for a load balancer address');
}

function crdHealth(status: Record<string, unknown> | undefined): Health {
  const names = condition(status, 'NamesAccepted');
  if (names?.status === 'False') return failed(explain(names, 'names not accepted'));
  const established = condition(status, 'Established');
  if (established?.status === 'True') return READY;
  return notReady('not Established yet');
}

function genericHealth(object: KubeObject, status: Record<string, unknown> | undefined): Health {
  if (status === undefined) return READY;
  if (typeof status.observedGeneration === 'number') {
    const waiting = unobserved(object, status);
    if (waiting !== undefined) return notReady(waiting);
  }
  const stalled = condition(status, 'Stalled');
  if (stalled?.status === 'True') return failed(explain(stalled, 'stalled'));
  const ready = condition(status, 'Ready');
  if (ready === undefined || ready.status === 'True') return READY;
  return notReady(explain(ready, `Ready is ${ready.status || 'Unknown'}`));
}

import { isPlainObject, type KubeObject } from '../manifests/index.js';

/**
 * A default the API server fills in: at `path` (field names joined by `.`, `[]` for every item
 * of a list) when the parent exists and the field is absent. A function computes the value from
 * the parent (the field is left absent when it returns undefined).
 */
type Default = readonly [path: string, value: unknown];

/** What the API server of the fake allocates while defaulting. */
export interface DefaultingContext {
  /** A free ClusterIP for a new Service. */
  allocateClusterIP(): string;
}

const CONTAINER_DEFAULTS: readonly Default[] = [
  ['ports[].protocol', 'TCP'],
  ['resources', {}],
  ['terminationMessagePath', '/dev/termination-log'],
  ['terminationMessagePolicy', 'File'],
  ['imagePullPolicy', (container: Record<string, unknown>) => pullPolicyOf(container.image)],
];

/** Defaults of a PodSpec, relative to it; `restartPolicy` only for long-running workloads. */
const podSpecDefaults = (restartPolicy: boolean): Default[] => [
  ...['containers', 'initContainers'].flatMap((list) =>
    CONTAINER_DEFAULTS.map(([path, value]): Default => [`${list}[].${path}`, value]),
  ),
  ...(restartPolicy ? [['restartPolicy', 'Always'] as const] : []),
  ['terminationGracePeriodSeconds', 30],
  ['dnsPolicy', 'ClusterFirst'],
  ['securityContext', {}],
  ['schedulerName', 'default-scheduler'],
];

const under = (prefix: string, defaults: readonly Default[]): Default[] =>
  defaults.map(([path, value]) => [`${prefix}.${path}`, value]);

/**
 * The defaults of the built-in kinds, by `<group>/<kind>`, as a real kube-apiserver (v1.36)
 * fills them in (see `../shared/k8s-observed/`). Not every default of every kind: those of the
 * objects bundles hold most, and every one that keys a list item (`protocol`).
 */
const DEFAULTS: Record<string, (ctx: DefaultingContext) => Default[]> = {
  '/Service': (ctx) => [
    ['spec.ports[].protocol', 'TCP'],
    ['spec.ports[].targetPort', (port: Record<string, unknown>) => port.port],
    ['spec.type', 'ClusterIP'],
    ['spec.sessionAffinity', 'None'],
    [
      'spec.clusterIP',
      (spec: Record<string, unknown>) =>
        spec.type === 'ExternalName' ? undefined : ctx.allocateClusterIP(),
    ],
    [
      'spec.clusterIPs',
      (spec: Record<string, unknown>) =>
        typeof spec.clusterIP === 'string' ? [spec.clusterIP] : undefined,
    ],
    [
      'spec.ipFamilies',
      (spec: Record<string, unknown>) => (spec.type === 'ExternalName' ? undefined : ['IPv4']),
    ],
    [
      'spec.ipFamilyPolicy',
      (spec: Record<string, unknown>) => (spec.type === 'ExternalName' ? undefined : 'SingleStack'),
    ],
    [
      'spec.internalTrafficPolicy',
      (spec: Record<string, unknown>) => (spec.type === 'ExternalName' ? undefined : 'Cluster'),
    ],
    ['status', { loadBalancer: {} }],
  ],
  '/Pod': () => under('spec', podSpecDefaults(true)),
  'apps/Deployment': () => [
    ['spec.replicas', 1],
    ...under('spec.template.spec', podSpecDefaults(true)),
    ['spec.strategy', { type: 'RollingUpdate' }],
    [
      'spec.strategy.rollingUpdate',
      (strategy: Record<string, unknown>) =>
        strategy.type === 'RollingUpdate' ? { maxUnavailable: '25%', maxSurge: '25%' } : undefined,
    ],
    ['spec.revisionHistoryLimit', 10],
    ['spec.progressDeadlineSeconds', 600],
    ['status', {}],
  ],
  'apps/StatefulSet': () => [
    ['spec.replicas', 1],
    ...under('spec.template.spec', podSpecDefaults(true)),
    ['spec.podManagementPolicy', 'OrderedReady'],
    ['spec.updateStrategy', { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }],
    ['spec.revisionHistoryLimit', 10],
    ['spec.persistentVolumeClaimRetentionPolicy', { whenDeleted: 'Retain', whenScaled: 'Retain' }],
  ],
  'apps/DaemonSet': () => [
    ...under('spec.template.spec', podSpecDefaults(true)),
    ['spec.updateStrategy', { type: 'RollingUpdate' }],
    [
      'spec.updateStrategy.rollingUpdate',
      (strategy: Record<string, unknown>) =>
        strategy.type === 'RollingUpdate' ? { maxUnavailable: 1, maxSurge: 0 } : undefined,
    ],
    ['spec.revisionHistoryLimit', 10],
  ],
  'apps/ReplicaSet': () => [
    ['spec.replicas', 1],
    ...under('spec.template.spec', podSpecDefaults(true)),
  ],
  'batch/Job': () => under('spec.template.spec', podSpecDefaults(false)),
};

/**
 * Fills in the API server's defaults of a built-in kind (in place), as a real kube-apiserver
 * does on every write; other kinds are left as they are.
 */
export function applyDefaults(object: KubeObject, ctx: DefaultingContext): void {
  const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
  const defaults = DEFAULTS[`${group}/${String(object.kind)}`];
  if (defaults === undefined) return;
  for (const [path, value] of defaults(ctx)) fill(object, path.split('.'), value);
}

function fill(parent: Record<string, unknown>, path: readonly string[], value: unknown): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  const list = head.endsWith('[]');
  const field = list ? head.slice(0, -2) : head;
  if (list) {
    const items = parent[field];
    if (!Array.isArray(items)) return;
    for (const item of items) if (isPlainObject(item)) fill(item, rest, value);
    return;
  }
  if (rest.length > 0) {
    const child = parent[field];
    if (isPlainObject(child)) fill(child, rest, value);
    return;
  }
  if (parent[field] !== undefined) return;
  const filled =
    typeof value === 'function'
      ? (value as (p: Record<string, unknown>) => unknown)(parent)
      : structuredClone(value);
  if (filled !== undefined) parent[field] = filled;
}

/** `Always` for an image without a tag or with `:latest` (and no digest), else `IfNotPresent`. */
function pullPolicyOf(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const name = image.slice(image.lastIndexOf('/') + 1);
  const tag = name.includes(':') ? name.slice(name.indexOf(':') + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

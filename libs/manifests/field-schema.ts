import { isPlainObject, type KubeObject } from './types.js';

/**
 * A list the API server merges by key (`x-kubernetes-list-type: map`): items are matched by the
 * values of `keys`, and server-side apply names an item in managed fields as
 * `k:{"<key>":<value>,...}`. `keyDefaults` are the values the API server fills in for a key field
 * the applied item leaves out (a Service port without `protocol` is keyed with `"TCP"`).
 */
export interface ListMap {
  readonly keys: readonly string[];
  readonly keyDefaults?: Readonly<Record<string, unknown>>;
}

/**
 * How the API server treats the fields of one kind, by schema path: field names joined by `.`,
 * a list's items as `[]` (e.g. `spec.template.spec.containers[].ports`). A path not listed is a
 * map merged field by field (objects) or a list owned as a whole (arrays).
 */
export interface FieldSchema {
  /** The list-map at `path`, or undefined (an atomic list, or no list). */
  listMap(path: string): ListMap | undefined;
  /** True when the object at `path` is owned as a whole (`x-kubernetes-map-type: atomic`). */
  atomic(path: string): boolean;
}

type Rule = ListMap | 'atomic';

const PORTS: ListMap = { keys: ['containerPort', 'protocol'], keyDefaults: { protocol: 'TCP' } };
const BY_NAME: ListMap = { keys: ['name'] };

/** The list-maps of a container (`containers[]`, `initContainers[]`, `ephemeralContainers[]`). */
const CONTAINER_RULES: Record<string, Rule> = {
  ports: PORTS,
  env: BY_NAME,
  volumeMounts: { keys: ['mountPath'] },
  volumeDevices: { keys: ['devicePath'] },
  resizePolicy: { keys: ['resourceName'] },
};

/** The list-maps and atomic structs of a PodSpec, relative to it. */
const POD_SPEC_RULES: Record<string, Rule> = {
  containers: BY_NAME,
  initContainers: BY_NAME,
  ephemeralContainers: BY_NAME,
  volumes: BY_NAME,
  imagePullSecrets: BY_NAME,
  resourceClaims: BY_NAME,
  schedulingGates: BY_NAME,
  hostAliases: { keys: ['ip'] },
  topologySpreadConstraints: { keys: ['topologyKey', 'whenUnsatisfiable'] },
  ...Object.fromEntries(
    ['containers', 'initContainers', 'ephemeralContainers'].flatMap((list) =>
      Object.entries(CONTAINER_RULES).map(([field, rule]) => [`${list}[].${field}`, rule]),
    ),
  ),
};

const under = (prefix: string, rules: Record<string, Rule>): Record<string, Rule> =>
  Object.fromEntries(Object.entries(rules).map(([path, rule]) => [`${prefix}.${path}`, rule]));

/** A workload with a pod template at `spec.template` and a label selector. */
const WORKLOAD_RULES: Record<string, Rule> = {
  'spec.selector': 'atomic',
  ...under('spec.template.spec', POD_SPEC_RULES),
};

/**
 * The rules of the built-in kinds the agent applies most, by `<group>/<kind>` (core group empty),
 * as the API server's OpenAPI schema states them.
 */
const KIND_RULES: Record<string, Record<string, Rule>> = {
  '/Pod': under('spec', POD_SPEC_RULES),
  '/Service': {
    'spec.ports': { keys: ['port', 'protocol'], keyDefaults: { protocol: 'TCP' } },
    'spec.selector': 'atomic',
  },
  'apps/Deployment': WORKLOAD_RULES,
  'apps/ReplicaSet': WORKLOAD_RULES,
  'apps/StatefulSet': WORKLOAD_RULES,
  'apps/DaemonSet': WORKLOAD_RULES,
  'batch/Job': WORKLOAD_RULES,
  'batch/CronJob': {
    'spec.jobTemplate.spec.selector': 'atomic',
    ...under('spec.jobTemplate.spec.template.spec', POD_SPEC_RULES),
  },
};

const NO_RULES: FieldSchema = { listMap: () => undefined, atomic: () => false };

/** The field schema of an object's kind (nothing known for other kinds: maps merge, lists are atomic). */
export function fieldSchemaOf(object: Pick<KubeObject, 'apiVersion' | 'kind'>): FieldSchema {
  const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
  const rules = KIND_RULES[`${group}/${String(object.kind)}`];
  if (rules === undefined) return NO_RULES;
  return {
    listMap: (path) => {
      const rule = rules[path];
      return rule === undefined || rule === 'atomic' ? undefined : rule;
    },
    atomic: (path) => rules[path] === 'atomic',
  };
}

/** The schema path of a field under `path` (`''` is the object itself). */
export function childPath(path: string, field: string): string {
  return path === '' ? field : `${path}.${field}`;
}

/** The `k:{...}` segment naming an item of a list-map (key fields sorted, defaults filled in). */
export function listItemSegment(map: ListMap, item: unknown): string | undefined {
  if (!isPlainObject(item)) return undefined;
  const key: Record<string, unknown> = {};
  for (const field of [...map.keys].sort()) {
    const value = item[field] ?? map.keyDefaults?.[field];
    if (value !== undefined) key[field] = value;
  }
  return Object.keys(key).length === 0 ? undefined : `k:${JSON.stringify(key)}`;
}

/**
 * True when a list item is the one a `k:{...}` segment names. Key fields the item leaves out
 * take `keyDefaults` (when `map` is known) — the API server keys items after defaulting them.
 */
export function itemMatchesKey(segment: string, item: unknown, map?: ListMap): boolean {
  if (!segment.startsWith('k:') || !isPlainObject(item)) return false;
  let key: unknown;
  try {
    key = JSON.parse(segment.slice(2));
  } catch {
    return false;
  }
  if (!isPlainObject(key)) return false;
  return Object.entries(key).every(
    ([k, v]) => JSON.stringify(item[k] ?? map?.keyDefaults?.[k]) === JSON.stringify(v),
  );
}

import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { sortKeysForDelete } from './apply-order.js';
import {
  formatObjectKey,
  isClusterScoped,
  KUBERNETES_DEFAULT_NAMESPACE,
  objectProblem,
  parseObjectKey,
  type ObjectRef,
} from './object-key.js';
import { BUNDLE_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from './ownership.js';
import { isPlainObject, metadataOf, stringMap, type KubeObject } from './types.js';

/** Namespace the agent keeps its per-bundle inventories in (created on demand). */
export const INVENTORY_NAMESPACE = 'flotilla-system';

/** Label on every inventory ConfigMap, to list them. */
export const INVENTORY_LABEL = 'flotilla.dev/inventory';

/** Largest compressed copy of a bundle's objects an inventory keeps (ConfigMaps hold 1 MiB). */
export const INVENTORY_MAX_OBJECTS_BYTES = 512 * 1024;

/** What a bundle applied, as kept in the cluster so it outlives the agent and the hub. */
export interface Inventory {
  bundle: string;
  /** The revision last applied; empty while the first apply of the bundle is under way. */
  revision: string;
  /** The options of the last apply. */
  options: Record<string, unknown>;
  /** Keys of every object the bundle may have created (see `objectKey`), in apply order. */
  keys: string[];
  /**
   * The objects as last applied (with ownership marks), for drift detection after a restart;
   * undefined when they did not fit.
   */
  objects?: KubeObject[];
}

/** Name of the inventory ConfigMap of a bundle: `flotilla-inventory-<16 hex of sha256(bundle)>`. */
export function inventoryName(bundle: string): string {
  return `flotilla-inventory-${createHash('sha256').update(bundle).digest('hex').slice(0, 16)}`;
}

/** The ConfigMap that holds an inventory (in {@link INVENTORY_NAMESPACE}). */
export function inventoryConfigMap(inventory: Inventory): KubeObject {
  const data: Record<string, string> = {
    bundle: inventory.bundle,
    revision: inventory.revision,
    options: JSON.stringify(inventory.options),
    keys: JSON.stringify(inventory.keys),
  };
  const configMap: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: inventoryName(inventory.bundle),
      namespace: INVENTORY_NAMESPACE,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [INVENTORY_LABEL]: 'true' },
      annotations: { [BUNDLE_ANNOTATION]: inventory.bundle },
    },
    data,
  };
  if (inventory.objects !== undefined) {
    const packed = gzipSync(JSON.stringify(inventory.objects));
    if (packed.length <= INVENTORY_MAX_OBJECTS_BYTES) {
      configMap.binaryData = { 'objects.json.gz': packed.toString('base64') };
    }
  }
  return configMap;
}

/** The inventory an inventory ConfigMap holds; throws when it is not one. */
export function parseInventory(configMap: KubeObject): Inventory {
  const name = metadataOf(configMap)?.name;
  const data = stringMap(configMap.data);
  const fail = (why: string): never => {
    throw new Error(`inventory ConfigMap ${String(name)} is malformed: ${why}`);
  };
  const bundle = data.bundle ?? fail('no bundle');
  const keys = parseJsonField(data.keys, 'keys', fail);
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) fail('keys');
  for (const key of keys as string[]) parseObjectKey(key);
  const options = parseJsonField(data.options ?? '{}', 'options', fail);
  if (!isPlainObject(options)) fail('options');
  const inventory: Inventory = {
    bundle,
    revision: data.revision ?? '',
    options: options as Record<string, unknown>,
    keys: keys as string[],
  };
  const packed = stringMap(configMap.binaryData)['objects.json.gz'];
  if (packed !== undefined) {
    const objects = parseJsonField(
      gunzipSync(Buffer.from(packed, 'base64')).toString('utf8'),
      'objects',
      fail,
    );
    if (Array.isArray(objects) && objects.every(isPlainObject)) inventory.objects = objects;
  }
  return inventory;
}

function parseJsonField(
  text: string | undefined,
  field: string,
  fail: (why: string) => never,
): unknown {
  if (text === undefined) return fail(`no ${field}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return fail(`${field} is not JSON`);
  }
}

/**
 * Keys applied before (the inventory) that are no longer desired, in delete order: what a new
 * apply prunes. Objects never in the inventory are never pruned.
 */
export function pruneKeys(inventory: Iterable<string>, desired: Iterable<string>): string[] {
  const keep = new Set(desired);
  return sortKeysForDelete([...new Set([...inventory].filter((k) => !keep.has(k)))]);
}

/**
 * Scope of the custom resources the CustomResourceDefinitions among `objects` define, by
 * `apiVersion/kind` (one entry per served version): true when namespaced.
 */
export function customResourceScopes(objects: readonly KubeObject[]): Map<string, boolean> {
  const scopes = new Map<string, boolean>();
  for (const object of objects) {
    if (object.kind !== 'CustomResourceDefinition' || !isPlainObject(object.spec)) continue;
    const { group, names, scope, versions } = object.spec;
    if (typeof group !== 'string' || !isPlainObject(names) || typeof names.kind !== 'string') {
      continue;
    }
    for (const version of Array.isArray(versions) ? versions : []) {
      if (isPlainObject(version) && typeof version.name === 'string') {
        scopes.set(`${group}/${version.name}/${names.kind}`, scope !== 'Cluster');
      }
    }
  }
  return scopes;
}

/**
 * The identity of an object given whether its kind is namespaced (as discovery or a
 * CustomResourceDefinition tells; when unknown, the static list of `isClusterScoped`): a
 * namespaced object without a namespace gets `defaultNamespace`, else `default`; a
 * cluster-scoped one has none. Throws for an invalid object (see `objectProblem`).
 */
export function scopedRef(
  object: KubeObject,
  namespaced: boolean | undefined,
  defaultNamespace?: string,
): ObjectRef {
  const problem = objectProblem(object);
  if (problem !== undefined) throw new Error(problem);
  const apiVersion = object.apiVersion as string;
  const kind = object.kind as string;
  const meta = metadataOf(object)!;
  const name = meta.name as string;
  if (!(namespaced ?? !isClusterScoped(kind))) return { apiVersion, kind, name };
  const own = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : '';
  const namespace = own || defaultNamespace || KUBERNETES_DEFAULT_NAMESPACE;
  return { apiVersion, kind, namespace, name };
}

/** {@link scopedRef} as a key. */
export function scopedKey(
  object: KubeObject,
  namespaced: boolean | undefined,
  defaultNamespace?: string,
): string {
  return formatObjectKey(scopedRef(object, namespaced, defaultNamespace));
}

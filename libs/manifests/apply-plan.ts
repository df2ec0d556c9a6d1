import { sortForApply, sortKeysForDelete } from './apply-order.js';
import { hasDesiredFields } from './drift.js';
import { objectKey } from './object-key.js';
import type { KubeObject } from './types.js';

/** A desired object with its key. */
export interface PlannedObject {
  key: string;
  object: KubeObject;
}

/** What applying a bundle's desired objects to a cluster takes. */
export interface ApplyPlan {
  /** Desired objects that are not live, in apply order. */
  create: PlannedObject[];
  /** Desired objects that are live but lack some desired field (or value), in apply order. */
  update: PlannedObject[];
  /** Desired objects whose live version already has every desired field, in apply order. */
  unchanged: PlannedObject[];
  /** Keys applied last time (the inventory) that are no longer desired, in delete order. */
  prune: string[];
}

/**
 * Plans an apply: `desired` objects (keyed with `defaultNamespace`, see `objectKey`), the
 * `inventory` (keys applied last time) and the `live` objects by key. An object counts as
 * unchanged when the live one has every desired field (see `diffOwnedFields`). Prune lists only
 * inventory keys: live objects nobody applied are never pruned. Throws `InvalidObjectError` for
 * an object without apiVersion, kind or metadata.name, and an Error for two objects with the same
 * key.
 */
export function planApply(
  desired: readonly KubeObject[],
  inventory: Iterable<string>,
  live: ReadonlyMap<string, KubeObject>,
  defaultNamespace?: string,
): ApplyPlan {
  const plan: ApplyPlan = { create: [], update: [], unchanged: [], prune: [] };
  const keys = new Set<string>();
  for (const object of sortForApply(desired)) {
    const key = objectKey(object, defaultNamespace);
    if (keys.has(key)) throw new Error(`the object ${key} appears more than once`);
    keys.add(key);
    const current = live.get(key);
    const entry = { key, object };
    if (current === undefined) plan.create.push(entry);
    else if (hasDesiredFields(object, current)) plan.unchanged.push(entry);
    else plan.update.push(entry);
  }
  const stale = new Set<string>();
  for (const key of inventory) if (!keys.has(key)) stale.add(key);
  plan.prune = sortKeysForDelete([...stale]);
  return plan;
}

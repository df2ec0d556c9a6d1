import { isClusterScoped, parseObjectKey } from './object-key.js';

/**
 * Apply tiers: CRDs first (so custom resources of the same bundle can be created), then
 * namespaces (so namespaced objects have a home), other cluster-scoped objects, and namespaced
 * objects last.
 */
export function applyTier(kind: unknown): number {
  if (kind === 'CustomResourceDefinition') return 0;
  if (kind === 'Namespace') return 1;
  if (typeof kind === 'string' && isClusterScoped(kind)) return 2;
  return 3;
}

/** Objects in apply order (see {@link applyTier}); stable: objects of one tier keep their order. */
export function sortForApply<T extends { kind?: unknown }>(objects: readonly T[]): T[] {
  return objects
    .map((object, index) => ({ object, index, tier: applyTier(object.kind) }))
    .sort((a, b) => a.tier - b.tier || a.index - b.index)
    .map((e) => e.object);
}

/** Objects in delete order: exactly the reverse of {@link sortForApply}. */
export function sortForDelete<T extends { kind?: unknown }>(objects: readonly T[]): T[] {
  return sortForApply(objects).reverse();
}

/** Object keys (see `objectKey`) in delete order, like {@link sortForDelete}. */
export function sortKeysForDelete(keys: readonly string[]): string[] {
  return sortForDelete(keys.map((key) => ({ key, kind: parseObjectKey(key).kind }))).map(
    (e) => e.key,
  );
}

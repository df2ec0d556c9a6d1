import { isPlainObject, stringMap, type KubeObject } from './types.js';

/** Annotation naming the bundle that owns an object (bundle names contain `/`, so not a label). */
export const BUNDLE_ANNOTATION = 'flotilla.dev/bundle';
/** Annotation with the bundle revision (a 64-character hash: too long for a label value). */
export const REVISION_ANNOTATION = 'flotilla.dev/revision';
/** Label on every object Flotilla applies, to select them all. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** Value of {@link MANAGED_BY_LABEL}. */
export const MANAGED_BY_VALUE = 'flotilla';

/**
 * A copy of `obj` marked as owned by `bundle` at `revision` (annotations
 * {@link BUNDLE_ANNOTATION} and {@link REVISION_ANNOTATION}, label {@link MANAGED_BY_LABEL}),
 * with `metadata.namespace` set when `namespace` is given. `obj` itself is left alone.
 */
export function markOwned(
  obj: KubeObject,
  bundle: string,
  revision: string,
  namespace?: string,
): KubeObject {
  const copy = structuredClone(obj);
  const meta = isPlainObject(copy.metadata) ? copy.metadata : {};
  meta.annotations = {
    ...stringMap(meta.annotations),
    [BUNDLE_ANNOTATION]: bundle,
    [REVISION_ANNOTATION]: revision,
  };
  meta.labels = { ...stringMap(meta.labels), [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
  if (namespace !== undefined) meta.namespace = namespace;
  copy.metadata = meta;
  return copy;
}

/** The bundle an object is owned by ({@link BUNDLE_ANNOTATION}), if any. */
export function ownerBundle(obj: KubeObject): string | undefined {
  const meta = obj.metadata;
  return isPlainObject(meta) ? stringMap(meta.annotations)[BUNDLE_ANNOTATION] : undefined;
}

/**
 * A Kubernetes object as it travels in a bundle: plain JSON with `apiVersion`, `kind` and
 * `metadata`. Every other field is kept as it is.
 */
export interface KubeObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: unknown;
  [field: string]: unknown;
}

/** The parts of `metadata` Flotilla reads and writes. */
export interface ObjectMeta {
  name?: unknown;
  namespace?: unknown;
  labels?: unknown;
  annotations?: unknown;
  [field: string]: unknown;
}

/** True for a plain JSON object (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object's `metadata`, or undefined when it has none (or it is not an object). */
export function metadataOf(obj: KubeObject): ObjectMeta | undefined {
  return isPlainObject(obj.metadata) ? obj.metadata : undefined;
}

/** A string-to-string map of the metadata (`labels`, `annotations`); empty when absent. */
export function stringMap(value: unknown): Record<string, string> {
  if (!isPlainObject(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The object's annotations (empty when it has none). */
export function annotationsOf(obj: KubeObject): Record<string, string> {
  return stringMap(metadataOf(obj)?.annotations);
}

/** The object's labels (empty when it has none). */
export function labelsOf(obj: KubeObject): Record<string, string> {
  return stringMap(metadataOf(obj)?.labels);
}

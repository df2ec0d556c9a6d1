// Fleet's `diff.comparePatches` and `ignore.conditions`: fields the drift check ignores and
// status conditions the health check ignores, as pure functions over the objects.
import { KUBERNETES_DEFAULT_NAMESPACE } from './object-key.js';
import { isPlainObject, type KubeObject } from './types.js';

/** One of Fleet's compare patches (see DeploymentOptions.comparePatches). */
export interface ComparePatchRule {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  operations?: { op: string; path: string; value?: string }[];
  jsonPointers?: string[];
}

function metaString(obj: KubeObject, key: string): string | undefined {
  const meta = obj.metadata;
  if (!isPlainObject(meta)) return undefined;
  const value = meta[key];
  return typeof value === 'string' ? value : undefined;
}

/** `/a/b~1c` → `['a', 'b/c']`. */
function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function removeAt(value: unknown, segments: readonly string[]): unknown {
  const [head, ...rest] = segments;
  if (head === undefined) return undefined;
  if (Array.isArray(value)) {
    const index = Number(head);
    if (!Number.isInteger(index) || index < 0 || index >= value.length) return value;
    const items: unknown[] = value;
    if (rest.length === 0) return items.filter((_, i) => i !== index);
    return items.map((item, i) => (i === index ? removeAt(item, rest) : item));
  }
  if (!isPlainObject(value) || !Object.hasOwn(value, head)) return value;
  const out: Record<string, unknown> = { ...value };
  if (rest.length === 0) delete out[head];
  else out[head] = removeAt(out[head], rest);
  return out;
}

/**
 * The desired object as the drift check should see it: without the fields that the matching
 * compare patches name (their `jsonPointers` and the paths of their `remove` operations). A
 * patch matches when each of apiVersion, kind, name and namespace it gives equals the object's
 * (an object without a namespace is in `defaultNamespace`, else in `default`). The object is not changed.
 */
export function withoutComparedFields(
  desired: KubeObject,
  patches: readonly ComparePatchRule[] | undefined,
  defaultNamespace?: string,
): KubeObject {
  if (patches === undefined || patches.length === 0) return desired;
  let out: unknown = desired;
  for (const patch of patches) {
    if (patch.apiVersion !== undefined && patch.apiVersion !== desired.apiVersion) continue;
    if (patch.kind !== undefined && patch.kind !== desired.kind) continue;
    if (patch.name !== undefined && patch.name !== metaString(desired, 'name')) continue;
    const namespace =
      metaString(desired, 'namespace') || defaultNamespace || KUBERNETES_DEFAULT_NAMESPACE;
    if (patch.namespace !== undefined && patch.namespace !== namespace) continue;
    const pointers = [
      ...(patch.jsonPointers ?? []),
      ...(patch.operations ?? []).filter((o) => o.op === 'remove').map((o) => o.path),
    ];
    for (const pointer of pointers) out = removeAt(out, pointerSegments(pointer));
  }
  return out as KubeObject;
}

/**
 * The live object as the health check should see it: without the `status.conditions` that
 * match one of `ignored` (every key/value of the entry equals the condition's, e.g.
 * `{type: Progressing, status: "False"}`). The object is not changed.
 */
export function withoutIgnoredConditions(
  live: KubeObject,
  ignored: readonly Record<string, string>[] | undefined,
): KubeObject {
  if (ignored === undefined || ignored.length === 0) return live;
  const status = live.status;
  if (!isPlainObject(status) || !Array.isArray(status.conditions)) return live;
  const conditions = status.conditions.filter(
    (c: unknown) =>
      !(
        isPlainObject(c) &&
        ignored.some((rule) => Object.entries(rule).every(([k, v]) => c[k] === v))
      ),
  );
  return { ...live, status: { ...status, conditions } };
}

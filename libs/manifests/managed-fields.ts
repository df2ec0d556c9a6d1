import { diffValues, pathSegment, SERVER_METADATA_FIELDS, type FieldDiff } from './drift.js';
import {
  childPath,
  fieldSchemaOf,
  itemMatchesKey,
  listItemSegment,
  type FieldSchema,
  type ListMap,
} from './field-schema.js';
import { isPlainObject, metadataOf, type KubeObject } from './types.js';

/** The field manager the agent applies with (server-side apply). */
export const FLOTILLA_FIELD_MANAGER = 'flotilla-agent';

/**
 * A set of fields in the API server's `FieldsV1` form: `f:<field>` for a field, `k:<json>` for
 * an element of a list keyed by fields, `v:<json>` for an element of a set, `.` for the
 * element itself. A leaf is `{}`.
 */
export interface FieldsV1 {
  [segment: string]: FieldsV1;
}

/** One entry of `metadata.managedFields`. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: FieldsV1;
  subresource?: string;
}

/** The object's `metadata.managedFields` (only well-formed entries). */
export function managedFieldsOf(object: KubeObject): ManagedFieldsEntry[] {
  const list = metadataOf(object)?.managedFields;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (e): e is ManagedFieldsEntry =>
      isPlainObject(e) &&
      typeof e.manager === 'string' &&
      (e.operation === 'Apply' || e.operation === 'Update'),
  );
}

/**
 * The fields `manager` owns through server-side apply on the main resource (not `status`), or
 * undefined when the object has no such entry (an API server without managed fields, or an
 * object the manager never applied).
 */
export function appliedFieldsOf(object: KubeObject, manager: string): FieldsV1 | undefined {
  const entries = managedFieldsOf(object).filter(
    (e) =>
      e.manager === manager &&
      e.operation === 'Apply' &&
      (e.subresource ?? '') === '' &&
      isPlainObject(e.fieldsV1),
  );
  if (entries.length === 0) return undefined;
  return entries.reduce<FieldsV1>((all, e) => mergeFields(all, e.fieldsV1!), {});
}

/**
 * The fields an applied configuration sets, as the owner of them: every field except
 * `apiVersion`, `kind`, `metadata.name`, `metadata.namespace`, server-set metadata and `status`.
 * Items of the lists the API server merges by key (see {@link fieldSchemaOf}) are named
 * `k:{...}` with their key (server-defaulted key fields filled in); other lists and atomic maps
 * are owned as a whole.
 */
export function fieldsOf(config: KubeObject): FieldsV1 {
  const schema = fieldSchemaOf(config);
  const out: FieldsV1 = {};
  for (const [key, value] of Object.entries(config)) {
    if (key === 'apiVersion' || key === 'kind' || key === 'status') continue;
    if (key === 'metadata' && isPlainObject(value)) {
      const meta: FieldsV1 = {};
      for (const [mk, mv] of Object.entries(value)) {
        if (mk === 'name' || mk === 'namespace' || SERVER_METADATA_FIELDS.has(mk)) continue;
        meta[`f:${mk}`] = valueFields(mv, schema, `metadata.${mk}`);
      }
      if (Object.keys(meta).length > 0) out['f:metadata'] = meta;
      continue;
    }
    out[`f:${key}`] = valueFields(value, schema, key);
  }
  return out;
}

function valueFields(value: unknown, schema: FieldSchema, path: string): FieldsV1 {
  if (Array.isArray(value)) {
    const map = schema.listMap(path);
    if (map === undefined) return {};
    const out: FieldsV1 = {};
    for (const item of value) {
      const segment = listItemSegment(map, item);
      if (segment === undefined) return {};
      out[segment] = { '.': {}, ...valueFields(item, schema, `${path}[]`) };
    }
    return out;
  }
  if (!isPlainObject(value) || schema.atomic(path)) return {};
  const out: FieldsV1 = {};
  for (const [k, v] of Object.entries(value)) {
    out[`f:${k}`] = valueFields(v, schema, childPath(path, k));
  }
  return out;
}

/**
 * The fields whose values differ between two versions of an object (changed, added or
 * removed), list-map items by key (see {@link fieldSchemaOf}), other lists atomic; `status` and
 * server-set metadata are left out. With `includeRemoved: false`, only fields `after` holds
 * (what a manager that made the change comes to own).
 */
export function changedFields(
  before: KubeObject,
  after: KubeObject,
  { includeRemoved = true }: { includeRemoved?: boolean } = {},
): FieldsV1 {
  const strip = (o: KubeObject): Record<string, unknown> => {
    const { status: _status, apiVersion: _a, kind: _k, ...rest } = o;
    const meta = isPlainObject(rest.metadata) ? { ...rest.metadata } : {};
    for (const f of [...SERVER_METADATA_FIELDS, 'name', 'namespace']) delete meta[f];
    return { ...rest, metadata: meta };
  };
  const schema = fieldSchemaOf(after);
  return changedValue(strip(before), strip(after), schema, '', includeRemoved) ?? {};
}

function changedValue(
  a: unknown,
  b: unknown,
  schema: FieldSchema,
  path: string,
  includeRemoved: boolean,
): FieldsV1 | undefined {
  if (b === undefined && !includeRemoved) return undefined;
  if (isPlainObject(a) && isPlainObject(b) && (path === '' || !schema.atomic(path))) {
    const out: FieldsV1 = {};
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const changed = changedValue(a[key], b[key], schema, childPath(path, key), includeRemoved);
      if (changed !== undefined) out[`f:${key}`] = changed;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  const map = schema.listMap(path);
  if (map !== undefined && Array.isArray(a) && Array.isArray(b)) {
    const keyed = (list: unknown[]): Map<string, unknown> | undefined => {
      const out = new Map<string, unknown>();
      for (const item of list) {
        const segment = listItemSegment(map, item);
        if (segment === undefined) return undefined;
        out.set(segment, item);
      }
      return out;
    };
    const before = keyed(a);
    const after = keyed(b);
    if (before !== undefined && after !== undefined) {
      const out: FieldsV1 = {};
      for (const segment of new Set([...before.keys(), ...after.keys()])) {
        const itemBefore = before.get(segment);
        const itemAfter = after.get(segment);
        if (itemAfter === undefined) {
          if (includeRemoved) out[segment] = {};
          continue;
        }
        const changed =
          itemBefore === undefined
            ? { '.': {}, ...valueFields(itemAfter, schema, `${path}[]`) }
            : changedValue(itemBefore, itemAfter, schema, `${path}[]`, includeRemoved);
        if (changed !== undefined) out[segment] = changed;
      }
      return Object.keys(out).length > 0 ? out : undefined;
    }
  }
  return JSON.stringify(a) === JSON.stringify(b) ? undefined : {};
}

/** The union of two field sets. */
export function mergeFields(a: FieldsV1, b: FieldsV1): FieldsV1 {
  const out: FieldsV1 = structuredClone(a);
  for (const [key, value] of Object.entries(b)) {
    out[key] = key in out ? mergeFields(out[key]!, value) : structuredClone(value);
  }
  return out;
}

/**
 * `set` without the fields of `remove` (a leaf of `remove` takes everything beneath it); a
 * map left without children is dropped too.
 */
export function removeFields(set: FieldsV1, remove: FieldsV1): FieldsV1 {
  const out: FieldsV1 = {};
  for (const [key, value] of Object.entries(set)) {
    const gone = remove[key];
    if (gone === undefined) {
      out[key] = structuredClone(value);
      continue;
    }
    if (Object.keys(gone).length === 0) continue;
    if (Object.keys(value).length === 0) continue;
    const rest = removeFields(value, gone);
    if (Object.keys(rest).length > 0) out[key] = rest;
  }
  return out;
}

/** The fields both sets hold (at the leaves of either). */
export function intersectFields(a: FieldsV1, b: FieldsV1): FieldsV1 {
  const out: FieldsV1 = {};
  for (const [key, value] of Object.entries(a)) {
    const other = b[key];
    if (other === undefined) continue;
    if (Object.keys(value).length === 0) out[key] = structuredClone(other);
    else if (Object.keys(other).length === 0) out[key] = structuredClone(value);
    else {
      const both = intersectFields(value, other);
      if (Object.keys(both).length > 0) out[key] = both;
    }
  }
  return out;
}

/** Every leaf of a field set as a path of segments (`f:`, `k:`, `v:` prefixes kept). */
export function fieldPaths(set: FieldsV1, prefix: string[] = []): string[][] {
  const paths: string[][] = [];
  for (const [key, value] of Object.entries(set)) {
    if (key === '.') continue;
    const path = [...prefix, key];
    if (Object.keys(value).length === 0) paths.push(path);
    else paths.push(...fieldPaths(value, path));
  }
  return paths;
}

/**
 * `.spec.replicas` for `['f:spec', 'f:replicas']`, `.spec.ports[port=80,protocol="TCP"]` for a
 * list-map item, as the API server names fields in conflicts.
 */
export function formatFieldPath(path: readonly string[]): string {
  return path
    .map((s) => {
      if (s.startsWith('f:')) return `.${s.slice(2)}`;
      if (s.startsWith('k:')) {
        try {
          const key = JSON.parse(s.slice(2)) as Record<string, unknown>;
          const fields = Object.entries(key).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
          return `[${fields.join(',')}]`;
        } catch {
          return `[${s.slice(2)}]`;
        }
      }
      return `[=${s.slice(2)}]`;
    })
    .join('');
}

/**
 * The drift of a live object from the desired one: desired fields whose live value differs,
 * as {@link diffOwnedFields} finds them, but with `owned` (the fields the agent's field manager
 * owns, see {@link appliedFieldsOf}) the fields it still owns are left out — the API server
 * keeps an applier's value for a field it owns (values it normalizes, such as `0.5` CPU shown as
 * `500m`, are no drift), and another manager can change a field only by taking it over. Items of
 * a list the API server merges by key are matched by that key, with the key fields it defaults
 * (a port's `protocol`) filled in. Without `owned`, every difference counts. `status` and
 * server-set metadata never count.
 */
export function driftedFields(
  desired: KubeObject,
  live: KubeObject,
  owned: FieldsV1 | undefined,
): FieldDiff[] {
  if (owned === undefined) return diffValuesTopLevel(desired, live);
  const schema = fieldSchemaOf(desired);
  const diffs: FieldDiff[] = [];
  for (const [key, value] of Object.entries(desired)) {
    if (key === 'status' || key === 'apiVersion' || key === 'kind') continue;
    if (key === 'metadata' && isPlainObject(value)) {
      const liveMeta = isPlainObject(live.metadata) ? live.metadata : {};
      const node = owned['f:metadata'];
      for (const [mk, mv] of Object.entries(value)) {
        if (SERVER_METADATA_FIELDS.has(mk) || mk === 'name' || mk === 'namespace') continue;
        const at = { schema, schemaPath: `metadata.${mk}`, path: `metadata${pathSegment(mk)}` };
        walk(mv, liveMeta[mk], node?.[`f:${mk}`], at, diffs);
      }
      continue;
    }
    walk(value, live[key], owned[`f:${key}`], { schema, schemaPath: key, path: key }, diffs);
  }
  return diffs;
}

function diffValuesTopLevel(desired: KubeObject, live: KubeObject): FieldDiff[] {
  const diffs: FieldDiff[] = [];
  for (const [key, value] of Object.entries(desired)) {
    if (key === 'status') continue;
    if (key === 'metadata' && isPlainObject(value)) {
      const liveMeta = isPlainObject(live.metadata) ? live.metadata : {};
      for (const [mk, mv] of Object.entries(value)) {
        if (SERVER_METADATA_FIELDS.has(mk)) continue;
        diffs.push(...diffValues(mv, liveMeta[mk], `metadata${pathSegment(mk)}`));
      }
      continue;
    }
    diffs.push(...diffValues(value, live[key], key));
  }
  return diffs;
}

/** Where {@link walk} is: the kind's schema, the schema path and the reported path. */
interface WalkAt {
  schema: FieldSchema;
  schemaPath: string;
  path: string;
}

function walk(
  desired: unknown,
  live: unknown,
  node: FieldsV1 | undefined,
  at: WalkAt,
  diffs: FieldDiff[],
): void {
  if (node === undefined) {
    diffs.push(...diffValues(desired, live, at.path));
    return;
  }
  if (isPlainObject(desired)) {
    if (Object.keys(node).length === 0) return; // owned as a whole
    if (!isPlainObject(live)) {
      diffs.push(...diffValues(desired, live, at.path));
      return;
    }
    for (const [key, value] of Object.entries(desired)) {
      walk(
        value,
        live[key],
        node[`f:${key}`],
        {
          schema: at.schema,
          schemaPath: childPath(at.schemaPath, key),
          path: `${at.path}${pathSegment(key)}`,
        },
        diffs,
      );
    }
    return;
  }
  if (Array.isArray(desired)) {
    const keyed = Object.keys(node).filter((k) => k.startsWith('k:') || k.startsWith('v:'));
    if (keyed.length === 0) return; // an atomic list it owns
    const map = at.schema.listMap(at.schemaPath);
    const liveItems: unknown[] = Array.isArray(live) ? live : [];
    desired.forEach((item, i) => {
      const itemAt = {
        schema: at.schema,
        schemaPath: `${at.schemaPath}[]`,
        path: `${at.path}[${i}]`,
      };
      const match = ownedSegmentOf(keyed, item, map);
      const segment = match ?? (map === undefined ? undefined : listItemSegment(map, item));
      const liveItem =
        segment === undefined ? undefined : liveItems.find((l) => elementMatches(segment, l, map));
      walk(item, liveItem, match === undefined ? undefined : node[match], itemAt, diffs);
    });
    return;
  }
  // A scalar it owns: the API server keeps the applier's value.
}

/**
 * The segment of `keyed` that names a desired list item: its key with the key fields the API
 * server defaults filled in (`map`); for a list whose schema is unknown (a custom resource), the
 * one segment whose fields the item agrees with where it sets them.
 */
function ownedSegmentOf(
  keyed: readonly string[],
  item: unknown,
  map: ListMap | undefined,
): string | undefined {
  const exact = keyed.find((k) => elementMatches(k, item, map));
  if (exact !== undefined || map !== undefined || !isPlainObject(item)) return exact;
  const loose = keyed.filter((k) => {
    if (!k.startsWith('k:')) return false;
    const key = parseKey(k);
    return (
      key !== undefined &&
      Object.entries(key).every(
        ([f, v]) => item[f] === undefined || JSON.stringify(item[f]) === JSON.stringify(v),
      )
    );
  });
  return loose.length === 1 ? loose[0] : undefined;
}

function parseKey(segment: string): Record<string, unknown> | undefined {
  try {
    const key: unknown = JSON.parse(segment.slice(2));
    return isPlainObject(key) ? key : undefined;
  } catch {
    return undefined;
  }
}

/** True when a list element is the one a `k:{...}` or `v:...` segment names. */
function elementMatches(segment: string, element: unknown, map: ListMap | undefined): boolean {
  if (segment.startsWith('v:')) {
    try {
      return JSON.stringify(JSON.parse(segment.slice(2))) === JSON.stringify(element);
    } catch {
      return false;
    }
  }
  return itemMatchesKey(segment, element, map);
}
